/**
 * The pool's configuration: flags, LAYERSTACK_* environment and a JSON file merge in that order of
 * priority; every mistake is a clear ConfigError; --help documents every option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatAccessLine } from '../server/access-log.ts';
import { ConfigError, envName, helpText, limitsOf, OPTIONS, parseArgs, resolveConfig } from '../server/config.ts';
import { formatBind, parseBind } from '../server/engines/engine.ts';
import { RequestHeaders } from '../app/headers.ts';

describe('pool configuration', () => {
  it('uses defaults when nothing is given', () => {
    const config = resolveConfig(parseArgs([]), {});
    assert.equal(config.bind, '127.0.0.1:8001');
    assert.equal(config.engine, 'http');
    assert.equal(config.timeout, 30);
    assert.equal(limitsOf(config).keepAliveTimeout, 75_000);
  });

  it('merges file < environment < flags', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-config-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'layerstack.json');
    writeFileSync(file, JSON.stringify({ workers: 3, engine: 'uws', 'max-requests': 100, timeout: 5 }));
    const config = resolveConfig(parseArgs(['-c', file, '--workers=5', '--server-timing']), { LAYERSTACK_TIMEOUT: '7', WEB_CONCURRENCY: '4' });
    assert.equal(config.workers, 5, 'flag beats env beats file');
    assert.equal(config.timeout, 7, 'env beats file');
    assert.equal(config.engine, 'uws', 'file beats default');
    assert.equal(config.maxRequests, 100, 'file keys may be flag names');
    assert.equal(config.serverTiming, true);
    assert.equal(resolveConfig(parseArgs(['--no-server-timing']), { LAYERSTACK_SERVER_TIMING: '1' }).serverTiming, false);
  });

  it('refuses unknown or bad settings with a message naming them', (t) => {
    assert.throws(() => parseArgs(['--wrokers', '2']), (e: Error) => e instanceof ConfigError && /unknown option --wrokers/.test(e.message));
    assert.throws(() => parseArgs(['--workers']), /needs a value/);
    assert.throws(() => parseArgs(['--workers', 'two']), /workers must be a whole number/);
    assert.throws(() => parseArgs(['--engine', 'gevent']), /engine must be one of http, uws/);
    assert.throws(() => resolveConfig(parseArgs(['--bind', 'localhost:99999']), {}), /above 65535/);
    assert.throws(() => resolveConfig(parseArgs(['--engine', 'uws', '--workers', '2', '--bind', 'unix:/tmp/x.sock']), {}), /one worker only/);
    assert.equal(resolveConfig(parseArgs(['--engine', 'uws', '--workers', '1', '--bind', 'unix:/tmp/x.sock']), {}).engine, 'uws');
    assert.throws(() => resolveConfig(parseArgs([]), { LAYERSTACK_TIMEOUT: 'soon' }), /environment LAYERSTACK_TIMEOUT/);
    const dir = mkdtempSync(join(tmpdir(), 'pool-config-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"wrokers": 2}');
    assert.throws(() => resolveConfig(parseArgs(['--config', file]), {}), /unknown setting "wrokers"/);
  });

  it('documents every option, its environment variable and default in --help', () => {
    const help = helpText();
    for (const spec of OPTIONS) {
      assert.ok(help.includes(`--${spec.flag}`), spec.flag);
      assert.ok(help.includes(envName(spec)), envName(spec));
    }
    assert.match(help, /READY <address>/);
  });

  it('parses and prints bind addresses', () => {
    assert.deepEqual(parseBind('0.0.0.0:80'), { kind: 'tcp', host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseBind(':8001'), { kind: 'tcp', host: '127.0.0.1', port: 8001 });
    assert.deepEqual(parseBind('[::1]:8001'), { kind: 'tcp', host: '::1', port: 8001 });
    assert.deepEqual(parseBind('unix:/run/app.sock'), { kind: 'unix', path: '/run/app.sock' });
    assert.equal(formatBind(parseBind('[::1]:8001')), '[::1]:8001');
    assert.throws(() => parseBind('nonsense'), /host:port or unix:\/path/);
  });

  it('writes combined access log lines with request time, escaping what the client sent', () => {
    const line = formatAccessLine(
      {
        method: 'GET',
        target: '/a"b\n',
        httpVersion: '1.1',
        status: 200,
        bytes: 11,
        durationMs: 1.5,
        client: { address: '127.0.0.1', port: 5000 },
        headers: RequestHeaders.from({ 'user-agent': 'evil"\r\nagent', referer: 'http://x/' }),
      },
      Date.UTC(2026, 10, 29, 12, 0, 0),
    );
    assert.equal(line, '127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /a\\x22b\\x0a HTTP/1.1" 200 11 "http://x/" "evil\\x22\\x0d\\x0aagent" 0.001500');
  });
});
