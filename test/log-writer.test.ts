/**
 * The one log writer (wire/log-writer.ts) under the faults issue 14 lists: a destination that
 * stops reading (bounded memory, lines dropped and counted, the count reported later), a write
 * error (disk full, a closed pipe: reported once, never thrown), and a log path that cannot be
 * opened (one clear line and a non-zero exit at start; on reload the running log is kept).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AccessLog } from '../wire/access-log.ts';
import { LogOpenError, LogWriter, writeToStream } from '../wire/log-writer.ts';
import { get, PoolProcess } from './fixtures/pool.ts';
import { eventually, request } from './proxy-harness.ts';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'log-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that takes writes and completes none until released: a stdout nobody reads. */
function stalledStream(): { stream: NodeJS.WriteStream; release: () => void } {
  let waiting: (() => void)[] = [];
  let stalled = true;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(_chunk, _encoding, callback) {
      if (stalled) waiting.push(() => callback());
      else callback();
    },
  });
  const release = () => {
    stalled = false;
    const pending = waiting;
    waiting = [];
    for (const done of pending) done();
  };
  return { stream: stream as unknown as NodeJS.WriteStream, release };
}

const LINE = 'x'.repeat(99);

describe('LogWriter', () => {
  it('shares a stream with sibling processes in whole lines of at most PIPE_BUF bytes', () => {
    const pieces: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (pieces.push(chunk), done()) });
    const long = 'x'.repeat(5000);
    const lines = Array.from({ length: 300 }, (_, i) => (i === 150 ? long : `line ${i} ${'y'.repeat(i % 70)}`));
    const bytes = Buffer.from(lines.join('\n') + '\n');
    writeToStream(sink, bytes, true);
    assert.equal(Buffer.concat(pieces).toString(), bytes.toString(), 'everything, in order');
    for (const piece of pieces) {
      assert.equal(piece.at(-1), 10, 'each piece ends a line');
      assert.ok(piece.length <= 4096 || piece.toString() === long + '\n', `a ${piece.length}-byte piece that is not one long line`);
    }
    assert.ok(pieces.some((p) => p.toString() === long + '\n'), 'a line longer than PIPE_BUF goes whole, alone');
    pieces.length = 0;
    writeToStream(sink, bytes, false);
    assert.equal(pieces.length, 1, 'a process with its own stream writes the batch at once');
  });

  it('keeps at most maxPendingBytes queued for a stalled stream, drops the rest and reports the count later', async () => {
    const { stream, release } = stalledStream();
    const notices: string[] = [];
    const log = new LogWriter('-', stream, { what: 'access log', maxPendingBytes: 256 * 1024, notice: (m) => notices.push(m) });
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 1000; i++) log.write(LINE); // 100 KB a turn, 5 MB in all
      await turn();
    }
    assert.ok(stream.writableLength <= 256 * 1024, `queued ${stream.writableLength} bytes`);
    assert.ok(log.dropped > 40_000, `dropped ${log.dropped}`);
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(notices[0]!, /access log: .* is not keeping up/);

    release();
    await turn();
    log.write('after');
    await turn();
    assert.equal(notices.length, 2, notices.join('\n'));
    assert.equal(notices[1], `access log: writing again; ${log.dropped} line(s) were dropped`);
  });

  it('stays bounded on a real stdout pipe that nobody reads', async (t) => {
    // A child writes 20 MB of access lines to its stdout while this process never reads the pipe.
    const script = [
      "import { AccessLog } from './wire/access-log.ts';",
      "const log = new AccessLog('-');",
      "const r = { client: '127.0.0.1', method: 'GET', target: '/' + 'x'.repeat(100), httpVersion: '1.1', status: 200, bytes: 1, referer: '', userAgent: 'ua', requestMs: 1 };",
      'for (let turn = 0; turn < 200; turn++) { for (let i = 0; i < 500; i++) log.write(r); await new Promise((resolve) => setImmediate(resolve)); }',
      "process.stderr.write(JSON.stringify({ queued: process.stdout.writableLength, dropped: log.dropped }) + '\\n');",
      'process.exit(0);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    child.stdout!.pause(); // never read: the pipe fills and stays full
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    await new Promise((resolve) => child.on('exit', resolve));
    const report = JSON.parse(err.trim().split('\n').pop()!) as { queued: number; dropped: number };
    assert.ok(report.queued <= 1024 * 1024 + 64 * 1024, `queued ${report.queued} bytes`);
    assert.ok(report.dropped > 50_000, `dropped ${report.dropped} lines`);
    assert.match(err, /access log: stdout is not keeping up/);
  });

  it('never throws on a write error (disk full): says so once, counts the lines, keeps accepting', async () => {
    assert.ok(existsSync('/dev/full'), 'this test writes to /dev/full (ENOSPC on every write)');
    const notices: string[] = [];
    const log = new LogWriter('/dev/full', process.stdout, { what: 'error log', notice: (m) => notices.push(m) });
    for (let round = 0; round < 5; round++) {
      log.write(LINE);
      log.write(LINE);
      await eventually(() => log.dropped === 2 * (round + 1), 5000, 'the failed write');
    }
    log.flush();
    log.write(LINE);
    await log.close();
    assert.equal(notices.filter((m) => m.includes('cannot write')).length, 1, notices.join('\n'));
    assert.match(notices[0]!, /^error log: cannot write to \/dev\/full \(ENOSPC .*\); dropping lines until it works again$/);
    assert.equal(log.dropped, 11);
  });

  it('survives a stream that fails (EPIPE: the reader went away)', async () => {
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    }) as unknown as NodeJS.WriteStream;
    const notices: string[] = [];
    const log = new LogWriter('-', broken, { notice: (m) => notices.push(m) });
    log.write('one');
    await turn();
    await turn();
    log.write('two');
    log.write('three');
    await turn();
    assert.equal(log.dropped, 2);
    assert.match(notices[0]!, /cannot write to stderr \(write EPIPE\)/);
  });

  it('closes the files reopen() replaced while lines keep coming (log rotation under load)', async () => {
    const file = join(dir, 'rotated.log');
    const log = new LogWriter(file, process.stdout, { what: 'access log' });
    const openOnFile = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
      } catch {
        return false;
      }
    }).length;
    // A steady writer: lines every millisecond, so the queue is never empty when an append ends.
    const producer = setInterval(() => log.write(LINE), 1);
    try {
      for (let rotation = 0; rotation < 5; rotation++) {
        await new Promise((resolve) => setTimeout(resolve, 60));
        renameSync(file, `${file}.${rotation}`);
        log.reopen();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(openOnFile(), 1, 'only the current file stays open');
    } finally {
      clearInterval(producer);
    }
    await log.close();
    assert.equal(openOnFile(), 0);
    assert.equal(log.dropped, 0);
  });

  it('refuses a path it cannot open, and a failed reopen keeps the old file', async () => {
    assert.throws(
      () => new LogWriter(join(dir, 'no', 'such', 'a.log'), process.stdout, { what: 'access log' }),
      (error: unknown) => error instanceof LogOpenError && error.code === 'ENOENT' && error.message === `cannot open the access log ${join(dir, 'no', 'such', 'a.log')}: no such file or folder (ENOENT)`,
    );
    const folder = join(dir, 'rotating');
    mkdirSync(folder);
    const file = join(folder, 'a.log');
    const log = new AccessLog(file);
    const record = { client: '1.2.3.4', method: 'GET', target: '/', httpVersion: '1.1', status: 200, bytes: 1, referer: '', userAgent: '', requestMs: 1 };
    log.write(record);
    log.flush();
    const firstLine = readFileSync(file, 'utf8');
    rmSync(folder, { recursive: true });
    assert.throws(() => log.reopen(), LogOpenError);
    log.write(record); // still goes to the old (now unlinked) file: no throw, nothing dropped
    await log.close();
    assert.equal(log.dropped, 0);
    assert.match(firstLine, /^1\.2\.3\.4 - - \[/);
  });
});

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  // Bounded: a process that never exits fails the test instead of hanging the suite.
  const exited = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after 60 s: ${output}`)), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { child, output: () => output, exited };
}

describe('a bad log path', () => {
  it('stops the front at start with one clear line and a non-zero exit', async (t) => {
    const bad = join(dir, 'missing', 'a.log');
    const front = run(['proxy/cli.ts', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--access-log', bad]);
    t.after(() => front.child.kill('SIGKILL'));
    const code = await front.exited;
    assert.notEqual(code, 0);
    const lines = front.output().trimEnd().split('\n');
    assert.equal(lines.length, 1, front.output());
    assert.match(lines[0]!, new RegExp(`cannot open the access log ${bad.replaceAll('/', '\\/')}: no such file or folder \\(ENOENT\\)`));
  });

  it("writes the front's errors to --error-log, and refuses an error log it cannot open", async (t) => {
    const bad = run(['proxy/cli.ts', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--error-log', join(dir, 'missing', 'e.log')]);
    t.after(() => bad.child.kill('SIGKILL'));
    assert.notEqual(await bad.exited, 0);
    assert.match(bad.output(), /^front: cannot start: cannot open the error log .*e\.log: no such file or folder \(ENOENT\)\n$/);

    const file = join(dir, 'front-errors.log');
    const front = run(['proxy/cli.ts', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--access-log', 'off', '--error-log', file]);
    t.after(() => front.child.kill('SIGKILL'));
    await eventually(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(front.output()), 20_000, 'the front to start');
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(front.output())![1]);
    assert.equal((await request(port, '/')).status, 502); // nothing listens on port 1
    await eventually(() => existsSync(file) && /^\[front\] .*127\.0\.0\.1:1/m.test(readFileSync(file, 'utf8')), 10_000, 'the error line in the file');
    front.child.kill('SIGTERM');
    assert.equal(await front.exited, 0);
  });

  it('stops the app server at start with one clear line and a non-zero exit', async (t) => {
    const bad = join(dir, 'missing', 'b.log');
    const server = run(['server/pool/cli.ts', '--listen', '127.0.0.1:0', '--workers', '1', '--access-log', bad]);
    t.after(() => server.child.kill('SIGKILL'));
    const code = await server.exited;
    assert.notEqual(code, 0);
    const lines = server.output().trimEnd().split('\n');
    assert.equal(lines.length, 1, server.output());
    assert.match(lines[0]!, /cannot open the access log .*b\.log: no such file or folder \(ENOENT\)/);
  });

  it('on SIGHUP keeps the front serving with its running configuration, and says why', async (t) => {
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'a.txt'), 'static a');
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const front = run(['proxy/cli.ts', '--listen', '127.0.0.1:0', '--static', `/s/=${site}`, '--access-log', join(logs, 'access.log')]);
    t.after(() => front.child.kill('SIGKILL'));
    await eventually(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(front.output()), 20_000, 'the front to start');
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(front.output())![1]);
    assert.equal((await request(port, '/s/a.txt')).text, 'static a');

    rmSync(logs, { recursive: true }); // the reload cannot reopen the log: its folder is gone
    front.child.kill('SIGHUP');
    await eventually(() => front.output().includes('reload failed, keeping the running configuration'), 10_000, 'the failed reload');
    assert.match(front.output(), /reload failed, keeping the running configuration: cannot open the access log .*access\.log: no such file or folder \(ENOENT\)/);
    assert.equal((await request(port, '/s/a.txt')).text, 'static a', 'still serving');
    assert.equal(front.child.exitCode, null);
    front.child.kill('SIGTERM');
    assert.equal(await front.exited, 0);
  });
});

describe('the app server\'s logs', () => {
  it('keeps serving when its error log cannot be written (a full disk)', async (t) => {
    const pool = await PoolProcess.start(t, ['--app', 'test/fixtures/apps.ts#app', '--workers', '1', '--access-log', 'off', '--error-log', '/dev/full']);
    assert.equal((await get(pool.port, '/ping')).status, 200);
    await eventually(() => /error log: cannot write to \/dev\/full \(ENOSPC/.test(pool.output), 10_000, 'the one notice on stderr');
    assert.equal((await get(pool.port, '/ping')).status, 200);
    assert.equal(pool.exitCode, null);
  });

  it('keeps its old access log when SIGUSR1 cannot reopen it, and says so', async (t) => {
    const logs = join(dir, 'pool-logs');
    mkdirSync(logs);
    const pool = await PoolProcess.start(t, ['--app', 'test/fixtures/apps.ts#app', '--workers', '1', '--access-log', join(logs, 'access.log')]);
    assert.equal((await get(pool.port, '/ping')).status, 200);
    rmSync(logs, { recursive: true });
    pool.signal('SIGUSR1');
    await eventually(() => /cannot open the access log .*access\.log: no such file or folder \(ENOENT\); still writing to the old file/.test(pool.output), 10_000, 'the failed reopen');
    assert.equal((await get(pool.port, '/ping')).status, 200);
    assert.equal(pool.exitCode, null);
  });
});
