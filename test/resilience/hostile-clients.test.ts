/**
 * Resilience cases 4 and 11, against the whole stack as `npm start` runs it, on both front engines
 * (each stack's front runs the engine of its app server), with short client timeouts set the way
 * an operator would (FRONT_* environment variables):
 *   4. slow and hostile clients: 500 connections sending a request head a byte a second, 100
 *      sending a body slower than the body timeout, 100 that never read a 1 MB response: each cut
 *      at its timeout, while a normal client keeps being served (its p99 is recorded) and the
 *      front's memory stays bounded;
 *  11. resource bounds: idle keep-alive connections held and timed out with the front's memory
 *      under a bound; no file descriptor leaked by the front or the workers over many requests;
 *      an access log written to a pipe nobody reads does not grow the front's memory without bound.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cleanup, FRONT_ENGINES, fdCount, load, record, rssMb, scale, Stack, waitFor } from './harness.ts';

const TIMEOUT_S = 3;
/** Keep-alive timeout: the soak opens 10,000 connections, which takes longer than 3 s. */
const KEEPALIVE_S = scale(3, 30);
/** Slack on every "cut at its timeout" on a busy machine: generous on purpose. */
const SLACK_MS = 15_000;
/** The front's resident memory may not pass this while under attack (idle it is about 50 MB). */
const FRONT_RSS_BOUND_MB = 400;

const SHORT_TIMEOUTS = ['--header-timeout', `${TIMEOUT_S}s`, '--body-timeout', `${TIMEOUT_S}s`, '--send-timeout', `${TIMEOUT_S}s`, '--keep-alive-timeout', `${KEEPALIVE_S}s`];

interface Tracked {
  socket: Socket;
  opened: number;
  closedAfter: number;
  received: number;
}

/** Open `count` connections (50 at a time) and track when each closes and how much it received. */
async function openMany(port: number, count: number, onOpen: (t: Tracked) => void): Promise<Tracked[]> {
  const all: Tracked[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () =>
      new Promise<Tracked>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        const t: Tracked = { socket, opened: Date.now(), closedAfter: -1, received: 0 };
        socket.on('data', (chunk) => (t.received += chunk.length));
        socket.on('error', () => {});
        socket.on('close', () => (t.closedAfter = Date.now() - t.opened));
        socket.once('connect', () => {
          onOpen(t);
          resolve(t);
        });
      }),
    );
    all.push(...(await Promise.all(batch)));
  }
  return all;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** A normal client: sequential keep-alive pings until `stop()`; its latencies. */
function normalClient(base: string): { stop(): Promise<{ latencies: number[]; failures: string[] }> } {
  let running = true;
  const latencies: number[] = [];
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const sent = performance.now();
      try {
        const res = await fetch(`${base}/api/ping/`, { signal: AbortSignal.timeout(20_000) });
        await res.arrayBuffer();
        if (res.status !== 200) failures.push(String(res.status));
        latencies.push(performance.now() - sent);
      } catch (error) {
        failures.push(String((error as Error).cause ?? error));
      }
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { latencies, failures };
    },
  };
}

