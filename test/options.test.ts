/**
 * The option system (options/): one grammar per kind, one precedence (defaults < config file <
 * environment < flags), one ConfigError naming the option and the accepted form, and the texts
 * generated from the declarations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  address,
  boolean,
  type Command,
  ConfigError,
  duration,
  environmentOf,
  formatDuration,
  formatSize,
  helpText,
  integer,
  list,
  oneOf,
  parseAddress,
  parseBoolean,
  parseCommandLine,
  parseDuration,
  parseInteger,
  parseSize,
  printConfigText,
  Rejected,
  resolveArgv,
  resolveOptions,
  size,
  text,
} from '../options/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'layerstack-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS = {
  listen: address({ short: 'l', default: '127.0.0.1:8000', hostEnv: 'HOST', portEnv: 'PORT', unix: true, help: 'where to listen' }),
  workers: integer({ short: 'w', min: 1, max: 64, env: ['LAYERSTACK_WORKERS', 'WEB_CONCURRENCY'], default: 2, help: 'workers' }),
  readTimeout: duration({ default: 60_000, min: 1, help: 'upstream read timeout', trips: '504 Gateway Timeout' }),
  maxBodySize: size({ default: 1024 * 1024, help: 'largest body', trips: '413 Content Too Large' }),
  serverTiming: boolean({ default: false, help: 'add Server-Timing' }),
  engine: oneOf(['http', 'uws'], { short: 'k', default: 'uws', help: 'engine' }),
  upstream: list({ default: [], metavar: 'ADDRESS', help: 'upstreams' }),
  cacheControl: list({ default: [], separator: ';', help: 'cache control' }),
  app: text({ default: undefined, help: 'the app' }),
};
const COMMAND: Command<typeof OPTIONS> = { name: 'npm run example', summary: 'An example command.', options: OPTIONS };

function rejects(fn: () => unknown, accepted: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof Rejected && accepted.test(e.accepted));
}

describe('grammar', () => {
  it('durations: units, bare numbers are seconds in text and JSON', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('30'), 30_000, 'bare text number = seconds');
    assert.equal(parseDuration(30), 30_000, 'JSON number = seconds');
    assert.equal(parseDuration(0.25), 250);
    assert.equal(parseDuration(' 10s '), 10_000);
    for (const bad of ['', 's', '10 sec', '-1s', '1y', 'abc', '1e3', true, null, [], {}]) rejects(() => parseDuration(bad), /500ms, 30s or 2m/);
    rejects(() => parseDuration('0s', { min: 1 }), /at least 1ms/);
    rejects(() => parseDuration('2h', { min: 0, max: 3_600_000 }), /from 0s to 60m/);
  });

  it('durations print in the largest exact unit that counts at least 2', () => {
    assert.deepEqual([0, 500, 1500, 30_000, 60_000, 120_000, 3_600_000, 86_400_000, 172_800_000].map(formatDuration), ['0s', '500ms', '1500ms', '30s', '60s', '2m', '60m', '24h', '2d']);
    for (const ms of [1, 999, 4000, 75_000, 90_061_000]) assert.equal(parseDuration(formatDuration(ms)), ms, 'round trip');
  });

  it('sizes: k/m/g are powers of 1024, bare numbers are bytes', () => {
    assert.equal(parseSize('16k'), 16384);
    assert.equal(parseSize('16K'), 16384);
    assert.equal(parseSize('1m'), 1048576);
    assert.equal(parseSize('1g'), 1024 ** 3);
    assert.equal(parseSize('1000'), 1000);
    assert.equal(parseSize(4096), 4096);
    for (const bad of ['', '1.5m', '-1', '1t', 'k', '16 kb', 1.5, -1, false]) rejects(() => parseSize(bad), /16k, 1m or 1048576/);
    rejects(() => parseSize('0', { min: 1 }), /at least 1/);
    assert.deepEqual([0, 1000, 16384, 1048576, 1024 ** 3].map(formatSize), ['0', '1000', '16k', '1m', '1g']);
  });

  it('integers within bounds, one message for every refusal', () => {
    assert.equal(parseInteger('4', { min: 1, max: 8 }), 4);
    assert.equal(parseInteger(8, { min: 1, max: 8 }), 8);
    for (const bad of ['abc', '0', '9', '-1', '1.5', '', 1.5, '0x10']) rejects(() => parseInteger(bad, { min: 1, max: 8 }), /^a whole number from 1 to 8$/);
    rejects(() => parseInteger('-1'), /^a whole number ≥ 0$/);
  });

  it('booleans', () => {
    for (const yes of ['true', 'yes', 'on', '1', 'TRUE', true, 1]) assert.equal(parseBoolean(yes), true);
    for (const no of ['false', 'no', 'off', '0', false, 0]) assert.equal(parseBoolean(no), false);
    rejects(() => parseBoolean('maybe'), /true or false/);
  });

  it('addresses: host:port, [v6]:port, unix: where allowed, port 0 where allowed', () => {
    assert.deepEqual(parseAddress('127.0.0.1:8000'), { kind: 'tcp', host: '127.0.0.1', port: 8000 });
    assert.deepEqual(parseAddress('[::1]:80'), { kind: 'tcp', host: '::1', port: 80 });
    assert.deepEqual(parseAddress('localhost:1'), { kind: 'tcp', host: 'localhost', port: 1 });
    assert.deepEqual(parseAddress('unix:/run/app.sock', { unix: true }), { kind: 'unix', path: '/run/app.sock' });
    assert.deepEqual(parseAddress('127.0.0.1:0', { portZero: true }), { kind: 'tcp', host: '127.0.0.1', port: 0 });
    for (const bad of ['8000', '127.0.0.1', '127.0.0.1:65536', 'host:port', ':80', 'unix:', 'unix:/x', '127.0.0.1:0', 80]) {
      rejects(() => parseAddress(bad), /^HOST:PORT such as 127\.0\.0\.1:8000$/);
    }
  });
});

describe('precedence: defaults < config file < environment < flags', () => {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ workers: 3, 'read-timeout': 5, maxBodySize: '16k', upstream: ['127.0.0.1:9000', '127.0.0.1:9001'], engine: 'http' }));

  it('defaults alone', () => {
    const r = resolveArgv(COMMAND, [], {});
    assert.deepEqual(r.values, {
      listen: '127.0.0.1:8000',
      workers: 2,
      readTimeout: 60_000,
      maxBodySize: 1048576,
      serverTiming: false,
      engine: 'uws',
      upstream: [],
      cacheControl: [],
      app: undefined,
    });
    assert.ok(Object.values(r.sources).every((s) => s.kind === 'default'));
  });

  it('each layer beats the one below, option by option', () => {
    const env = { LAYERSTACK_CONFIG: file, LAYERSTACK_WORKERS: '4', LAYERSTACK_UPSTREAM: '127.0.0.1:7000' };
    const r = resolveArgv(COMMAND, ['--workers', '5', '--server-timing'], env);
    assert.equal(r.values.workers, 5, 'flag beats env and file');
    assert.deepEqual(r.sources.workers, { kind: 'flag', flag: '--workers' });
    assert.equal(r.values.readTimeout, 5000, 'file beats default; bare JSON number = seconds');
    assert.deepEqual(r.sources.readTimeout, { kind: 'file', file, key: 'read-timeout' });
    assert.equal(r.values.maxBodySize, 16384, 'camelCase key accepted in the file');
    assert.deepEqual(r.values.upstream, ['127.0.0.1:7000'], 'env replaces the file\'s list');
    assert.deepEqual(r.sources.upstream, { kind: 'env', name: 'LAYERSTACK_UPSTREAM' });
    assert.equal(r.values.engine, 'http');
    assert.equal(r.values.serverTiming, true);
    assert.equal(r.configFile, file);
  });

  it('--config on the command line beats LAYERSTACK_CONFIG', () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ workers: 7 }));
    assert.equal(resolveArgv(COMMAND, ['-c', other], { LAYERSTACK_CONFIG: file }).values.workers, 7);
    assert.equal(resolveArgv(COMMAND, [`--config=${other}`], {}).values.workers, 7);
  });

  it('the canonical environment name beats its conventional alias; empty variables are unset', () => {
    assert.equal(resolveArgv(COMMAND, [], { WEB_CONCURRENCY: '3' }).values.workers, 3);
    assert.equal(resolveArgv(COMMAND, [], { WEB_CONCURRENCY: '3', LAYERSTACK_WORKERS: '6' }).values.workers, 6);
    assert.equal(resolveArgv(COMMAND, [], { LAYERSTACK_WORKERS: '' }).values.workers, 2);
  });

  it('HOST and PORT replace one half of the address; LAYERSTACK_LISTEN and --listen beat them', () => {
    assert.equal(resolveArgv(COMMAND, [], { PORT: '9000' }).values.listen, '127.0.0.1:9000');
    assert.equal(resolveArgv(COMMAND, [], { HOST: '::1', PORT: '9000' }).values.listen, '[::1]:9000');
    assert.equal(resolveArgv(COMMAND, [], { PORT: '9000', LAYERSTACK_LISTEN: '127.0.0.2:1' }).values.listen, '127.0.0.2:1');
    assert.equal(resolveArgv(COMMAND, ['-l', '127.0.0.3:2'], { PORT: '9000' }).values.listen, '127.0.0.3:2');
    assert.throws(() => resolveArgv(COMMAND, [], { PORT: 'x' }), (e: unknown) => e instanceof ConfigError && e.message === 'PORT (--listen): expected a port number from 1 to 65535, got "x"');
  });

  it('flag forms: --name value, --name=value, -s value, --no-switch, repeated lists, --', () => {
    const r = resolveArgv(COMMAND, ['-w', '3', '--read-timeout=2m', '-k', 'http', '--upstream', 'a:1', '--upstream=b:2,c:3', '--no-server-timing', '--cache-control', '/s/=public, max-age=60', '--', 'rest']
      .slice(0, -2), {});
    assert.equal(r.values.workers, 3);
    assert.equal(r.values.readTimeout, 120_000);
    assert.equal(r.values.engine, 'http');
    assert.deepEqual(r.values.upstream, ['a:1', 'b:2', 'c:3']);
    assert.deepEqual(r.values.cacheControl, ['/s/=public, max-age=60'], 'a ; list keeps commas');
    assert.equal(r.values.serverTiming, false);
    assert.equal(resolveArgv(COMMAND, ['--server-timing=yes'], {}).values.serverTiming, true);
  });
});

describe('ConfigError: one error naming the option and the accepted form', () => {
  const message = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
    try {
      resolveArgv(COMMAND, argv, env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail('no error');
  };

  it('the same message for every bad value of an option, with the range', () => {
    assert.equal(message(['--workers', 'abc']), '--workers: expected a whole number from 1 to 64, got "abc"');
    assert.equal(message(['--workers', '0']), '--workers: expected a whole number from 1 to 64, got "0"');
    assert.equal(message(['-w', '65']), '--workers: expected a whole number from 1 to 64, got "65"');
    assert.equal(message([], { WEB_CONCURRENCY: 'many' }), 'WEB_CONCURRENCY (--workers): expected a whole number from 1 to 64, got "many"');
    assert.match(message(['--read-timeout', '0']), /^--read-timeout: expected a duration such as 500ms, 30s or 2m \(a bare number is seconds\), at least 1ms, got "0"$/);
    assert.match(message(['--engine', 'gevent']), /^--engine: expected one of http, uws, got "gevent"$/);
  });

  it('names the file and key for a bad file value, and refuses unknown keys and flags', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ 'max-body-size': '1 MB' }));
    assert.match(message(['-c', file]), /^config file .*bad\.json: "max-body-size": expected a size such as 16k/);
    writeFileSync(file, JSON.stringify({ wrokers: 2 }));
    assert.match(message(['-c', file]), /"wrokers": expected an option name from `npm run example --help`/);
    writeFileSync(file, '{ not json');
    assert.match(message(['-c', file]), /^config file .*bad\.json: expected a readable JSON file/);
    assert.match(message(['-c', join(dir, 'missing.json')]), /expected a readable JSON file \(ENOENT\)/);
    assert.equal(message(['--wrokers', '2']), '--wrokers: expected an option from `npm run example --help`');
    assert.equal(message(['--workers']), '--workers: expected a value: a whole number from 1 to 64');
    assert.equal(message(['stray']), 'arguments: expected options only (see `npm run example --help`)'.replace('arguments', '"stray"'));
  });

  it('unknown prefixed environment variables are reported as ignored, not fatal', () => {
    const r = resolveArgv(COMMAND, [], { LAYERSTACK_WORKERS: '2', LAYERSTACK_FOO: '1', HOME: '/' });
    assert.deepEqual(r.ignoredEnv, ['LAYERSTACK_FOO']);
  });
});

describe('handing values to a child process', () => {
  it('environmentOf writes each set value under its canonical name, and reading it back gives the same values', () => {
    const values = resolveArgv(COMMAND, ['--workers', '5', '--read-timeout', '1500ms', '--upstream', 'a:1,b:2', '--cache-control', '/s/=public, max-age=60', '--server-timing'], {}).values;
    const env = environmentOf(OPTIONS, values);
    assert.equal(env.LAYERSTACK_WORKERS, '5', 'the canonical name, not the WEB_CONCURRENCY alias');
    assert.equal(env.LAYERSTACK_APP, undefined, 'unset values are left out');
    const back = resolveArgv(COMMAND, [], env).values;
    assert.deepEqual(back, values);
  });

  it('a secret is never printed back', () => {
    const secret = { name: 'x', summary: '', options: { url: text({ secret: true, default: undefined, help: '' }) } };
    const r = resolveArgv(secret, ['--url', 'postgres://u:hunter2@h/db']);
    assert.equal(r.values.url, 'postgres://u:hunter2@h/db');
    assert.doesNotMatch(printConfigText(secret, r), /hunter2/);
  });

  it('a config file may adjust what it gives (paths relative to the file), and refuses one-letter keys', () => {
    const withPaths = { name: 'x', summary: '', options: { root: text({ default: 'here', help: '', fromFile: (v: string, d: string) => join(d, v) }) } };
    const file = join(dir, 'paths.json');
    writeFileSync(file, JSON.stringify({ root: 'static' }));
    assert.equal(resolveArgv(withPaths, ['-c', file]).values.root, join(dir, 'static'));
    assert.equal(resolveArgv(withPaths, ['--root', 'static']).values.root, 'static', 'a flag stays as given');
    writeFileSync(file, JSON.stringify({ w: 2 }));
    assert.throws(() => resolveArgv(COMMAND, ['-c', file]), /"w": expected an option name/);
  });

  it('--no- only for switches, and a switch takes no separate value', () => {
    assert.throws(() => resolveArgv(COMMAND, ['--no-workers']), /^ConfigError: --no-workers: expected an option from/);
    assert.throws(() => resolveArgv(COMMAND, ['--server-timing', 'yes']), /"yes": expected options only/);
    assert.equal(resolveArgv(COMMAND, ['--server-timing=off']).values.serverTiming, false);
  });
});

describe('generated texts', () => {
  it('--help lists every option with flags, env names, default, form and trips', () => {
    const help = helpText(COMMAND);
    assert.match(help, /^Usage: npm run example -- \[options\]/);
    assert.match(help, /-w, --workers N\n\s+workers\n\s+default: 2 · env: LAYERSTACK_WORKERS, WEB_CONCURRENCY\n\s+accepts a whole number from 1 to 64/);
    assert.match(help, /--read-timeout DURATION[\s\S]*default: 60s · env: LAYERSTACK_READ_TIMEOUT[\s\S]*when it trips: 504 Gateway Timeout/);
    assert.match(help, /--server-timing, --no-server-timing/);
    assert.match(help, /-l, --listen ADDRESS[\s\S]*env: LAYERSTACK_LISTEN, HOST, PORT/);
    assert.match(help, /-c, --config FILE/);
    assert.match(help, /--print-config/);
  });

  it('--print-config shows every value in its grammar and its source', () => {
    const commandLine = parseCommandLine(COMMAND, ['--workers', '3', '--print-config']);
    assert.equal(commandLine.printConfig, true);
    const r = resolveOptions(COMMAND, commandLine, { LAYERSTACK_READ_TIMEOUT: '90', PORT: '8080' });
    const out = printConfigText(COMMAND, r);
    assert.match(out, /^--workers\s+3\s+\(flag --workers\)$/m);
    assert.match(out, /^--read-timeout\s+90s\s+\(env LAYERSTACK_READ_TIMEOUT\)$/m);
    assert.match(out, /^--listen\s+127\.0\.0\.1:8080\s+\(env PORT\)$/m);
    assert.match(out, /^--max-body-size\s+1m\s+\(default\)$/m);
    assert.match(out, /^--app\s+\(unset\)\s+\(default\)$/m);
  });

  it('refuses a declaration that reuses a reserved or taken flag', () => {
    const clash = { name: 'x', summary: '', options: { a: integer({ short: 'w', default: 1, help: '' }), b: integer({ short: 'w', default: 1, help: '' }) } };
    assert.throws(() => resolveArgv(clash, []), /declared twice/);
    const reserved = { name: 'x', summary: '', options: { a: integer({ short: 'c', default: 1, help: '' }) } };
    assert.throws(() => resolveArgv(reserved, []), /reserved/);
  });
});
