/**
 * The pool's configuration: flags, LAYERSTACK_* environment and a JSON file merge in that order of
 * priority; every mistake is a clear ConfigError; --help documents every option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, envName, helpText, limitsOf, OPTIONS, parseArgs, resolveConfig } from '../server/config.ts';

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
});