for (const engine of FRONT_ENGINES) {
  describe(`hostile clients and resource bounds, ${engine} front`, () => {
    const cleanup = new Cleanup();
    after(() => cleanup.run());
    let stack: Stack;
    let cuts: { headMaxMs: number; bodyMaxMs: number; nonReadersFullyRead: number } | undefined;
    let idleCloseMedianMs = NaN;
    const sockets: Socket[] = [];
    cleanup.add(() => sockets.forEach((s) => s.destroy()));
    before(async () => {
      stack = await Stack.start(cleanup.add, { engine: 'net', frontEngine: engine, workers: 2, args: SHORT_TIMEOUTS });
    });

    it('4. slow heads, slow bodies and non-readers are cut at their timeouts; a normal client is still served', async () => {
      const frontPid = stack.frontPid;
      const rssBefore = rssMb(frontPid);
      let rssMax = rssBefore;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(frontPid))), 200);
      cleanup.add(() => clearInterval(sampler));
      const normal = normalClient(stack.base);
      const heads = scale(500, 2000);
      const bodies = scale(100, 500);
      const readers = scale(100, 500);

      // Slow heads: a byte a second, never finishing the head.
      const head = 'GET /api/ping/ HTTP/1.1\r\nHost: resilience\r\nX-Slow: ' + 'a'.repeat(10_000);
      const slowHeads = await openMany(stack.port, heads, (t) => {
        sockets.push(t.socket);
        t.socket.write(head[0]!);
      });
      let sentBytes = 1;
      const dripper = setInterval(() => {
        for (const t of slowHeads) if (t.closedAfter < 0) t.socket.write(head[sentBytes]!);
        sentBytes++;
      }, 1000);
      cleanup.add(() => clearInterval(dripper));

      // Slow bodies: the head at once, then a byte of the body less often than the body timeout.
      const slowBodies = await openMany(stack.port, bodies, (t) => {
        sockets.push(t.socket);
        t.socket.write('POST /api/echo/ HTTP/1.1\r\nHost: resilience\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000\r\n\r\nx');
      });
      const bodyDripper = setInterval(() => {
        for (const t of slowBodies) if (t.closedAfter < 0) t.socket.write('x');
      }, (TIMEOUT_S + 2) * 1000);
      cleanup.add(() => clearInterval(bodyDripper));

      // Non-readers: eight 1 MB responses asked for at once (more than the socket buffers hold), never read.
      const nonReaders = await openMany(stack.port, readers, (t) => {
        sockets.push(t.socket);
        t.socket.pause();
        t.socket.write('GET /static/blob.bin HTTP/1.1\r\nHost: resilience\r\n\r\n'.repeat(8));
      });

      // Everyone has had the timeout plus room; then the non-readers read what the kernel kept.
      const allCut = () => slowHeads.every((t) => t.closedAfter >= 0) && slowBodies.every((t) => t.closedAfter >= 0);
      await waitFor(allCut, TIMEOUT_S * 1000 + SLACK_MS, 'the slow clients to be cut').catch(() => {});
      // (Later in the soak, where thousands of hostile connections load the front's event loop.)
      await sleep(Math.max(0, TIMEOUT_S * 1000 + scale(2000, 10_000) - (Date.now() - nonReaders[0]!.opened)));
      for (const t of nonReaders) t.socket.resume();
      await waitFor(() => nonReaders.every((t) => t.closedAfter >= 0), SLACK_MS + KEEPALIVE_S * 1000, 'the non-readers to be cut').catch(() => {});
      clearInterval(dripper);
      clearInterval(bodyDripper);
      clearInterval(sampler);
      const { latencies, failures } = await normal.stop();

      const headCuts = slowHeads.map((t) => t.closedAfter);
      const bodyCuts = slowBodies.map((t) => t.closedAfter);
      const stillOpen = (list: Tracked[]) => list.filter((t) => t.closedAfter < 0).length;
      const fullyRead = nonReaders.filter((t) => t.received >= 8 * 1024 * 1024).length;
      cuts = { headMaxMs: Math.max(...headCuts), bodyMaxMs: Math.max(...bodyCuts), nonReadersFullyRead: fullyRead };
      record('4 slow and hostile clients', {
        engine,
        slowHeads: heads,
        headsOpen: stillOpen(slowHeads),
        headCutMedianMs: quantile(headCuts, 0.5),
        headCutMaxMs: Math.max(...headCuts),
        slowBodies: bodies,
        bodiesOpen: stillOpen(slowBodies),
        bodyCutMedianMs: quantile(bodyCuts, 0.5),
        nonReaders: readers,
        nonReadersOpen: stillOpen(nonReaders),
        nonReadersFullyRead: fullyRead,
        normalRequests: latencies.length,
        normalFailures: failures.length,
        normalP99Ms: Math.round(quantile(latencies, 0.99)),
        frontRssBeforeMb: Math.round(rssBefore),
        frontRssMaxMb: Math.round(rssMax),
      });
      assert.equal(stillOpen(slowHeads), 0, 'every slow head was cut');
      assert.equal(stillOpen(slowBodies), 0, 'every slow body was cut');
      assert.equal(stillOpen(nonReaders), 0, 'every non-reader was closed');
      assert.ok(quantile(headCuts, 0.5) >= TIMEOUT_S * 1000 - 500, `slow heads cut after ${quantile(headCuts, 0.5)} ms (median), before the timeout`);
      // On a loaded 2-core machine, thousands of hostile connections can delay the front past a
      // keep-alive timer now and then; a normal client that does not retry sees that as a close.
      assert.ok(failures.length <= Math.max(0, Math.floor(latencies.length / 50)), `the normal client was served throughout: ${failures.join('; ')}`);
      assert.ok(latencies.length >= 20, `the normal client got ${latencies.length} answers`);
      // The goal is a p99 under 100 ms on a quiet machine (recorded, and in the README's table);
      // the bound asserted is only what no loaded machine should exceed.
      assert.ok(quantile(latencies, 0.99) < scale(5000, 15_000), `normal client p99 ${quantile(latencies, 0.99)} ms`);
      assert.ok(rssMax < FRONT_RSS_BOUND_MB, `front RSS reached ${rssMax} MB`);
      assert.equal(stack.frontPid, frontPid, 'the front survived');
    });

    it('4. each of them at its own timeout: heads and bodies within 5 s of it, non-readers before they got everything', () => {
      assert.ok(cuts !== undefined, 'case 4 ran');
      assert.ok(cuts.headMaxMs <= (TIMEOUT_S + 5) * 1000, `slow heads cut after ${cuts.headMaxMs} ms at most (client-header-timeout ${TIMEOUT_S} s)`);
      assert.ok(cuts.bodyMaxMs <= (TIMEOUT_S + 5) * 1000 + (TIMEOUT_S + 2) * 1000, `slow bodies cut after ${cuts.bodyMaxMs} ms at most (client-body-timeout ${TIMEOUT_S} s between reads)`);
      assert.equal(cuts.nonReadersFullyRead, 0, 'non-readers that were sent all 8 MB they asked for: the send timeout never cut them');
    });

    it('11. idle keep-alive connections are held, then timed out, with the front\'s memory bounded', async () => {
      const count = scale(1000, 10_000);
      const frontPid = stack.frontPid;
      const rssBefore = rssMb(frontPid);
      // Each connection makes one request, then idles on keep-alive.
      const idle = await openMany(stack.port, count, (t) => {
        sockets.push(t.socket);
        t.socket.write('GET /api/ping/ HTTP/1.1\r\nHost: resilience\r\n\r\n');
      });
      await waitFor(() => idle.every((t) => t.received > 0 || t.closedAfter >= 0), 60_000, 'every idle connection to get its answer');
      const rssHeld = rssMb(frontPid);
      const heldOpen = idle.filter((t) => t.closedAfter < 0).length;
      await waitFor(() => idle.every((t) => t.closedAfter >= 0), KEEPALIVE_S * 1000 + SLACK_MS + count, 'the idle connections to time out').catch(() => {});
      const open = idle.filter((t) => t.closedAfter < 0).length;
      const perConnectionKb = ((rssHeld - rssBefore) * 1024) / count;
      idleCloseMedianMs = quantile(idle.map((t) => t.closedAfter), 0.5);
      record('11 idle keep-alive', { engine, connections: count, heldOpen, stillOpen: open, frontRssBeforeMb: Math.round(rssBefore), frontRssHeldMb: Math.round(rssHeld), perConnectionKb: Math.round(perConnectionKb * 10) / 10, closeMedianMs: quantile(idle.map((t) => t.closedAfter), 0.5) });
      assert.equal(heldOpen, count, 'every connection was answered and held');
      assert.equal(open, 0, 'every idle connection was closed by the keep-alive timeout');
      // Documented bound: 64 KB per idle connection on top of the idle front (README "What it survives").
      assert.ok(rssHeld < rssBefore + (count * 64) / 1024 + 50, `front RSS ${rssHeld} MB holding ${count} connections (before: ${rssBefore} MB)`);
    });

    it('11. idle keep-alive connections close at keepalive-timeout (within 5 s of it)', () => {
      assert.ok(idleCloseMedianMs <= (KEEPALIVE_S + 5) * 1000, `idle connections closed after ${idleCloseMedianMs} ms (median; keepalive-timeout ${KEEPALIVE_S} s)`);
    });

    it('11. no file descriptor leaked by the front or the workers over many requests', async () => {
      const requests = scale(5000, 100_000);
      const pids = [stack.frontPid, stack.appPid, ...stack.workers()];
      // Warm-up, so pools and caches are at their steady size before counting.
      await load(`${stack.base}/api/ping/`, { connections: 20, amount: 500 });
      await sleep(KEEPALIVE_S * 1000 + 1000);
      const before = pids.map(fdCount);
      // Two thirds over keep-alive connections, a third with a new connection per request.
      const [a, b] = await Promise.all([
        load(`${stack.base}/api/ping/`, { connections: 20, amount: Math.ceil((requests * 2) / 3) }),
        load(`${stack.base}/static/app.css`, { connections: 10, amount: Math.ceil(requests / 3), headers: { connection: 'close' } }),
      ]);
      // Idle connections (keep-alive, the front's upstream pool) have their timeouts to close.
      await sleep(KEEPALIVE_S * 1000 + 5000);
      const afterCounts = pids.map(fdCount);
      const grew = pids.map((pid, i) => ({ pid, before: before[i]!, after: afterCounts[i]! })).filter((p) => p.after > p.before + 5);
      record('11 file descriptors', { engine, requests: a.requests + b.requests, failed: a.errors + a.non2xx + b.errors + b.non2xx, fdBefore: before.join('/'), fdAfter: afterCounts.join('/') });
      assert.ok(a.requests + b.requests >= requests * 0.75, `${a.requests + b.requests} requests made`);
      assert.deepEqual(grew, [], 'descriptors after the load are back where they were (front/master/workers)');
    });
  });
}

