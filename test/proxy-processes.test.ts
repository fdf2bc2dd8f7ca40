/**
 * `npm run proxy -- --processes N`: a master and N processes sharing the listening socket
 * (proxy/front-processes.ts). The master prints the configuration once with the processes'
 * pids; every process serves; one that dies is replaced; HUP reloads them all; TERM lets each
 * finish its in-flight requests and leaves no process behind; a port in use stops the start
 * with exit 1. Access log lines from several processes land whole in the shared file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { alive, killedAtEnd } from './fixtures/pids.ts';
import { eventually, request, startUpstream } from './proxy-harness.ts';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'front-processes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every pid a test saw, killed at its end whatever happened (registered before anything starts). */
const pids = killedAtEnd();

function startMaster(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'proxy/cli.ts', ...args], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  pids.add(child.pid!);
  let output = '';
  const collect = (c: Buffer): void => {
    output += c.toString();
    for (const match of output.matchAll(/pids ([\d, ]+)|process (\d+) serving|front\[(\d+)\]/g)) {
      for (const pid of (match[1] ?? match[2] ?? match[3]!).split(', ')) pids.add(Number(pid));
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

describe('the front with --processes 2', () => {
  it('serves from both, replaces one that dies, reloads and drains them all, and leaves nothing behind', async () => {
    const upstream = await startUpstream((seen, _req, res) => setTimeout(() => res.end(`done ${seen.url}`), seen.url === '/slow' ? 1500 : 0));
    after(() => upstream.close());
    const log = join(dir, 'access.log');
    const master = startMaster(['--listen', '127.0.0.1:0', '--upstream', upstream.address, '--processes', '2', '--access-log', log]);
    await eventually(() => /pids \d+, \d+/.test(master.output()), 30_000, `the processes' pids: ${master.output()}`);
    const out = master.output();
    assert.match(out, /^front: listening on http:\/\/127\.0\.0\.1:\d+ \(engine net, 2 processes\)$/m);
    assert.equal(out.match(/listening on/g)!.length, 1, 'the configuration is printed once, by the master');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const [first, second] = /pids (\d+), (\d+)/.exec(out)!.slice(1).map(Number) as [number, number];
    assert.ok(alive(first) && alive(second) && first !== master.child.pid);

    // New connections each (no agent): the kernel hands them to either process.
    for (let i = 0; i < 20; i++) assert.equal((await request(port, `/r${i}`)).text, `done /r${i}`);
    // Lines wait up to 50 ms before they are appended: a process killed outright loses those.
    const logged = (): number => readFileSync(log, 'utf8').split('\n').length - 1;
    await eventually(() => logged() === 20, 10_000, 'the 20 lines in the access log');

    process.kill(first, 'SIGKILL');
    await eventually(() => /process \d+ serving/.test(master.output()), 30_000, `a replacement: ${master.output()}`);
    assert.match(master.output(), new RegExp(`process ${first} exited \\(SIGKILL\\); starting another`));
    const third = Number(/process (\d+) serving/.exec(master.output())![1]);
    for (let i = 0; i < 10; i++) assert.equal((await request(port, `/after${i}`)).status, 200);

    process.kill(master.child.pid!, 'SIGHUP');
    await eventually(() => master.output().includes(`front[${second}]: reloaded`) && master.output().includes(`front[${third}]: reloaded`), 30_000, `both reloaded: ${master.output()}`);

    // TERM while a request is in flight: it is answered, then everything exits.
    const slow = request(port, '/slow');
    await eventually(() => upstream.requests.some((r) => r.url === '/slow'), 10_000, 'the slow request upstream');
    process.kill(master.child.pid!, 'SIGTERM');
    assert.equal((await slow).text, 'done /slow');
    assert.equal(await master.exit, 0, master.output());
    assert.match(master.output(), /^front: stopped$/m);
    await eventually(() => !alive(second) && !alive(third), 10_000, 'no front process left');

    // Every line whole: 31 requests, 31 lines of the access log's format (processes share the file).
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 31, lines.join('\n'));
    for (const line of lines) assert.match(line, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/\S+ HTTP\/1\.1" 200 \d+ "-" "-" upstream=\S+ upstream_time=[\d.]+ request_time=[\d.]+ request_id=\S+$/);
  });

  it('stops with exit 1 when the port is taken, leaving no process', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    after(() => taken.close());
    const port = (taken.address() as { port: number }).port;
    const master = startMaster(['--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:1', '--processes', '2', '--access-log', 'off']);
    assert.equal(await master.exit, 1, master.output());
    assert.match(master.output(), /^front: cannot start: a front process exited during start-up \(code 1\)/m);
    assert.match(master.output(), /EADDRINUSE/);
    const started = [...master.output().matchAll(/front\[(\d+)\]/g)].map((m) => Number(m[1]));
    await eventually(() => started.every((pid) => !alive(pid)), 10_000, 'no front process left');
  });
});
