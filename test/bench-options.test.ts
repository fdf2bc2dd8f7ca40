/** The bench's command line: defaults, --quick, and a clear UsageError for every mistake. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions, UsageError } from '../bench/options.ts';

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
    assert.deepEqual([q2.rounds, q2.durationSeconds, q2.scenarios], [2, 3, ['cpu']]);
  });

  it('reads lists, targets and target paths', () => {
    const o = parseOptions(['--config', 'dev,stack-uws', '--target', 'django=http://127.0.0.1:8100/', '--target-path', 'static-100k=/static/lib-100k.js', '--user', 'alice', '--password', 'x', '--baseline', 'django']);
    assert.deepEqual(o.configs, ['dev', 'stack-uws']);
    assert.deepEqual(o.targets, [{ name: 'django', baseUrl: 'http://127.0.0.1:8100' }]);
    assert.deepEqual(o.targetPaths, { 'static-100k': '/static/lib-100k.js' });
    assert.equal(o.baseline, 'django');
  });

  const bad: [string[], RegExp][] = [
    [['--nope'], /unknown option "--nope"/],
    [['extra'], /unexpected argument "extra"/],
    [['--config', 'dev,prod'], /unknown config "prod"; known: dev,/],
    [['--scenario', 'pong'], /unknown scenario "pong"/],
    [['--config'], /--config needs a value/],
    [['-c', '0'], /--connections must be an integer ≥ 1/],
    [['-d', 'ten'], /--duration must be a number of seconds/],
    [['--loader', 'ab'], /--loader must be auto, autocannon or wrk/],
    [['--target', 'django'], /--target needs NAME=URL/],
    [['--target', 'dev=http://127.0.0.1:1'], /already a configuration or target name/],
    [['--target', 'x=ftp://h/'], /only http:\/\/ URLs/],
    [['--target', 'x=not a url'], /is not a URL/],
    [['--target-path', 'static-1k'], /--target-path needs SCENARIO=\/path/],
    [['--user', 'a'], /--user and --password go together/],
    [['--loader', 'wrk', '-p', '4'], /--pipelining > 1 needs --loader autocannon/],
    [['--baseline', 'stack-uws', '--config', 'dev'], /--baseline "stack-uws" is not among the configurations/],
    [['--port-base', '80'], /--port-base must be an integer ≥ 1024/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => {
      assert.throws(() => parseOptions(argv), (e: unknown) => e instanceof UsageError && message.test(e.message));
    });
  }
});
