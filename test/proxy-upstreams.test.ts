/**
 * The proxy against upstreams that are down, stuck, broken, slow or many: 502/504 (including a
 * connect that hangs: a stopped listener with a full accept queue), balancing,
 * passive health (out and back in), retries (next upstream on connect failure; fresh connection for
 * an idempotent request on a stale keep-alive one), unix sockets, and clients that go away
 * mid-body or mid-wait without leaking an upstream connection. Both engines.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { ENGINES, eventually, rawRequest, request, startRawUpstream, startTestFront, startUpstream } from './proxy-harness.ts';
import { STALE_CLOSE_WINDOW_MS } from '../proxy/upstream/proxy.ts';

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Connect to 127.0.0.1:port; resolves with the socket, or null if it did not connect within `ms` (the socket is then destroyed). */
function connectWithin(port: number, ms: number): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

const HUNG_UPSTREAM_SCRIPT = `const s = require('net').createServer(() => {});
s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => console.log(s.address().port));`;

/**
 * An upstream whose connects hang: a child process listening with `backlog: 1`, stopped with
 * SIGSTOP, whose accept queue is then filled; the kernel drops further SYNs, so a connect neither
 * succeeds nor fails (a loopback connect to a live process cannot hang otherwise). Cleanup (SIGCONT,
 * kill, filler sockets) is registered on `t`. Returns the address, or null after skipping `t` when
 * the kernel does not behave that way here.
 */
