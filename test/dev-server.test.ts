/**
 * The dev server over real sockets: a child `tsx server/dev/cli.ts` on a free port, hosting a
 * throwaway app written to a temp folder that the reloader watches.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, rawExchange, waitForHttp } from './support/net.ts';

const dir = mkdtempSync(join(tmpdir(), 'devserver-'));
const appFile = join(dir, 'app.ts');

/** Save the app the way editors and `sed -i` do: a new file renamed over the old one. */
function saveAppByRename(version: string): void {
  writeApp(version, `${appFile}.tmp-${version}`);
  renameSync(`${appFile}.tmp-${version}`, appFile);
}

/** Wait (bounded) until /version answers `version`. */
async function versionBecomes(version: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  let seen = '';
  while (Date.now() < deadline && seen !== version) {
    seen = await (await fetch(`${base}/version`)).text();
    await sleep(100);
  }
  return seen;
}

function writeApp(version: string, path = appFile): void {
  writeFileSync(
    path,
    `export const app = async (req) => {
  switch (req.path) {
    case '/version': return { status: 200, headers: { 'content-type': 'text/plain' }, body: '${version}' };
    case '/stream': return { status: 200, body: (async function* () { for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 5)); yield 'chunk' + i + '\\n'; } })() };
    case '/boom': throw new Error('kaboom from the test app');
    case '/garbage': return 'not a response';
    case '/echo': return { status: 200, body: String((await req.body.bytes()).length) };
    default: return { status: 404, body: 'no' };
  }
};
`,
  );
}

let child: ChildProcess;
let port: number;
let base: string;
let output = '';

before(async () => {
  writeApp('v1');
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--import', 'tsx', 'server/dev/cli.ts', '--app', `${appFile}#app`, '--watch', dir], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitForHttp(`${base}/version`);
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('dev server', () => {
  it('prints a banner saying it is not for production', () => {
    assert.match(output, /NOT for production/);
  });

  it('serves the app with Date and Server-Timing headers', async () => {
    const res = await fetch(`${base}/version`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'v1');
    assert.ok(res.headers.get('date'));
    assert.match(res.headers.get('server-timing') ?? '', /^app;dur=\d+\.\d+$/);
  });

  it('keeps the connection alive across requests', async () => {
    const req = `GET /version HTTP/1.1\r\nHost: x\r\n\r\n`;
    const reply = await rawExchange(port, req + req, { until: (r) => r.split('HTTP/1.1 200').length === 3 });
    assert.equal(reply.split('HTTP/1.1 200 OK').length - 1, 2, reply);
  });

  it('streams a chunked body', async () => {
    const reply = await rawExchange(port, 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n', { until: (r) => r.endsWith('0\r\n\r\n') });
    assert.match(reply, /transfer-encoding: chunked/i);
    assert.match(reply, /chunk0\n[\s\S]*chunk2\n/);
  });

  it('answers HEAD with headers and no body', async () => {
    const reply = await rawExchange(port, 'HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.match(reply, /content-length: 1024/i);
    assert.ok(reply.endsWith('\r\n\r\n'), 'nothing after the head');
  });

  it('serves static files and refuses traversal', async () => {
    const css = await fetch(`${base}/static/app.css`);
    assert.equal(css.headers.get('content-type'), 'text/css');
    assert.match(await css.text(), /--accent/);
    const up = await rawExchange(port, 'GET /static/../package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(up, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(up, /"name"/);
  });

  it('shows a debug page with the stack trace on a throwing app', async () => {
    const res = await fetch(`${base}/boom`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 500);
    const page = await res.text();
    assert.match(page, /kaboom from the test app/);
    assert.match(page, /development server/);
    assert.match(output, /kaboom from the test app/, 'and logs it');
  });

  it('answers 500 when the app returns garbage, and keeps serving', async () => {
    assert.equal((await fetch(`${base}/garbage`)).status, 500);
    assert.equal((await fetch(`${base}/version`)).status, 200);
  });

  it('answers a malformed request with 400 and keeps serving', async () => {
    const bad = await rawExchange(port, 'GARBAGE\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400/);
    const noHost = await rawExchange(port, 'GET /version HTTP/1.1\r\n\r\n');
    assert.match(noHost, /^HTTP\/1\.1 400/);
    const smuggle = await rawExchange(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.match(smuggle, /^HTTP\/1\.1 400/);
    assert.equal((await fetch(`${base}/version`)).status, 200);
  });

  it('answers oversized headers with 431 and a body over the limit with 413', async () => {
    const big = await rawExchange(port, `GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431/);
    const declared = await rawExchange(port, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\nabc`);
    assert.match(declared, /^HTTP\/1\.1 413/);
    const chunked = await fetch(`${base}/echo`, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(100 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit).catch((e: Error) => e);
    if (!(chunked instanceof Error)) assert.equal(chunked.status, 413);
    assert.equal((await fetch(`${base}/version`)).status, 200);
  });

  it('reloads on change without dropping the port', async () => {
    let failures = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          await (await fetch(`${base}/version`)).text();
        } catch (error) {
          console.error('reload poll failed:', (error as Error).cause ?? error);
          failures++;
        }
        await sleep(20);
      }
    })();
    writeApp('v2');
    const deadline = Date.now() + 15_000;
    let seen = '';
    while (Date.now() < deadline && seen !== 'v2') {
      seen = await (await fetch(`${base}/version`)).text();
      await sleep(100);
    }
    polling = false;
    await poller;
    assert.equal(seen, 'v2');
    assert.equal(failures, 0, 'no request failed during the reload');
    assert.match(output, /\[reload\]/);
  });

  it('keeps reloading a file saved by rename (sed -i, most editors), save after save', async () => {
    for (const version of ['v3', 'v4', 'v5']) {
      saveAppByRename(version);
      assert.equal(await versionBecomes(version), version, `reloaded after the rename-save of ${version}`);
    }
  });
});
