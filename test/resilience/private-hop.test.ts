/**
 * Defect 6: the app server's private hop must not be open to a stranger. It used to be a loopback
 * port probed free, released, then bound by every worker with SO_REUSEPORT: any local process
 * could bind the same port and silently receive a share of the requests, or send requests to the
 * app server around the front. `npm start` now puts the app server on a unix socket in the data
 * directory's `run` folder (0700, this user's), which the pool master binds once, exclusively,
 * and shares with its workers (node:cluster).
 *
 * Against the whole stack as `npm start` runs it: where the socket lives and who may reach it; a
 * second listener on it (another app server, a plain one) refused while the stack keeps serving;
 * another user (as root, the test runs one as `nobody`) can neither connect, bind nor unlink it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cleanup, rawPing, record, Stack, startLayer } from './harness.ts';

/** The uid and gid of `nobody` on Debian; a user that owns nothing of the stack. */
const NOBODY = 65534;

describe('6. the app server\'s private hop', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());
  let stack: Stack;
  let socket: string;
  let dataDir: string;

  before(async () => {
    // A data directory whose run folder someone left open to everyone: the stack must close it.
    dataDir = mkdtempSync(join(tmpdir(), 'private-hop-'));
    cleanup.add(() => rmSync(dataDir, { recursive: true, force: true }));
    // Readable by all, as a data directory often is: the run folder alone must keep others out.
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, 'run'));
    chmodSync(join(dataDir, 'run'), 0o777);
    stack = await Stack.start(cleanup.add, { engine: 'net', workers: 2, dataDir });
    const banner = /app server\s+pid \d+\s+unix:(\S+)/.exec(stack.output);
    assert.ok(banner, `the app server's address is a unix socket:\n${stack.output}`);
    socket = banner[1]!;
  });

  it('is a unix socket in the data directory\'s run folder, which is this user\'s alone (0700; an open one is closed at start)', () => {
    assert.equal(dirname(socket), join(dataDir, 'run'));
    assert.ok(lstatSync(socket).isSocket());
    const run = statSync(dirname(socket));
    assert.equal(run.mode & 0o777, 0o700, `run folder mode ${(run.mode & 0o777).toString(8)}`);
    assert.equal(run.uid, process.getuid!());
    assert.match(stack.output, /was open to other users \(mode 777\); made it 0700/);
  });

  it('a second listener on the socket is refused: another app server stops with one line, a plain listen gets EADDRINUSE; the stack keeps serving', async (t) => {
    const register = (fn: () => unknown) => t.after(fn);
    const stranger = await startLayer(register, 'server/pool/cli.js', ['--listen', `unix:${socket}`, '--workers', '1', '--access-log', 'off'], { DATA_DIR: dataDir });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([stranger.exited, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), 60_000)))]);
    clearTimeout(timer);
    assert.notEqual(code, 0, `the second app server must not start on the stack's socket:\n${stranger.output}`);
    assert.notEqual(code, 'still running', `the second app server must not start on the stack's socket:\n${stranger.output}`);
    assert.match(stranger.output, /EADDRINUSE|address already in use/i);
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const server = createServer();
      server.once('error', resolve);
      server.listen(socket, () => server.close(() => resolve(null)));
    });
    record('6 private hop: second listener', { engine: 'net', appServerExit: String(code), plainListen: error?.code ?? 'listening' });
    assert.equal(error?.code, 'EADDRINUSE');
    assert.ok(lstatSync(socket).isSocket(), 'the socket file is still there');
    assert.equal(await rawPing(socket, 20_000), '200', 'the app server still answers on its socket');
    assert.equal((await fetch(`${stack.base}/api/ping/`)).status, 200, 'the stack still serves');
  });

  it('another user can neither connect to the socket, bind it nor unlink it', { skip: process.getuid?.() !== 0 ? 'needs root to run a process as another user' : false }, async () => {
    const probe = `
      const net = require('node:net');
      const fs = require('node:fs');
      const path = ${JSON.stringify(socket)};
      const out = {};
      try { fs.unlinkSync(path); out.unlink = 'done'; } catch (e) { out.unlink = e.code; }
      const server = net.createServer();
      server.once('error', (e) => {
        out.listen = e.code;
        const client = net.connect(path);
        client.once('connect', () => { out.connect = 'connected'; client.destroy(); console.log(JSON.stringify(out)); });
        client.once('error', (e2) => { out.connect = e2.code; console.log(JSON.stringify(out)); });
      });
      server.listen(path, () => { out.listen = 'listening'; server.close(); console.log(JSON.stringify(out)); });
    `;
    const result = spawnSync(process.execPath, ['-e', probe], { uid: NOBODY, gid: NOBODY, cwd: '/', encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, `the probe ran as nobody: ${result.stderr}`);
    record('6 private hop: another user', { engine: 'net', ...(JSON.parse(result.stdout) as Record<string, string>) });
    assert.deepEqual(JSON.parse(result.stdout), { unlink: 'EACCES', listen: 'EACCES', connect: 'EACCES' });
    assert.equal(await rawPing(socket, 20_000), '200');
  });
});
