/**
 * Gunicorn's signals on our master, over real processes: HUP reloads under load without losing a
 * request, TERM lets an in-flight request finish, QUIT stops at once, TTIN/TTOU resize the pool,
 * USR1 reopens the log files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { get, PoolProcess } from './fixtures/pool.ts';

const FIXTURE = ['--app', 'test/fixtures/apps.ts#app', '--access-log', 'off'];

/** GET over a unix socket. */
function getUnix(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    req.end();
  });
}

/** A socket file nobody listens on, as a server killed with SIGKILL leaves behind. */
function leaveStaleSocket(path: string): void {
  const fd = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok(existsSync(path), `could not leave a stale socket at ${path}: ${fd.stderr}`);
}

/** GET through a keep-alive agent, no retry: an error on a reused connection is reported as status 0. */
function getWith(agent: Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ status: 0, body: String(error) }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (error) => resolve({ status: 0, body: `${(error as NodeJS.ErrnoException).code ?? ''} ${error}` }));
    req.end();
  });
}

/** GET on a fresh connection with node:http (fetch's pool would hide connection reuse). */
function getFresh(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    // A request left unanswered is a failure to report, not a reason to hang the suite.
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ status: 0, body: String(error) }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    req.end();
  });
}

describe('pool signals', () => {
  for (const engine of ['net', 'http']) {
    it(`two HUPs under keep-alive load: no error for a client that never retries (${engine})`, async (t) => {
      const pool = await PoolProcess.start(t, [...FIXTURE, '--engine', engine, '--workers', '2']);
      // node:http's client does not retry: a request written on a connection the server closes
      // under it is an error here, as it is for autocannon and many real clients.
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      t.after(() => agent.destroy());
      const failures: string[] = [];
      let stop = false;
      let done = 0;
      const client = async () => {
        for (let i = 0; i < 5000 && !stop; i++) {
          const res = await getWith(agent, pool.port, '/pid');
          if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
          done++;
        }
      };
      const clients = Array.from({ length: 8 }, client);
      for (let reload = 0; reload < 2; reload++) {
        await sleep(300);
        const mark = pool.output.length;
        pool.signal('SIGHUP');
        await pool.waitFor(/Worker exiting[\s\S]*Worker exiting/, 30_000, mark);
      }
      await sleep(300);
      stop = true;
      await Promise.all(clients);
      assert.deepEqual(failures, [], `${failures.length} of ${done} requests failed`);
      assert.ok(done > 20, `only ${done} requests were made`);
    });
  }

  for (const engine of ['net', 'http']) {
    it(`HUP reloads every worker under steady load without failing a request (${engine})`, async (t) => {
      const pool = await PoolProcess.start(t, [...FIXTURE, '--engine', engine, '--workers', '2']);
      const failures: string[] = [];
      const seen = new Set<number>();
      let stop = false;
      let done = 0;
      const client = async () => {
        // Bounded: at most 2000 requests per client even if the reload never completes.
        for (let i = 0; i < 2000 && !stop; i++) {
          const res = await getFresh(pool.port, '/pid');
          if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
          else seen.add(JSON.parse(res.body).pid);
          done++;
        }
      };
      const clients = [client(), client(), client(), client()];
      await sleep(200);
      const mark = pool.output.length;
      pool.signal('SIGHUP');
      await pool.waitFor(/reload complete[\s\S]*reload complete/, 15_000, mark);
      await pool.waitFor(/Worker exiting[\s\S]*Worker exiting/, 15_000, mark);
      await sleep(200);
      stop = true;
      await Promise.all(clients);
      assert.deepEqual(failures, [], `${failures.length} of ${done} requests failed`);
      assert.ok(done > 20, `only ${done} requests were made`);
      assert.ok([...seen].some((pid) => !pool.workers.includes(pid)), 'new workers served');
      const latest = await get(pool.port, '/pid');
      assert.ok(!pool.workers.includes(JSON.parse(latest.body).pid), 'old workers are gone');
    });
  }

  it('TERM lets an in-flight request finish, then exits 0', async (t) => {
    const pool = await PoolProcess.start(t, [...FIXTURE, '--workers', '1']);
    const slow = getFresh(pool.port, '/slow?ms=1500');
    await sleep(400);
    pool.signal('SIGTERM');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow done');
    assert.equal(await pool.exited, 0);
    assert.match(pool.output, /Handling signal: term/);
  });

  it('TERM during a HUP reload stops the workers still booting too, without waiting for the kill deadline', async (t) => {
    // Each worker's app takes 3 s to import: the TERM reaches the new workers while they boot.
    const pool = await PoolProcess.start(t, ['--app', 'test/fixtures/slow-boot.ts#app', '--access-log', 'off', '--workers', '1', '--graceful-timeout', '120s']);
    pool.signal('SIGHUP');
    const until = Date.now() + 30_000;
    while (!/Handling signal: hup[\s\S]*Booting worker/.test(pool.output)) {
      assert.ok(Date.now() < until, `no new worker booting after the HUP:\n${pool.output}`);
      await sleep(50);
    }
    pool.signal('SIGTERM');
    // A stop lost while booting left the worker serving until --graceful-timeout (120 s) ran out.
    const code = await Promise.race([pool.exited, sleep(60_000, undefined, { ref: false }).then(() => 'still running after 60 s')]);
    assert.equal(code, 0, pool.output);
    assert.doesNotMatch(pool.output, /did not exit in time/);
  });

  it('QUIT stops at once, cutting what is in flight', async (t) => {
    const pool = await PoolProcess.start(t, [...FIXTURE, '--workers', '1']);
    const slow = getFresh(pool.port, '/slow?ms=5000');
    await sleep(300);
    const started = Date.now();
    pool.signal('SIGQUIT');
    assert.equal(await pool.exited, 0);
    assert.ok(Date.now() - started < 4000, 'did not wait for the slow request');
    assert.equal((await slow).status, 0);
  });

  it('TTIN adds a worker and TTOU retires the oldest', async (t) => {
    const pool = await PoolProcess.start(t, [...FIXTURE, '--workers', '1']);
    let mark = pool.output.length;
    pool.signal('SIGTTIN');
    await pool.waitFor(/ttin: 2 workers[\s\S]*listening at/, 10_000, mark);
    mark = pool.output.length;
    pool.signal('SIGTTOU');
    await pool.waitFor(new RegExp(`ttou: 1 workers[\\s\\S]*Retiring worker \\(pid:${pool.workers[0]}\\)[\\s\\S]*Worker exiting \\(pid:${pool.workers[0]}`), 10_000, mark);
    const res = await get(pool.port, '/pid');
    assert.equal(res.status, 200);
    assert.notEqual(JSON.parse(res.body).pid, pool.workers[0]);
  });

  it('HUP reads the config file again for the new workers', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-hup-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'layerstack.json');
    writeFileSync(file, JSON.stringify({ workers: 1 }));
    const pool = await PoolProcess.start(t, [...FIXTURE, '--config', file]);
    assert.equal(pool.workers.length, 1);
    writeFileSync(file, JSON.stringify({ workers: 2, engine: 'http' }));
    const mark = pool.output.length;
    pool.signal('SIGHUP');
    await pool.waitFor(/changes to engine need a restart[\s\S]*listening at[\s\S]*listening at[\s\S]*reload complete/, 10_000, mark);
    assert.equal((await get(pool.port, '/ping')).status, 200);
  });

  for (const [engine, workers] of [['http', 2], ['net', 2]] as const) {
    it(`serves on a unix socket, replacing a stale socket file, and reloads there (${engine}, ${workers} worker(s))`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'pool-unix-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, 'app.sock');
      leaveStaleSocket(path);
      const pool = await PoolProcess.start(t, [...FIXTURE, '--engine', engine, '--workers', String(workers), '--listen', `unix:${path}`]);
      assert.equal(pool.address, `unix:${path}`);
      assert.equal((await getUnix(path, '/ping')).status, 200);
      const mark = pool.output.length;
      pool.signal('SIGHUP');
      await pool.waitFor(/reload complete[\s\S]*Worker exiting/, 10_000, mark);
      const after = await getUnix(path, '/pid');
      assert.equal(after.status, 200);
      assert.ok(!pool.workers.includes(JSON.parse(after.body).pid));
    });
  }

  it('USR1 reopens the log files (after a rotation)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-logs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const access = join(dir, 'access.log');
    const pool = await PoolProcess.start(t, ['--app', 'test/fixtures/apps.ts#app', '--workers', '1', '--access-log', access, '--error-log', join(dir, 'error.log')]);
    assert.equal((await get(pool.port, '/ping', { headers: { 'user-agent': 'before"rotation' } })).status, 200);
    renameSync(access, `${access}.1`);
    pool.signal('SIGUSR1');
    await sleep(300);
    assert.equal((await get(pool.port, '/ping', { headers: { 'user-agent': 'after-rotation' } })).status, 200);
    await sleep(100);
    const rotated = readFileSync(`${access}.1`, 'utf8');
    const fresh = readFileSync(access, 'utf8');
    assert.match(rotated, /^127\.0\.0\.1 - - \[.+\] "GET \/ping HTTP\/1\.1" 200 11 "-" "before\\x22rotation" request_time=\d+\.\d{3}\n$/);
    assert.match(fresh, /"after-rotation"/);
    assert.match(readFileSync(join(dir, 'error.log'), 'utf8'), /usr1: reopening log files/);
  });
});
