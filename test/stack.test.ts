/**
 * `npm start` end to end, as it runs: the TypeScript compiled into dist/ (`npm run build`), then
 * the whole stack from that JavaScript in a temporary DATA_DIR on a free port, driven over the
 * front like a user would, then stopped with SIGTERM — and nothing of its process tree left.
 * The refusals at the end run the stack from the sources through tsx, the other way it runs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { COMPILED, importableModule, nodeEntry } from '../server/launch.ts';
import { build } from './support/build.ts';
import { freePort } from './support/net.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'stack-'));
let child: ChildProcess;
let base = '';
let output = '';

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command lines of the process group `pgid` (from /proc). */
function groupCommands(pgid: number): string[] {
  const commands: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      commands.push(readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ').trim());
    } catch {
      // the process ended while being read
    }
  }
  return commands;
}

async function startStack(args: string[] = []): Promise<void> {
  await build();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['dist/stack/cli.js', '--listen', `127.0.0.1:${port}`, '--workers', '2', ...args], {
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  while (!output.includes('production stack is up')) {
    if (child.exitCode !== null) throw new Error(`the stack exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the stack did not come up in time:\n${output}`);
    await sleep(100);
  }
}

before(async () => {
  await startStack();
});

after(async () => {
  if (child.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start (the production stack)', () => {
  it('prints the URL, the layers and a first admin password', () => {
    assert.match(output, /front\s+pid \d+/);
    assert.match(output, /app server\s+pid \d+/);
    assert.match(output, /Created user "admin" with password: \S+/);
  });

  it('runs every process of the tree from the compiled JavaScript, none through tsx', () => {
    const commands = groupCommands(child.pid!).filter((c) => c !== '');
    assert.ok(commands.length >= 5, `supervisor, front, pool master and 2 workers: ${commands.join('\n')}`);
    for (const command of commands) {
      assert.doesNotMatch(command, /tsx/, command);
      assert.match(command, /dist\/(stack|proxy|server\/pool)\/[a-z-]+\.js/, command);
    }
  });

  it('serves ping through the front and the app server', async () => {
    const res = await fetch(`${base}/api/ping/`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    // npm start turns Server-Timing on in both layers (off by default in serve and proxy).
    assert.match(res.headers.get('server-timing') ?? '', /^app;dur=[\d.]+, upstream;dur=[\d.]+, proxy;dur=[\d.]+$/, 'each layer reports its share in Server-Timing');
  });

  it('serves static files from the front', async () => {
    const res = await fetch(`${base}/static/app.css`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/css');
    assert.ok(res.headers.get('etag'));
    const big = await fetch(`${base}/static/blob.bin`);
    assert.equal((await big.arrayBuffer()).byteLength, 1024 * 1024);
  });

  it('runs the login flow end to end', async () => {
    const password = /Created user "admin" with password: (\S+)/.exec(output)![1]!;
    const login = await fetch(`${base}/api/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    assert.equal(login.status, 200);
    const pair = (await login.json()) as { access: string; refresh: string };
    const hello = await fetch(`${base}/api/hello/`, { headers: { authorization: `Bearer ${pair.access}` } });
    assert.equal(hello.status, 200);
    assert.deepEqual(await hello.json(), { message: 'hello', user: 'admin' });
    const refreshed = await fetch(`${base}/api/token/refresh/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh: pair.refresh }),
    });
    assert.equal(refreshed.status, 200);
    const reused = await fetch(`${base}/api/token/refresh/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh: pair.refresh }),
    });
    assert.equal(reused.status, 401, 'a rotated refresh token is blacklisted');
    const anonymous = await fetch(`${base}/api/hello/`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="api"');
  });

  it('is measured by the bench in quick mode, which writes its reports', async () => {
    const out = mkdtempSync(join(tmpdir(), 'stack-bench-'));
    try {
      const password = /Created user "admin" with password: (\S+)/.exec(output)![1]!;
      const args = ['--quick', '--configurations', 'bare-http', '--target', `stack=${base}`, '--user', 'admin', '--password', password,
        '--scenario', 'ping,hello,static-1k', '-d', '1', '--warmup', '0', '--connections', '4', '--quiet-wait', '0', '--out', out];
      const code = await new Promise<number | null>((resolve) => {
        const bench = spawn(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { stdio: 'ignore' });
        bench.on('exit', (c) => resolve(c));
      });
      assert.equal(code, 0);
      const files = readdirSync(out);
      for (const ext of ['json', 'md', 'html']) assert.ok(files.some((f) => f.endsWith(`.${ext}`)), `a .${ext} report in ${files.join(', ')}`);
      const json = JSON.parse(readFileSync(join(out, files.find((f) => f.endsWith('.json'))!), 'utf8')) as { runs: { config: string; scenario: string; requests: number }[] };
      const stackRuns = json.runs.filter((r) => r.config === 'stack');
      assert.deepEqual(new Set(stackRuns.map((r) => r.scenario)), new Set(['ping', 'hello', 'static-1k']));
      assert.ok(stackRuns.every((r) => r.requests > 0));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('reloads both layers on SIGHUP and keeps serving', async () => {
    const before = output.length;
    process.kill(child.pid!, 'SIGHUP');
    const deadline = Date.now() + 30_000;
    const since = () => output.slice(before);
    while (!(/Handling signal: hup/.test(since()) && /front: reloaded/.test(since()))) {
      if (Date.now() > deadline) throw new Error(`no reload seen:\n${since()}`);
      await sleep(100);
    }
    assert.match(since(), /\[stack\] SIGHUP: reloading app server and front/);
    assert.equal(child.exitCode, null, 'the stack is still running');
    const res = await fetch(`${base}/api/ping/`);
    assert.equal(res.status, 200);
  });

  it('stops cleanly on SIGTERM and leaves no process behind', async () => {
    const pgid = child.pid!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(30_000, undefined, { ref: false }).then(() => 'timeout' as const)]);
    assert.equal(code, 0, output);
    const deadline = Date.now() + 5000;
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
    assert.equal(groupAlive(pgid), false, 'no process of the stack is left');
  });

  it('refuses a port in use, an unknown option, a bad value and an unusable data directory with one line; --help has no side effects', async () => {
    const busy = await freePort();
    const blocker = (await import('node:net')).createServer().listen(busy, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
        new Promise<{ code: number | null; text: string }>((resolve) => {
          const p = spawn(process.execPath, ['--import', 'tsx', 'stack/cli.ts', ...args], { env: { ...process.env, DATA_DIR: dataDir, ...env } });
          let text = '';
          p.stdout.on('data', (d) => (text += d));
          p.stderr.on('data', (d) => (text += d));
          p.on('exit', (code) => resolve({ code, text }));
        });
      const inUse = await run([], { PORT: String(busy) });
      assert.notEqual(inUse.code, 0);
      assert.match(inUse.text, /already in use/);
      const unknown = await run(['--colour', 'blue']);
      assert.equal(unknown.code, 2);
      assert.equal(unknown.text, 'npm start: --colour: expected an option from `npm start --help`\n');
      const workers = await run(['--workers', 'abc']);
      const zero = await run(['--workers', '0']);
      assert.deepEqual([workers.code, zero.code], [2, 2]);
      assert.equal(workers.text, 'npm start: --workers: expected a whole number from 1 to 1024, got "abc"\n');
      assert.equal(zero.text, workers.text.replace('"abc"', '"0"'), 'one message with the accepted range');
      const badDir = await run([], { DATA_DIR: '/etc/hostname/layerstack-cannot-write' });
      assert.equal(badDir.code, 2);
      assert.match(badDir.text, /^npm start: --data-dir \/etc\/hostname\/layerstack-cannot-write: expected a directory this user can create or write; \/etc\/hostname is not a directory\n$/);
      const help = await run(['--help'], { DATA_DIR: join(dataDir, 'not-created-by-help') });
      assert.equal(help.code, 0);
      assert.match(help.text, /^Usage: npm start -- \[options\]/);
      assert.equal(existsSync(join(dataDir, 'not-created-by-help')), false, '--help has no side effects');
    } finally {
      blocker.close();
    }
  });
});

describe('running from the sources or from dist/ (server/launch.ts)', () => {
  it('from the sources: children run the TypeScript through tsx, apps load as named', () => {
    assert.equal(COMPILED, false);
    const entry = nodeEntry('server/pool/worker.ts');
    assert.match(entry.script, /server\/pool\/worker\.ts$/);
    assert.equal(entry.execArgv[0], '--import');
    assert.match(entry.execArgv[1]!, /tsx/);
    assert.match(importableModule('app/demo.ts'), /\/app\/demo\.ts$/);
  });

  it('compiled: children run dist/ JavaScript, a project .ts app maps to its twin, any other .ts is refused', async () => {
    await build();
    const probe = `
      const launch = await import('./dist/server/launch.js');
      const out = { compiled: launch.COMPILED, entry: launch.nodeEntry('server/pool/worker.ts'), demo: launch.importableModule('app/demo.ts') };
      try { launch.importableModule('/tmp/elsewhere/app.ts'); } catch (error) { out.refusal = error.message; }
      console.log(JSON.stringify(out));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { compiled: boolean; entry: { script: string; execArgv: string[] }; demo: string; refusal?: string };
    assert.equal(out.compiled, true);
    assert.match(out.entry.script, /\/dist\/server\/pool\/worker\.js$/);
    assert.deepEqual(out.entry.execArgv, []);
    assert.match(out.demo, /\/dist\/app\/demo\.js$/);
    assert.match(out.refusal ?? '', /is TypeScript, and this server runs compiled JavaScript/);
  });
});
