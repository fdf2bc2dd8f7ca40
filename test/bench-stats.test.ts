/** The bench's arithmetic: medians, ratios paired by round, rotation, and the run summaries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runsRatio, summarise, type RunRecord } from '../bench/results.ts';
import { median, pairedRatio, rotated } from '../bench/stats.ts';

function run(config: string, scenario: string, round: number, rps: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    round, config, scenario, requests: rps * 10, seconds: 10, rps, mbps: 1,
    latencyMs: { p50: 1, p97_5: 2, p99: 3, max: 9 }, errors: 0, non2xx: 0,
    serverCpuSeconds: 1, serverCpuEstimated: false, cpuByLayer: { app: 1 }, cpuByRole: { workers: 1 }, cpuUsPerRequest: 1e6 / (rps * 10),
    rssBytes: 1e6, rssByLayer: { app: 1e6 }, loaderCpuPercent: 50, boxBusyPercent: 90, foreignCpuPercent: 0,
    quietWaitMs: 0, notQuiet: false, attempts: 1, contaminated: false, invalid: false, ...extra,
  };
}

describe('median', () => {
  it('takes the middle of an odd list and the mean of the middle two of an even one', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.ok(Number.isNaN(median([])));
  });
  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    assert.deepEqual(values, [3, 1, 2]);
  });
});

describe('pairedRatio', () => {
  it('is the median of per-round ratios, not the ratio of medians', () => {
    // Host speed drifts: round 2 is slow for both. Per round, a is always 2x b.
    const a = [200, 100, 220];
    const b = [100, 50, 110];
    assert.deepEqual(pairedRatio(a, b), { median: 2, min: 2, max: 2, pairs: 3 });
    // Ratio of medians would be 200/100 = 2 here too; make them differ:
    const c = [300, 60, 90];
    const d = [100, 30, 90];
    assert.equal(pairedRatio(c, d)!.median, 2); // rounds: 3, 2, 1
    assert.equal(median(c) / median(d), 1);
  });
  it('leaves out rounds where a side is missing or the denominator is zero', () => {
    assert.deepEqual(pairedRatio([10, undefined, 30, 5], [5, 5, undefined, 0]), { median: 2, min: 2, max: 2, pairs: 1 });
    assert.equal(pairedRatio([undefined], [1]), undefined);
    assert.equal(pairedRatio([], []), undefined);
  });
});

describe('rotated', () => {
  it('shifts the order by one place per round and wraps', () => {
    assert.deepEqual(rotated(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
    assert.deepEqual(rotated(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
    assert.deepEqual(rotated(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
    assert.deepEqual(rotated([], 3), []);
  });
});

describe('summarise', () => {
  const runs = [
    run('dev', 'ping', 0, 100), run('stack', 'ping', 0, 300),
    run('dev', 'ping', 1, 50), run('stack', 'ping', 1, 200),
    run('dev', 'ping', 2, 80), run('stack', 'ping', 2, 240, { non2xx: 3, invalid: true, contaminated: true }),
  ];
  const summaries = summarise(runs, 3, 'dev');
  const stack = summaries.find((s) => s.config === 'stack')!;

  it('gives medians over rounds and the paired ratio to the baseline', () => {
    assert.equal(stack.runs, 3);
    assert.equal(stack.rps, 240);
    assert.equal(stack.rpsMin, 200);
    assert.equal(stack.rpsMax, 300);
    assert.deepEqual(stack.vsBaseline, { median: 3, min: 3, max: 4, pairs: 3 });
    assert.equal(summaries.find((s) => s.config === 'dev')!.vsBaseline!.median, 1);
  });
  it('totals non-2xx and marks the whole row invalid when one run was', () => {
    assert.equal(stack.non2xx, 3);
    assert.equal(stack.invalid, true);
    assert.equal(stack.contaminatedRuns, 1);
    assert.equal(summaries.find((s) => s.config === 'dev')!.invalid, false);
  });
  it('has no baseline ratio for a scenario the baseline did not run', () => {
    const s = summarise([run('stack', 'static-1k', 0, 10)], 1, 'dev');
    assert.equal(s[0]!.vsBaseline, undefined);
  });
  it('pairs across scenarios for goals (hello vs ping on one server)', () => {
    const r = [run('s', 'ping', 0, 100), run('s', 'hello', 0, 90), run('s', 'ping', 1, 50), run('s', 'hello', 1, 40)];
    const ratio = runsRatio(r, 2, { config: 's', scenario: 'hello' }, { config: 's', scenario: 'ping' })!;
    assert.ok(Math.abs(ratio.median - 0.85) < 1e-9);
    assert.ok(Math.abs(ratio.min - 0.8) < 1e-9 && Math.abs(ratio.max - 0.9) < 1e-9);
    assert.equal(ratio.pairs, 2);
  });
});
