/** The bench's command line: defaults, --quick, and a ConfigError naming the option and the accepted form for every mistake. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions } from '../bench/options.ts';
import { ConfigError } from '../options/index.ts';

describe('parseOptions', () => {
  it('has the documented defaults', () => {
    const o = parseOptions([]);
    assert.equal(o.loader, 'auto');
    assert.equal(o.connections, 64);
    assert.equal(o.durationSeconds, 10);
    assert.equal(o.rounds, 3);
    assert.equal(o.configs, undefined);
    assert.ok(o.scenarios.includes('refresh'));
  });

  it('--quick shortens everything, but explicit options win', () => {
    const q = parseOptions(['--quick']);
    assert.deepEqual([q.rounds, q.durationSeconds], [1, 1]);
    assert.deepEqual(q.scenarios, ['ping', 'hello', 'static-1k', 'static-100k', 'static-1m', 'cpu', 'slow-clients', 'crash', 'blocking', 'deploy']);
    const q2 = parseOptions(['--quick', '-d', '3', '--scenario', 'cpu', '--rounds=2']);
    assert.equal(parseOptions(['--quick', '--warmup', '0']).warmupSeconds, 0, 'an explicit value equal to the default still wins');
    assert.deepEqual([q2.rounds, q2.durationSeconds, q2.scenarios], [2, 3, ['cpu']]);
  });

  it('reads lists, targets and target paths', () => {
    const o = parseOptions(['--configurations', 'dev,stack-net', '--target', 'django=http://127.0.0.1:8100/', '--target-path', 'static-100k=/static/lib-100k.js', '--user', 'alice', '--password', 'x', '--baseline', 'django']);
    assert.deepEqual(o.configs, ['dev', 'stack-net']);
    assert.deepEqual(o.targets, [{ name: 'django', baseUrl: 'http://127.0.0.1:8100' }]);
    assert.deepEqual(o.targetPaths, { 'static-100k': '/static/lib-100k.js' });
    assert.equal(o.baseline, 'django');
  });

  const bad: [string[], RegExp][] = [
    [['--nope'], /^--nope: expected an option from `npm run bench --help`$/],
    [['extra'], /^"extra": expected options only/],
    [['--configurations', 'dev,prod'], /^--configurations: expected a list of one of dev, .*; "prod" is not one of them, got "dev,prod"$/],
    [['--scenario', 'pong'], /^--scenario: expected a list of one of ping, .*"pong" is not one of them/],
    [['--configurations'], /^--configurations: expected a value/],
    [['--connections', '0'], /^--connections: expected a whole number ≥ 1, got "0"$/],
    [['-c', 'bench.json', '-x'], /^-x: expected an option from/],
    [['-d', 'ten'], /^--duration: expected a duration such as 500ms, 30s or 2m \(a bare number is seconds\), at least 1s, got "ten"$/],
    [['--workers', '0'], /^--workers: expected a whole number from 1 to 1024, got "0"$/],
    [['--loader', 'ab'], /^--loader: expected one of auto, autocannon, wrk, got "ab"$/],
    [['--target', 'django'], /^--target: expected NAME=URL/],
    [['--target', 'dev=http://127.0.0.1:1'], /already a configuration or target name/],
    [['--target', 'x=ftp://h/'], /expected an http:\/\/ URL/],
    [['--target', 'x=not a url'], /^--target: expected NAME=URL with a URL/],
    [['--target-path', 'static-1k'], /^--target-path: expected SCENARIO=\/path/],
    [['--user', 'a'], /^--password: expected --user and --password together$/],
    [['--loader', 'wrk', '-p', '4'], /^--pipelining: expected 1 with --loader wrk/],
    [['--baseline', 'stack-net', '--configurations', 'dev'], /^--baseline: expected one of the configurations of this run \(dev\), got "stack-net"$/],
    [['--port-base', '80'], /^--port-base: expected a whole number from 1024 to 65471, got "80"$/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => {
      assert.throws(() => parseOptions(argv), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});
