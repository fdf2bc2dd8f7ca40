/**
 * The pool's configuration: flags, LAYERSTACK_* environment and a JSON file merge in that order of
 * priority; every mistake is a ConfigError naming the option and the accepted form; --help
 * documents every option. (The grammar itself is tested in options.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatAccessLine } from '../wire/access-log.ts';
import { accessRecordOf } from '../server/engines/host.ts';
import { ConfigError, envNamesOf, flagOf, helpText } from '../options/index.ts';
import { loadServerConfig } from '../server/config.ts';
import { limitsOf } from '../server/pool/worker-limits.ts';
import { SERVE_COMMAND } from '../server/options.ts';
import { RequestHeaders } from '../app/headers.ts';

describe('pool configuration', () => {
  it('uses defaults when nothing is given', () => {
    const config = loadServerConfig([], {});
    assert.equal(config.bind, '127.0.0.1:8001');
    assert.equal(config.engine, 'net', 'the app layer\'s production engine, as npm start runs it');
    assert.equal(config.timeout, 30);
    assert.equal(limitsOf(config).keepAliveTimeout, 75_000);
  });

  it('merges file < environment < flags', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-config-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'layerstack.json');
    writeFileSync(file, JSON.stringify({ workers: 3, engine: 'http', 'max-requests': 100, timeout: 5, 'keep-alive-timeout': '20s' }));
    const config = loadServerConfig(['-c', file, '--workers=5', '--server-timing'], { LAYERSTACK_TIMEOUT: '7', WEB_CONCURRENCY: '4' });
    assert.equal(config.workers, 5, 'flag beats env beats file');
    assert.equal(config.timeout, 7, 'env beats file; a bare number is seconds');
    assert.equal(config.engine, 'http', 'file beats default');
    assert.equal(config.maxRequests, 100, 'file keys may be flag names');
    assert.equal(config.keepAlive, 20);
    assert.equal(config.serverTiming, true);
    assert.equal(loadServerConfig(['--no-server-timing'], { LAYERSTACK_SERVER_TIMING: '1' }).serverTiming, false);
    assert.equal(loadServerConfig([], { PORT: '9000' }).bind, '127.0.0.1:9000', 'PORT, as Gunicorn reads it');
    assert.equal(loadServerConfig(['--header-timeout', '500ms'], {}).headerTimeout, 0.5, 'one duration grammar');
  });

  it('refuses unknown or bad settings with one line naming the option and the accepted form', (t) => {
    const refuses = (argv: string[], env: NodeJS.ProcessEnv, message: RegExp) =>
      assert.throws(() => loadServerConfig(argv, env), (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'), message.source);
    refuses(['--wrokers', '2'], {}, /^--wrokers: expected an option from `npm run serve --help`$/);
    refuses(['--workers'], {}, /^--workers: expected a value: a whole number from 1 to 1024$/);
    refuses(['--workers', 'two'], {}, /^--workers: expected a whole number from 1 to 1024, got "two"$/);
    refuses(['--workers', '0'], {}, /^--workers: expected a whole number from 1 to 1024, got "0"$/);
    refuses(['--engine', 'gevent'], {}, /^--engine: expected one of net, http, got "gevent"$/);
    refuses(['--engine', 'uws'], {}, /^--engine: expected one of net, http, got "uws"$/);
    refuses(['--listen', 'localhost:99999'], {}, /^--listen: expected HOST:PORT .* or unix:\/path\/to\.sock/);
    refuses([], { LAYERSTACK_TIMEOUT: 'soon' }, /^LAYERSTACK_TIMEOUT \(--timeout\): expected a duration such as 500ms, 30s or 2m/);
    refuses(['--app', 'app.ts'], {}, /^--app: expected module\.ts#export/);
    const dir = mkdtempSync(join(tmpdir(), 'pool-config-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"wrokers": 2}');
    refuses(['--config', file], {}, /"wrokers": expected an option name from `npm run serve --help`/);
  });

  it('documents every option, its environment variables and default in --help', () => {
    const help = helpText(SERVE_COMMAND);
    for (const [key, option] of Object.entries(SERVE_COMMAND.options)) {
      assert.ok(help.includes(`--${flagOf(key, option)}`), key);
      for (const env of envNamesOf(key, option)) assert.ok(help.includes(env), env);
    }
    assert.match(help, /WEB_CONCURRENCY/);
    assert.match(help, /READY <address>/);
  });

  it('writes combined access log lines with request time, escaping what the client sent', () => {
    const line = formatAccessLine(
      accessRecordOf({
        method: 'GET',
        target: '/a"b\n',
        httpVersion: '1.1',
        status: 200,
        bytes: 11,
        durationMs: 1.5,
        client: { address: '127.0.0.1', port: 5000 },
        headers: RequestHeaders.from({ 'user-agent': 'evil"\r\nagent', referer: 'http://x/' }),
      }),
      Date.UTC(2026, 10, 29, 12, 0, 0),
    );
    assert.equal(line, '127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /a\\x22b\\x0a HTTP/1.1" 200 11 "http://x/" "evil\\x22\\x0d\\x0aagent" request_time=0.002');
  });
});
