/**
 * Resilience cases 1–3, against the whole stack as `npm start` runs it, on both app engines:
 *   1. reload under load: the app server gets SIGHUP three times and the front one reload while
 *      50 connections send ≥ 200 requests/s: not one failed or non-2xx request;
 *   2. worker death: kill -9 of a worker under that load: only requests in flight on it may
 *      fail (counted), a new worker serves again promptly, nothing else fails;
 *   3. stuck worker: a request that blocks a worker's event loop past --timeout: that worker is
 *      killed and replaced, the others keep serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, Cleanup, ENGINES, FAULT_APP, load, rawPing, record, scale, SOAK, Stack, startLoad, waitFor } from './harness.ts';

const CONNECTIONS = 50;
const RATE = 250;

for (const engine of ENGINES) {
  describe(`workers under load, ${engine} engine`, () => {
    let stack: Stack;
    let stuckPingFailures: string[] | undefined;
    let stuckDirect: string[] = [];
    let stuckOutput = '';
    const cleanup = new Cleanup();
    after(() => cleanup.run());
    before(async () => {
      // --timeout 4s: a blocked worker is killed within seconds; start-up must not count against it.
      stack = await Stack.start(cleanup.add, { engine, workers: 2, app: FAULT_APP, args: ['--timeout', '4s'] });
    });

    it('1. reload under load: app server SIGHUP ×3 and a front reload, zero failed or non-2xx requests', async () => {
      const appReloads = scale(3, 15);
      const frontReloads = scale(1, 5);
      const appPid = stack.appPid;
      const frontPid = stack.frontPid;
      const started = Date.now();
      const loading = startLoad(`${stack.base}/api/ping/`, { connections: CONNECTIONS, rate: RATE, seconds: 120 });
      try {
        // The signals 1.5 s apart, the front's reloads among the app server's; then the load
        // runs on until the last reload has replaced every worker, and a second more.
        const signals: number[] = Array.from({ length: appReloads }, () => appPid);
        for (let i = 0; i < frontReloads; i++) signals.splice(Math.round(((i + 1) * appReloads) / (frontReloads + 1)) + i, 0, frontPid);
        await sleep(1000);
        let lastHup = 0;
        for (const pid of signals) {
          if (pid === appPid) lastHup = stack.output.length;
          process.kill(pid, 'SIGHUP');
          await sleep(1500);
        }
        await waitFor(() => (stack.output.slice(lastHup).match(/reload complete/g) ?? []).length >= 2 && stack.workers().length === 2, 60_000, 'the last reload to replace both workers');
        await waitFor(() => (stack.output.match(/front: reloaded/g) ?? []).length >= frontReloads, 10_000, 'the front reloads');
        await sleep(1000);
      } finally {
        loading.stop();
      }
      const result = await loading.done;
      const seconds = Math.round((Date.now() - started) / 1000);
      const retired = (stack.output.match(/Retiring worker \(pid:\d+\) of generation \d+: reload complete/g) ?? []).length;
      record('1 reload under load', { engine, ...result, seconds, appReloads, frontReloads, workersRetired: retired });
      assert.equal(result.errors, 0, `connection errors: ${JSON.stringify(result)}`);
      assert.equal(result.timeouts, 0, `timeouts: ${JSON.stringify(result)}`);
      assert.equal(result.non2xx, 0, `non-2xx answers: ${JSON.stringify(result)}`);
      assert.ok(result.rate >= 150, `the load ran at ${result.rate} requests/s (asked ${RATE})`);
      assert.equal(stack.appPid, appPid, 'the app server master survived');
      assert.equal(stack.frontPid, frontPid, 'the front survived');
    });

    it('2. worker death: kill -9 under load, only in-flight requests on it may fail, it is back promptly', async () => {
      const kills = scale(1, 8);
      const seconds = scale(6, 8 + kills * 4);
      const loading = load(`${stack.base}/api/ping/`, { connections: CONNECTIONS, rate: RATE, seconds });
      await sleep(1500);
      const backMs: number[] = [];
      for (let k = 0; k < kills; k++) {
        const workers = await waitFor(() => (stack.workers().length === 2 ? stack.workers() : undefined), 10_000, 'two workers');
        const victim = workers[0]!;
        const from = stack.output.length;
        const killedAt = Date.now();
        process.kill(victim, 'SIGKILL');
        const replacement = await waitFor(() => stack.workers().find((pid) => !workers.includes(pid)), 10_000, 'a new worker');
        await waitFor(() => stack.output.slice(from).includes(`Worker (pid:${replacement}) listening`), 10_000, `worker ${replacement} to listen`);
        backMs.push(Date.now() - killedAt);
        assert.ok(alive(workers[1]!), 'the other worker was left alone');
        if (k < kills - 1) await sleep(3000);
      }
      const result = await loading;
      const failed = result.errors + result.timeouts + result.non2xx;
      const sorted = [...backMs].sort((a, b) => a - b);
      record('2 worker death', { engine, ...result, kills, failed, backMsMedian: sorted[Math.floor(sorted.length / 2)]!, backMsMax: sorted.at(-1)!, backWithin1s: `${backMs.filter((ms) => ms < 1000).length}/${kills}` });
      // Only what was in flight on the killed worker may fail: at most one request per connection
      // the load holds, per kill (at 250 requests/s it is usually none or one).
      assert.ok(failed <= kills * CONNECTIONS, `failed ${failed} of ${result.requests}: ${JSON.stringify(result)}`);
      assert.ok(result.ok2xx >= result.requests - failed);
      // The "back within 1 s" is a figure, not a test margin: `npm run soak` records it
      // (backMsMedian, backMsMax, backWithin1s in its summary table; the README quotes it). Tests
      // must not hang on sub-second margins on a loaded machine, so the bound here is generous.
      assert.ok(Math.max(...backMs) < (SOAK ? 5000 : 10_000), `a new worker listened ${backMs.join(', ')} ms after the kill`);
    });

    /** Block a worker with `method` /fault/block/ while pings run; returns what was seen once it has been replaced. */
    async function blockOneWorker(method: 'GET' | 'POST') {
      const workers = await waitFor(() => (stack.workers().length === 2 ? stack.workers() : undefined), 10_000, 'two workers');
      const from = stack.output.length;
      const blocked = fetch(`${stack.base}/fault/block/`, { method, signal: AbortSignal.timeout(60_000) }).then(
        async (res) => ({ status: res.status, body: await res.text() }),
        (error: Error) => ({ status: 0, body: String(error.cause ?? error) }),
      );
      // Four ping loops while the worker is stuck, until it has been replaced: a ping the front
      // sends to the stuck worker waits, the others are answered by the other worker.
      const statuses: number[] = [];
      const failures: string[] = [];
      let replaced = false;
      const pinger = async () => {
        while (!replaced) {
          const sent = Date.now();
          const res = await fetch(`${stack.base}/api/ping/`, { signal: AbortSignal.timeout(30_000) }).catch((error: Error) => {
            failures.push(`${String(error.cause ?? error)} after ${Date.now() - sent} ms`);
            return null;
          });
          statuses.push(res?.status ?? 0);
          const body = await res?.text();
          if (res && res.status !== 200) failures.push(`${res.status} ${body} after ${Date.now() - sent} ms`);
          await sleep(50);
        }
      };
      // The front reuses its pooled connections and opens a fresh one to the app server only now
      // and then; this pinger opens a fresh one for every ping, straight to the app server's
      // private socket, as the front does when its pool is empty. Each must be answered by a live
      // worker or closed by the dying one, never left open: a connection the pool's master had
      // dealt to the stuck worker (round-robin) stayed open in the master until the client's own
      // timeout (the front's 60 s read timeout: a ping that hung).
      const direct: string[] = [];
      const directPinger = async () => {
        while (!replaced) {
          direct.push(await rawPing(appSocket(), 20_000));
          await sleep(50);
        }
      };
      const pinging = Promise.all([pinger(), pinger(), pinger(), pinger(), directPinger()]);
      const killed = await waitFor(() => /Worker \(pid:(\d+)\) killed after its timeout/.exec(stack.output.slice(from)) ?? undefined, 60_000, 'the stuck worker to be killed');
      const stuck = Number(killed[1]);
      const replacement = await waitFor(() => stack.workers().find((pid) => !workers.includes(pid)), 15_000, 'a new worker');
      await waitFor(() => stack.output.slice(from).includes(`Worker (pid:${replacement}) listening`), 15_000, `worker ${replacement} to listen`);
      const answer = await blocked;
      // Long enough for a replayed request to block the next worker past its timeout, if it was replayed.
      if (method === 'GET') await sleep(6000);
      replaced = true;
      await pinging;
      const other = workers.find((pid) => pid !== stuck)!;
      return { workers, stuck, other, answer, statuses, failures, direct, kills: (stack.output.slice(from).match(/killed after its timeout/g) ?? []).length };
    }

    /** The app server's private socket, as its master announced it. */
    function appSocket(): string {
      const match = /Listening at: unix:(\S+) \(master/.exec(stack.output);
      if (match === null) throw new Error(`the app server did not announce its socket:\n${stack.output}`);
      return match[1]!;
    }

    it('3. stuck worker: a request that blocks the event loop past --timeout: that worker is killed and replaced, the others keep serving', async () => {
      const { workers, stuck, other, answer, statuses, failures, direct } = await blockOneWorker('POST');
      const ok = statuses.filter((s) => s === 200).length;
      const directOk = direct.filter((d) => d === '200').length;
      record('3 stuck worker', { engine, pings: statuses.length, pingsOk: ok, pingsFailed: failures.length, directPings: direct.length, directOk, blockedStatus: answer.status });
      assert.ok(workers.includes(stuck));
      assert.ok(alive(other), 'the other worker was left alone');
      assert.ok(!alive(stuck), 'the stuck worker is gone');
      assert.equal(answer.status, 502, `the stuck request: ${answer.status} ${answer.body}`);
      assert.ok(ok >= 4, `the other worker kept serving: ${statuses.join(',')}`);
      stuckPingFailures = failures;
      stuckDirect = direct;
      stuckOutput = stack.output.slice(-3000);
      const later = await fetch(`${stack.base}/api/ping/`);
      assert.equal(later.status, 200);
    });

    it('3. meanwhile a ping fails only if the stuck worker had taken it (a 502, or a direct connection closed unanswered; at most one per client), none hangs', () => {
      assert.ok(stuckPingFailures !== undefined, 'case 3 ran');
      assert.ok(stuckPingFailures.length <= 4 && stuckPingFailures.every((f) => f.startsWith('502 ')), `pings that failed: ${stuckPingFailures.join('; ')}\n${stuckOutput}`);
      const hung = stuckDirect.filter((d) => d.startsWith('hung'));
      assert.deepEqual(hung, [], `fresh connections to the app server left open: ${stuckDirect.join(', ')}\n${stuckOutput}`);
      // Only what the stuck worker had accepted in the turn it blocked can be closed unanswered.
      assert.ok(stuckDirect.filter((d) => d !== '200').length <= 1, `direct pings: ${stuckDirect.join(', ')}`);
    });

    it(
      '3b. a stuck GET is not replayed to the next worker once its worker was killed: 502, one worker lost',
      {
        // The front's rule is tested on its own in test/proxy-upstreams.test.ts ("does not resend a
        // request whose reused connection died after holding it"); this is the whole stack.
        skip: SOAK ? false : 'soak only (it waits out a worker timeout, then as long again for a replay that must not come)',
      },
      async () => {
        const { other, answer, kills } = await blockOneWorker('GET');
        record('3b stuck GET not replayed', { engine, kills, blockedStatus: answer.status });
        assert.equal(answer.status, 502, `the stuck GET: ${answer.status} ${answer.body}`);
        assert.equal(kills, 1, 'only the worker that took the request was killed');
        assert.ok(alive(other), 'the other worker was left alone');
      },
    );
  });
}
