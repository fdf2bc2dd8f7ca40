/**
 * The pool's watchdog over real processes: a killed worker is replaced, a worker stuck in a busy
 * loop is killed after --timeout and replaced, --max-requests recycles workers without failing a
 * request, and an app that cannot load halts the master instead of fork-looping.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APP_LOAD_ERROR } from '../server/exit-codes.ts';
import { get, PoolProcess } from './fixtures/pool.ts';

const FIXTURE = ['--app', 'test/fixtures/apps.ts#app', '--access-log', 'off'];

describe('pool lifecycle', () => {
  it('replaces a worker that was killed', async (t) => {
    const pool = await PoolProcess.start(t, [...FIXTURE, '--workers', '2']);
    const victim = pool.workers[0]!;
    const before = pool.count(/listening at/);
    process.kill(victim, 'SIGKILL');
    await pool.waitFor(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL`));
    await pool.waitFor(/listening at[\s\S]*listening at[\s\S]*listening at/);
    assert.equal(pool.count(/listening at/), before + 1);
    assert.equal((await get(pool.port, '/ping')).status, 200);
  });

  for (const engine of ['net', 'http']) {
    it(`kills a worker whose event loop is stuck past --timeout, and replaces it (${engine})`, async (t) => {
      // --timeout 4 against a loop blocked for a minute: no sub-second margin for a busy machine.
      const pool = await PoolProcess.start(t, [...FIXTURE, '--engine', engine, '--workers', '1', '--timeout', '4']);
      const stuck = pool.workers[0]!;
      const busy = get(pool.port, '/busy?ms=60000');
      await pool.waitFor(new RegExp(`WORKER TIMEOUT \\(pid:${stuck}\\)`), 40_000);
      await pool.waitFor(/listening at[\s\S]*listening at/, 40_000);
      assert.equal((await busy).status, 0, 'the stuck request is cut, not answered');
      const after = await get(pool.port, '/pid');
      assert.equal(after.status, 200);
      assert.notEqual(JSON.parse(after.body).pid, stuck);
    });
  }

  it('gives a booting worker a start-up grace longer than --timeout', async (t) => {
    // The app's import blocks the worker's event loop for 3 s: three times --timeout. Without the
    // grace the worker is killed before it is ready, again and again.
    const pool = await PoolProcess.start(t, ['--app', 'test/fixtures/slow-boot.ts#app', '--access-log', 'off', '--workers', '1', '--timeout', '1']);
    assert.equal((await get(pool.port, '/')).status, 200);
    assert.equal(pool.count(/WORKER TIMEOUT/), 0, pool.output);
  });

  it('recycles a worker after --max-requests without failing a request', async (t) => {
    const pool = await PoolProcess.start(t, [...FIXTURE, '--workers', '1', '--max-requests', '5', '--max-requests-jitter', '2']);
    // The retiring worker serves on until its replacement listens (about a second), so keep
    // asking, bounded, until a second pid has answered.
    const pids = new Set<number>();
    for (let i = 0; i < 200 && pids.size < 2; i++) {
      const res = await get(pool.port, '/pid', { headers: { connection: 'close' } });
      assert.equal(res.status, 200, res.body);
      pids.add(JSON.parse(res.body).pid);
      if (i >= 10) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(pids.size >= 2, `expected workers to be recycled, saw pids ${[...pids]}`);
    assert.match(pool.output, /served its [5-7] requests \(--max-requests\)/);
  });

  it('halts with exit code 4 when the app cannot be loaded', async (t) => {
    const pool = await PoolProcess.start(t, ['--app', 'test/fixtures/no-such-module.ts#app', '--workers', '2'], { waitReady: false });
    assert.equal(await pool.exited, APP_LOAD_ERROR, pool.output);
    assert.match(pool.output, /App failed to load .*Halting/);
    assert.ok(pool.count(/Booting worker/) <= 2, 'no fork loop');
  });

  it('rejects an unknown option with a clear message and exit code 2', async (t) => {
    const pool = await PoolProcess.start(t, ['--wrokers', '2'], { waitReady: false });
    assert.equal(await pool.exited, 2);
    assert.equal(pool.output, 'npm run serve: --wrokers: expected an option from `npm run serve --help`\n', 'one line, no stack trace');
  });
});