async function hungUpstream(t: TestContext): Promise<string | null> {
  if (process.platform === 'win32') {
    t.skip('needs SIGSTOP');
    return null;
  }
  const child = spawn(process.execPath, ['-e', HUNG_UPSTREAM_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers: net.Socket[] = [];
  const backstop = () => child.kill('SIGKILL'); // the test process dies: never leave a stopped child behind
  process.on('exit', backstop);
  t.after(async () => {
    for (const socket of fillers) socket.destroy();
    process.off('exit', backstop);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the hung upstream did not print its port')), 5000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`the hung upstream exited (${code})`)));
  });
  child.kill('SIGSTOP');
  // Wait until it is really stopped (state T), or it could still accept a filler.
  const statPath = `/proc/${child.pid}/stat`;
  await eventually(() => {
    try {
      return / T /.test(readFileSync(statPath, 'latin1').replace(/^.*\)/s, ')'));
    } catch {
      return true; // no /proc: SIGSTOP takes effect at once in practice
    }
  }, 2000, 'the hung upstream to stop');
  // Nobody accepts now: the kernel completes handshakes only while the accept queue (backlog 1,
  // room for 2 on Linux) has room. Fill it; the first connect that does not complete is the proof.
  for (let i = 0; i < 8; i++) {
    const socket = await connectWithin(port, 200);
    if (socket === null) return `127.0.0.1:${port}`;
    fillers.push(socket);
  }
  t.skip(`connects to a stopped listener with a full accept queue still complete on this kernel (${fillers.length} did): cannot make a connect hang`);
  return null;
}

const sockets = mkdtempSync(join(tmpdir(), 'front-sock-'));
after(() => rmSync(sockets, { recursive: true, force: true }));

for (const engine of ENGINES) {
  describe(`upstream failures and balancing (${engine})`, () => {
    it('502 with a clear body when the upstream refuses connections', async (t) => {
      const front = await startTestFront(engine, { upstream: [`127.0.0.1:${await deadPort()}`] });
      t.after(() => front.close());
      const r = await request(front.port, '/api/ping/');
      assert.equal(r.status, 502);
      assert.equal(r.text, 'Bad Gateway: the upstream server could not be reached.\n');
      assert.ok(front.errors.some((line) => line.includes('connect failed')));
      // a group of one is never taken out of rotation: the next request tries again
      assert.equal((await request(front.port, '/api/ping/')).status, 502);
      assert.equal(front.errors.filter((line) => line.includes('connect failed')).length, 2);
    });

    it('504 when the upstream does not answer within the read timeout, and the connection is dropped', async (t) => {
      const stuck = await startRawUpstream(() => {});
      const front = await startTestFront(engine, { upstream: [stuck.address], 'read-timeout': '200ms' });
      t.after(async () => {
        await front.close();
        await stuck.close();
      });
      const r = await request(front.port, '/api/slow/');
      assert.equal(r.status, 504);
      assert.equal(r.text, 'Gateway Timeout: the upstream server did not answer in time.\n');
      await eventually(() => stuck.open === 0, 2000, 'the stuck connection to close');
    });

    it('504 when the only upstream does not accept the connection within the connect timeout', { timeout: 5000 }, async (t) => {
      const hung = await hungUpstream(t);
      if (hung === null) return;
      const front = await startTestFront(engine, { upstream: [hung], 'connect-timeout': '300ms', 'read-timeout': '10s' });
      t.after(() => front.close());
      const started = Date.now();
      const r = await request(front.port, '/api/ping/');
      const elapsed = Date.now() - started;
      assert.equal(r.status, 504);
      assert.equal(r.text, 'Gateway Timeout: the upstream server did not accept the connection in time.\n');
      assert.ok(elapsed >= 250 && elapsed < 2000, `answered after ${elapsed} ms: the connect timeout (300 ms), not the read timeout (10 s)`);
      assert.ok(front.errors.some((line) => line.includes(`upstream ${hung} connect failed: connect timed out after 300 ms`)), front.errors.join('\n'));
      assert.deepEqual(front.front.core.proxy!.stats().map(({ active, busy, idle }) => ({ active, busy, idle })), [{ active: 0, busy: 0, idle: 0 }]);
    });

    it('a connect timeout tries the next upstream and takes the hung one out of rotation', { timeout: 5000 }, async (t) => {
      const hung = await hungUpstream(t);
      if (hung === null) return;
      const b = await startUpstream((_seen, _req, res) => res.end('B'));
      const front = await startTestFront(engine, { upstream: [hung, b.address], 'connect-timeout': '300ms', 'read-timeout': '10s', 'max-fails': 1, 'fail-timeout': '10s' });
      t.after(async () => {
        await front.close();
        await b.close();
      });
      const started = Date.now();
      const r = await request(front.port, '/x'); // round-robin starts with the hung one
      const elapsed = Date.now() - started;
      assert.equal(r.status, 200);
      assert.equal(r.text, 'B');
      assert.ok(elapsed >= 250 && elapsed < 2000, `answered after ${elapsed} ms: one connect timeout, then B`);
      const failed = front.errors.filter((line) => line.includes(`upstream ${hung} connect failed: connect timed out after 300 ms`));
      assert.equal(failed.length, 1, front.errors.join('\n'));
      assert.ok(failed[0]!.includes('(now out of rotation)'), failed[0]);
      const [hungStats, bStats] = front.front.core.proxy!.stats();
      assert.equal(hungStats!.available, false);
      assert.equal(hungStats!.active, 0);
      assert.equal(bStats!.available, true);
      // Out of rotation: the next request goes straight to B, without waiting on a connect.
      const quick = Date.now();
      assert.equal((await request(front.port, '/y')).text, 'B');
      assert.ok(Date.now() - quick < 250, 'the hung upstream is skipped');
      assert.equal(b.requests.length, 2);
    });

    it('502 for invalid or ambiguous upstream responses; a broken body cuts the client', async (t) => {
      const responses = [
        'HELLO\r\n\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok',
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok',
        'HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok',
        'HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok',
        'HTTP/2 200 OK\r\n\r\n',
        'HTTP/1.1 20 OK\r\n\r\n',
      ];
      const broken = await startRawUpstream((head, socket) => {
        const index = Number(head.split(' ')[1]!.slice(1));
        if (index < responses.length) socket.end(responses[index]);
        else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it');
      });
      const front = await startTestFront(engine, { upstream: [broken.address], 'max-fails': 0 });
      t.after(async () => {
        await front.close();
        await broken.close();
      });
      for (let i = 0; i < responses.length; i++) {
        const r = await request(front.port, `/${i}`);
        assert.equal(r.status, 502, JSON.stringify(responses[i]));
        assert.equal(r.text, 'Bad Gateway: the upstream server sent an invalid response.\n');
      }
      const cut = await rawRequest(front.port, `GET /${responses.length} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.equal(cut.status, 200);
      assert.ok(cut.closed, 'the client connection is closed: the body cannot be completed');
      assert.ok(!cut.text.includes('Bad Gateway'));
    });

    it('round-robin alternates; least-conn avoids the busy upstream', async (t) => {
      const a = await startUpstream((seen, _req, res) => setTimeout(() => res.end('A'), seen.url === '/slow' ? 300 : 0));
      const b = await startUpstream((_seen, _req, res) => res.end('B'));
      const rr = await startTestFront(engine, { upstream: [a.address, b.address] });
      const lc = await startTestFront(engine, { upstream: [a.address, b.address], balance: 'least-conn' });
      t.after(async () => {
        await Promise.all([rr.close(), lc.close()]);
        await Promise.all([a.close(), b.close()]);
      });
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) answers.push((await request(rr.port, '/x')).text);
      assert.deepEqual(answers, ['A', 'B', 'A', 'B', 'A', 'B']);

      const slow = request(lc.port, '/slow'); // tie → A, which then holds it for 300 ms
      await eventually(() => a.requests.some((r) => r.url === '/slow'), 2000, 'the slow request to reach A');
      const quick: string[] = [];
      for (let i = 0; i < 4; i++) quick.push((await request(lc.port, '/quick')).text);
      assert.deepEqual(quick, ['B', 'B', 'B', 'B']);
      assert.equal((await slow).text, 'A');
    });

    it('retries the next upstream when a connection is refused, takes the failed one out, and puts it back', async (t) => {
      const port = await deadPort();
      const b = await startUpstream((_seen, _req, res) => res.end('B'));
      const front = await startTestFront(engine, { upstream: [`127.0.0.1:${port}`, b.address], 'max-fails': 1, 'fail-timeout': '300ms' });
      let a: Awaited<ReturnType<typeof startUpstream>> | null = null;
      t.after(async () => {
        await front.close();
        await b.close();
        await a?.close();
      });
      for (let i = 0; i < 4; i++) assert.equal((await request(front.port, '/x')).text, 'B');
      assert.equal(front.errors.filter((line) => line.includes('connect failed')).length, 1, 'one failure took it out of rotation');
      assert.equal(front.front.core.proxy!.stats()[0]!.available, false);

      // The first upstream comes back on its port; after fail-timeout it gets traffic again.
      a = await startUpstream((_seen, _req, res) => res.end('A'));
      await new Promise<void>((resolve) => {
        a!.server.close(() => a!.server.listen(port, '127.0.0.1', resolve));
      });
      await new Promise((r) => setTimeout(r, 350));
      const answers = new Set<string>();
      for (let i = 0; i < 4; i++) answers.add((await request(front.port, '/x')).text);
      assert.deepEqual([...answers].sort(), ['A', 'B']);
    });

    it('502 "no upstream server is available" while every upstream rests', async (t) => {
      const front = await startTestFront(engine, { upstream: [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`], 'fail-timeout': '10s' });
      t.after(() => front.close());
      assert.equal((await request(front.port, '/x')).text, 'Bad Gateway: the upstream server could not be reached.\n');
      const r = await request(front.port, '/x');
      assert.equal(r.status, 502);
      assert.equal(r.text, 'Bad Gateway: no upstream server is available.\n');
    });

    it('resends an idempotent request on a fresh connection when a kept-alive one was closed under it', async (t) => {
      // Each upstream connection answers its first request and silently drops the second: the
      // race between the upstream's keep-alive timeout and the front reusing the connection.
      const perConnection = new WeakMap<net.Socket, number>();
      const flaky = await startRawUpstream((_head, socket) => {
        const n = perConnection.get(socket) ?? 0;
        perConnection.set(socket, n + 1);
        if (n === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
      const front = await startTestFront(engine, { upstream: [flaky.address] });
      t.after(async () => {
        await front.close();
        await flaky.close();
      });
      assert.equal((await request(front.port, '/1')).text, 'ok');
      const retried = await request(front.port, '/2');
      assert.equal(retried.status, 200);
      assert.equal(flaky.accepted, 2, 'the retry used a fresh connection');
      // POST is not idempotent: it may have been processed, so no retry.
      const post = await request(front.port, '/3', { method: 'POST' });
      assert.equal(post.status, 502);
      assert.equal(flaky.accepted, 2);
    });

    it('does not resend a request whose reused connection died after holding it (a worker killed for its timeout)', async (t) => {
      // The second request on each connection is held, then the connection drops with no answer:
      // what the front sees when the worker that took the request is killed for its heartbeat
      // timeout. Replaying it would hand the same request to the next worker; the client gets 502.
      // The hold (4 s) is twice the replay window, so a loaded machine cannot blur the two.
      const holdMs = 2 * STALE_CLOSE_WINDOW_MS;
      const perConnection = new WeakMap<net.Socket, number>();
      const timers = new Set<NodeJS.Timeout>();
      const holding = await startRawUpstream((_head, socket) => {
        const n = perConnection.get(socket) ?? 0;
        perConnection.set(socket, n + 1);
        if (n === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else timers.add(setTimeout(() => socket.destroy(), holdMs));
      });
      const front = await startTestFront(engine, { upstream: [holding.address] });
      t.after(async () => {
        for (const timer of timers) clearTimeout(timer);
        await front.close();
        await holding.close();
      });
      assert.equal((await request(front.port, '/1')).text, 'ok');
      const held = await request(front.port, '/2');
      assert.equal(held.status, 502);
      assert.equal(held.text, 'Bad Gateway: the upstream server closed the connection without a complete response.\n');
      assert.equal(holding.accepted, 1, 'no fresh connection: the request was not replayed');
      assert.equal(holding.heads.length, 2);
    });

    it('when several held requests die together (one worker killed), only the oldest gets 502; the idempotent ones behind it are resent', async (t) => {
      // Two pooled connections of one "worker"; /old stalls it, /young waits behind on the other
      // connection; then the worker dies and both connections close at once.
      const held: net.Socket[] = [];
      const seen = new Set<string>();
      let timer: NodeJS.Timeout | undefined;
      const worker = await startRawUpstream((head, socket) => {
        const path = head.split(' ')[1]!;
        if ((path === '/old' || path === '/young') && !seen.has(path)) {
          seen.add(path);
          held.push(socket);
          if (path === '/young') timer = setTimeout(() => held.forEach((s) => s.destroy()), 2 * STALE_CLOSE_WINDOW_MS);
          return;
        }
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
      });
      const front = await startTestFront(engine, { upstream: [worker.address] });
      t.after(async () => {
        clearTimeout(timer);
        await front.close();
        await worker.close();
      });
      await Promise.all([request(front.port, '/warm1'), request(front.port, '/warm2')]);
      assert.equal(worker.accepted, 2, 'two pooled connections');
      const old = request(front.port, '/old');
      await eventually(() => worker.heads.some((h) => h.startsWith('GET /old ')), 10_000, '/old to reach the upstream');
      const young = request(front.port, '/young');
      const [oldReply, youngReply] = await Promise.all([old, young]);
      assert.equal(oldReply.status, 502, 'the oldest request, the likely cause, is not replayed');
      assert.equal(youngReply.status, 200, `the request that waited behind it is resent: ${youngReply.text}`);
      assert.equal(youngReply.text, '/young');
      assert.equal(worker.heads.filter((h) => h.startsWith('GET /old ')).length, 1);
      assert.equal(worker.accepted, 3, 'one fresh connection, for /young');
    });

    it('proxies to a unix socket upstream', async (t) => {
      const path = join(sockets, `app-${engine}.sock`);
      const upstream = await startUpstream(undefined, path);
      const front = await startTestFront(engine, { upstream: [`unix:${path}`] });
      t.after(async () => {
        await front.close();
        await upstream.close();
      });
      const r = await request(front.port, '/api/ping/');
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.text), { ok: true, method: 'GET', url: '/api/ping/' });
    });

    it('a client aborting mid-body reaches nothing upstream and leaks nothing', async (t) => {
      const upstream = await startUpstream();
      const front = await startTestFront(engine, { upstream: [upstream.address] });
      t.after(async () => {
        await front.close();
        await upstream.close();
      });
      const socket = net.connect(front.port, '127.0.0.1');
      await new Promise((resolve) => socket.on('connect', resolve));
      socket.write('POST /api/upload/ HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      await eventually(() => front.front.core.inFlight === 0, 2000, 'the aborted request to be accounted');
      assert.equal(upstream.accepted, 0);
      assert.equal(upstream.requests.length, 0);
      assert.deepEqual(front.front.core.proxy!.stats().map(({ active, busy }) => ({ active, busy })), [{ active: 0, busy: 0 }]);
      assert.equal((await request(front.port, '/api/after/')).status, 200);
    });

    it('a client leaving while the upstream works frees the upstream connection', async (t) => {
      const upstream = await startUpstream((_seen, _req, res) => setTimeout(() => res.end('late'), 300));
      const front = await startTestFront(engine, { upstream: [upstream.address] });
      t.after(async () => {
        await front.close();
        await upstream.close();
      });
      const socket = net.connect(front.port, '127.0.0.1');
      await new Promise((resolve) => socket.on('connect', resolve));
      socket.write('GET /api/slow/ HTTP/1.1\r\nHost: t\r\n\r\n');
      await eventually(() => upstream.requests.length === 1, 2000, 'the request to reach the upstream');
      socket.destroy();
      await eventually(() => upstream.open === 0, 2000, 'the upstream connection to be closed');
      const [stats] = front.front.core.proxy!.stats();
      assert.equal(stats!.active, 0);
      assert.equal(stats!.busy, 0);
      assert.equal(stats!.idle, 0);
      await eventually(() => front.front.core.inFlight === 0);
      assert.equal((await request(front.port, '/api/after/')).status, 200);
    });
  });
}
