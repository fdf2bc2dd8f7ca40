/**
 * Configuration (flags > environment > JSON file > defaults, unknown options refused) and the CLI
 * process itself: exit code 2 on bad options, the printed configuration, SIGHUP reload, and
 * SIGTERM graceful shutdown that lets an in-flight request finish.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../options/index.ts';
import { IMMUTABLE, loadConfig } from '../proxy/config.ts';
import { eventually, request, startUpstream } from './proxy-harness.ts';
import { UWS_IDLE_TIMEOUT_MS } from '../wire/limits.ts';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'front-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig(['--upstream', '127.0.0.1:8001'], {});
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8000 });
    assert.equal(config.engine, 'net', 'the front\'s production engine, as npm start runs it');
    assert.equal(config.client.maxBodySize, 1024 * 1024);
    assert.equal(config.upstreamIdleTimeoutMs, 4_000);
    assert.ok(config.upstreamIdleTimeoutMs < UWS_IDLE_TIMEOUT_MS, 'below the shortest app-server keep-alive (uWS)');
    assert.ok(config.upstreamIdleTimeoutMs < 75_000, "below the app server's keep-alive timeout");
  });

  it('layers file < environment < flags; lists are replaced, not merged', () => {
    mkdirSync(join(dir, 'site', 'public'), { recursive: true });
    const file = join(dir, 'site', 'front.json');
    writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:9000', 'read-timeout': 1.5, upstream: ['127.0.0.1:1'], static: ['/s/=public'], 'cache-control': '/s/=immutable' }));
    const fromFile = loadConfig(['--config', file], {});
    assert.equal(fromFile.readTimeoutMs, 1500);
    assert.equal(fromFile.listen.port, 9000);
    assert.equal(fromFile.statics[0]!.root, join(dir, 'site', 'public'), 'static folders in a file are relative to the file');
    assert.equal(fromFile.statics[0]!.cacheControl, IMMUTABLE);
    const layered = loadConfig(['--config', file, '--listen', '127.0.0.1:9002', '--upstream', '127.0.0.1:3'], { LAYERSTACK_LISTEN: '127.0.0.1:9001', LAYERSTACK_UPSTREAM: '127.0.0.1:2,127.0.0.1:4', LAYERSTACK_READ_TIMEOUT: '2s' });
    assert.equal(layered.listen.port, 9002);
    assert.equal(layered.readTimeoutMs, 2000);
    assert.deepEqual(layered.upstreams, [{ kind: 'tcp', host: '127.0.0.1', port: 3 }]);
    const fromEnv = loadConfig(['--config', file], { LAYERSTACK_UPSTREAM: '127.0.0.1:2,127.0.0.1:4', PORT: '9003' });
    assert.equal(fromEnv.upstreams.length, 2);
    assert.equal(fromEnv.listen.port, 9003, 'PORT replaces the port of the file\'s address');
    assert.equal(loadConfig(['--config', file], { LAYERSTACK_CONFIG: '/nonexistent.json' }).listen.port, 9000, '--config beats LAYERSTACK_CONFIG');
  });

  it('refuses unknown or malformed options with a clear message', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--bogus', '1'], {}, /^--bogus: expected an option from `npm run proxy --help`$/],
      [['--upstream'], {}, /^--upstream: expected a value: a list of ADDRESS/],
      [['stray'], {}, /^"stray": expected options only/],
      [['--upstream', '127.0.0.1:1', '--read-timeout', '60 s'], {}, /^--read-timeout: expected a duration such as 500ms, 30s or 2m \(a bare number is seconds\), got "60 s"$/],
      [['--upstream', '127.0.0.1:1', '--front-engine', 'nginx'], {}, /^--front-engine: expected one of net, http, got "nginx"$/],
      [['--upstream', '127.0.0.1:1', '--engine', 'uws'], {}, /^--engine: expected an option from/],
      [['--upstream', 'nowhere'], {}, /^--upstream: expected upstream addresses: HOST:PORT, \[IPv6\]:PORT or unix:\/absolute\/path\.sock, got "nowhere"$/],
      [['--upstream', '127.0.0.1:1'], { LAYERSTACK_UPSTREAM_IDLE_TIMEOUT: 'soon' }, /^LAYERSTACK_UPSTREAM_IDLE_TIMEOUT \(--upstream-idle-timeout\): expected a duration/],
      [['--static', 'static=./x'], {}, /^--static: expected PREFIX=VALUE with a URL prefix starting with "\/"/],
      [['--static', `/s/=${dir}`, '--cache-control', '/t/=immutable'], {}, /^--cache-control: expected a prefix given to --static \(have: \/s\/\)/],
      [[], {}, /expected something to serve/],
      [['--upstream', '127.0.0.1:1', '--trusted', '300.1.1.1'], {}, /^--trusted: expected IP addresses or CIDR ranges/],
      [['--upstream', '127.0.0.1:1', '--max-body-size', 'lots'], {}, /^--max-body-size: expected a size such as 16k, 1m or 1048576 \(bytes\), got "lots"$/],
      [['--upstream', '127.0.0.1:1', '--connect-timeout', '0s'], {}, /^--connect-timeout: expected a duration .*, at least 1ms, got "0s"$/],
      [['--upstream', '127.0.0.1:1', '--header-timeout', '0'], {}, /^--header-timeout: expected a duration .*, at least 1ms, got "0"$/],
    ];
    for (const [argv, env, message] of cases) assert.throws(() => loadConfig(argv, env), (error: Error) => error instanceof ConfigError && message.test(error.message), argv.join(' '));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ upstreams: ['127.0.0.1:1'] }));
    assert.throws(() => loadConfig(['--config', file], {}), /: "upstreams": expected an option name from `npm run proxy --help`/);
  });
});

/** Run the CLI; resolves with the port once it prints its configuration. */
function startCli(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'proxy/cli.ts', ...args], { cwd: project, env: { ...process.env, LAYERSTACK_ACCESS_LOG: 'off' } });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${output}`)), 15_000);
    const check = () => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output });
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited ${code}: ${output}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('exit', (code) => resolve(code));
  });
}

describe('cli', () => {
  it('exits 2 with a message for an unknown option', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'proxy/cli.ts', '--upstream', '127.0.0.1:1', '--lisen', '127.0.0.1:0'], { cwd: project });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    assert.equal(await exited(child), 2);
    assert.equal(stderr, 'npm run proxy: --lisen: expected an option from `npm run proxy --help`\n', 'one line');
  });

  it('prints its configuration, reloads on SIGHUP and drains in-flight requests on SIGTERM', async (t) => {
    const upstream = await startUpstream((seen, _req, res) => setTimeout(() => res.end(`done ${seen.url}`), seen.url === '/slow' ? 400 : 0));
    const staticDir = join(dir, 'reload-static');
    mkdirSync(staticDir);
    writeFileSync(join(staticDir, 'a.txt'), 'static a');
    const file = join(dir, 'reload.json');
    writeFileSync(file, JSON.stringify({ upstream: [upstream.address] }));
    const cli = await startCli(['--config', file, '--listen', '127.0.0.1:0']);
    t.after(async () => {
      cli.child.kill('SIGKILL');
      await upstream.close();
    });
    assert.match(cli.output(), /proxy {4}→ 127\.0\.0\.1:\d+ \(round-robin/);
    assert.match(cli.output(), /upstream connect 5s, read 60s, idle 4s \(app server keep-alive: 75s on node:http, 10s on uWS\)/);
    assert.equal((await request(cli.port, '/static/a.txt')).text, 'done /static/a.txt');

    writeFileSync(file, JSON.stringify({ upstream: [upstream.address], static: [`/static/=${staticDir}`] }));
    cli.child.kill('SIGHUP');
    await eventually(() => cli.output().includes('front: reloaded'), 5000, 'the reload');
    assert.equal((await request(cli.port, '/static/a.txt')).text, 'static a');

    writeFileSync(file, '{ not json');
    cli.child.kill('SIGHUP');
    await eventually(() => cli.output().includes('reload failed, keeping the running configuration'), 5000, 'the failed reload');
    assert.equal((await request(cli.port, '/static/a.txt')).text, 'static a');

    const slow = request(cli.port, '/slow');
    await eventually(() => upstream.requests.some((r) => r.url === '/slow'), 5000, 'the slow request upstream');
    cli.child.kill('SIGTERM');
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'done /slow');
    assert.equal(await exited(cli.child), 0);
    assert.match(cli.output(), /SIGTERM: graceful shutdown \(1 request\(s\) in flight\)/);
  });
});