describe('11. an access log to a pipe nobody reads', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());
  let stack: Stack;
  before(async () => {
    stack = await Stack.start(cleanup.add, { engine: 'net', workers: 1, stdout: 'stalled' });
  });

  it('does not grow the front\'s memory without bound, and the front keeps serving', async () => {
    const frontPid = stack.frontPid;
    const rssBefore = rssMb(frontPid);
    // A long access-log line per request fills the 64 KB pipe within the first few hundred.
    const headers = { 'user-agent': 'resilience-'.repeat(200), referer: 'http://resilience/'.repeat(50) };
    const first = await load(`${stack.base}/api/ping/`, { connections: 20, seconds: scale(4, 30), headers });
    const rssMid = rssMb(frontPid);
    const second = await load(`${stack.base}/api/ping/`, { connections: 20, seconds: scale(4, 30), headers });
    const rssAfter = rssMb(frontPid);
    const requests = first.requests + second.requests;
    record('11 stalled log pipe', { engine: 'net', requests, failed: first.errors + first.non2xx + second.errors + second.non2xx, frontRssBeforeMb: Math.round(rssBefore), frontRssMidMb: Math.round(rssMid), frontRssAfterMb: Math.round(rssAfter) });
    assert.equal(first.non2xx + first.errors + second.non2xx + second.errors, 0);
    // ~2.5 KB a line: an unbounded buffer would hold requests × 2.5 KB.
    assert.ok(rssAfter < rssBefore + 100, `front RSS ${rssBefore} → ${rssMid} → ${rssAfter} MB after ${requests} requests with a stalled log`);
    assert.ok(rssAfter < rssMid + 40, `front RSS still growing: ${rssMid} → ${rssAfter} MB`);
  });
});
