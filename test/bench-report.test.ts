/**
 * The reports: RESULTS.md filling, the INVALID banner, HTML that escapes what it shows, and the
 * HTML's structure (conclusion, summary table with ratios, layer breakdown, one timeline per
 * fault run with the fault marked, method and caveats, disturbed marks, goals without issue
 * numbers); the fault analysis and the conclusion's verdicts from given figures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conclude } from '../bench/conclusion.ts';
import { normalTraffic, recoveryTimes, timeline } from '../bench/faults/analysis.ts';
import type { FaultRecord } from '../bench/faults/run-faults.ts';
import { FAULT_SCENARIOS } from '../bench/faults/scenarios.ts';
import type { RequestSample } from '../bench/faults/steady-client.ts';
import { htmlReport } from '../bench/report/html.ts';
import { markdownReport } from '../bench/report/markdown.ts';
import { BEGIN, END, withReport } from '../bench/report/results-file.ts';
import type { BenchResults, Summary } from '../bench/results.ts';
import { parseServerTiming } from '../bench/server-timing.ts';

const latency = { p50: 1, p97_5: 2, p99: 3, max: 4 };

function summary(config: string, scenario: string, rps: number, extra: Partial<Summary> = {}): Summary {
  return {
    config, scenario, runs: 1, rps, rpsMin: rps, rpsMax: rps, latencyMs: latency, mbps: 1, errors: 0, non2xx: 0, cpuUsPerRequest: 30,
    cpuUsPerRequestByLayer: { app: 30 }, cpuUsPerRequestByRole: {}, serverCpuEstimated: false, rssBytes: 1e8, rssBytesByLayer: { app: 1e8 },
    loaderCpuPercent: 50, invalid: false, contaminatedRuns: 0, vsBaseline: { median: 1, min: 1, max: 1, pairs: 1 }, ...extra,
  };
}

/** Samples of a steady client: 100/s for 4 s, failing between 1.0 and 1.5 s when `crash`. */
function samples(crash: boolean, slowFrom = Infinity): RequestSample[] {
  const out: RequestSample[] = [];
  for (let t = 0; t < 4000; t += 10) {
    const failed = crash && t >= 1000 && t < 1500;
    out.push({ dueMs: t, latencyMs: failed ? 2 : t >= slowFrom ? 120 : 1, ok: !failed, ...(failed ? { failure: 'ECONNRESET' } : {}) });
  }
  return out;
}

function fault(config: string, scenario: string, s: RequestSample[], marks: FaultRecord['marks'], headlineValue: number, unit: string, foreign = 0): FaultRecord {
  const plan = { durationMs: 4000, rate: 100, connections: 4, slowMs: 50, slowConnections: 300 };
  const normal = normalTraffic(s, 50);
  return {
    scenario, config, durationMs: 4000, plan, normal, underFault: normal, marks, timeline: timeline(s, 4000, 100), bucketMs: 100,
    recoveryMs: recoveryTimes(s, marks.filter((m) => m.untilMs === m.atMs), 50, 4000), counts: { crashRequests: 1 }, normalMs: 50, cpuByRole: { workers: 3 },
    headline: unit === '%'
      ? { value: headlineValue, unit, figure: 'normal requests failed', label: 'of normal requests failed' }
      : { value: headlineValue, unit, figure: 'median latency of normal requests under attack', label: 'median latency of normal requests under attack', tieBreak: headlineValue * 4, tieBreakLabel: 'p99' },
    foreignCpuPercent: foreign, notRecovered: false,
  };
}

function results(invalid: boolean): BenchResults {
  const partial: Omit<BenchResults, 'goals' | 'conclusion'> = {
    meta: {
      startedAt: '2026-11-29T12:00:00.000Z', finishedAt: '2026-11-29T12:01:00.000Z', command: 'npm run bench -- --quick',
      loader: 'wrk', loaderReason: 'wrk is installed', quick: true, foreignMaxPercent: 15, connections: 64, loginConnections: 4, pipelining: 1,
      durationSeconds: 2, warmupSeconds: 0.5, rounds: 1, workers: 2, baseline: 'dev', cpuCount: 2, cpuModel: 'CPU', versions: { node: 'v20' },
      notes: ['The loader (wrk) runs on the same 2 cores as the servers it measures.'],
    },
    configurations: [
      { name: 'dev', title: 'dev server', kind: 'dev', baseUrl: 'http://127.0.0.1:1', compiled: false, commands: [{ layer: 'app', argv: ['node', 'x.ts'] }], idleRss: [{ layer: 'app', role: 'dev process', pid: 1, bytes: 50 << 20 }] },
      { name: 'stack-net', title: 'stack', kind: 'stack', baseUrl: 'http://127.0.0.1:3', compiled: true, commands: [], idleRss: [{ layer: 'front', role: 'front', pid: 2, bytes: 40 << 20 }] },
      { name: 'x<y>', title: 'external', kind: 'target', baseUrl: 'http://127.0.0.1:2', compiled: false, commands: [], idleRss: [] },
    ],
    unavailable: [{ name: 'nginx-proxy', reason: 'nginx is not installed' }],
    scenarios: [
      { name: 'ping', title: 'GET /api/ping/' },
      { name: 'static-1k', title: 'static 1 KB' },
      { name: 'slow-clients', title: 'slow clients' },
      { name: 'crash', title: 'a crashing route' },
    ],
    applicability: [],
    runs: [],
    summaries: [
      summary('dev', 'ping', 1000, { cpuUsPerRequestByRole: { 'dev process': 25, reloader: 1 } }),
      summary('stack-net', 'ping', 800, { cpuUsPerRequestByRole: { front: 20, workers: 15, master: 0.1 }, vsBaseline: { median: 0.8, min: 0.8, max: 0.8, pairs: 1 }, contaminatedRuns: 1 }),
      summary('x<y>', 'ping', 500, { non2xx: invalid ? 7 : 0, invalid, serverCpuEstimated: true, cpuUsPerRequest: 90, vsBaseline: { median: 0.5, min: 0.5, max: 0.5, pairs: 1 } }),
      summary('dev', 'static-1k', 1000),
      summary('stack-net', 'static-1k', 20_000, { vsBaseline: { median: 20, min: 20, max: 20, pairs: 1 } }),
    ],
    faults: [
      fault('dev', 'slow-clients', samples(false, 1000), [{ atMs: 800, untilMs: 4000, label: '300 slow clients' }], 120, 'ms', 40),
      fault('stack-net', 'slow-clients', samples(false), [{ atMs: 800, untilMs: 4000, label: '300 slow clients' }], 1, 'ms'),
      fault('dev', 'crash', samples(true), [{ atMs: 1000, untilMs: 1000, label: 'uncaught exception' }], 12.5, '%'),
      fault('stack-net', 'crash', samples(false), [{ atMs: 1000, untilMs: 1000, label: 'uncaught exception' }], 0, '%'),
    ],
    timings: [{ config: 'stack-net', scenario: 'ping', meansUs: { app: 5, upstream: 300, proxy: 40 } }],
  };
  return { ...partial, goals: [{ goal: 'production vs x<y>: ping ≥ 4×', status: 'not measured', measured: '', note: 'needs ping × stack-net' }], conclusion: conclude(partial) };
}

describe('withReport (bench/RESULTS.md)', () => {
  const prose = `# Results\n\nMethod prose.\n\n${BEGIN}\nold tables\n${END}\n\nReading notes.\n`;
  it('replaces only what is between the markers and moves headings one level down', () => {
    const out = withReport(prose, '# Benchmark run X\n\n### GET /api/ping/\n| a |\n');
    assert.match(out, /^# Results\n\nMethod prose\.\n/);
    assert.match(out, /Reading notes\.\n$/);
    assert.doesNotMatch(out, /old tables/);
    assert.match(out, /^## Benchmark run X$/m);
    assert.match(out, /^#### GET \/api\/ping\/$/m);
  });
  it('appends the markers when the file has none', () => {
    const out = withReport('# Results\n', '# Run\n');
    assert.equal(out, `# Results\n\n${BEGIN}\n## Run\n${END}\n`);
  });
});

describe('fault analysis', () => {
  it('counts failures by kind, slices a timeline and times the recovery', () => {
    const s = samples(true);
    const n = normalTraffic(s, 50);
    assert.equal(n.errors, 50);
    assert.deepEqual(n.failures, { ECONNRESET: 50 });
    assert.equal(n.errorRate, 50 / 400);
    const t = timeline(s, 4000, 100);
    assert.equal(t.length, 40);
    assert.equal(t[12]!.errorsPerSecond, 100);
    assert.equal(t[20]!.okPerSecond, 100);
    // Requests due from 1000 to 1490 ms failed; the one due at 1500 ms starts a run of normal ones.
    assert.deepEqual(recoveryTimes(s, [{ atMs: 1000, untilMs: 1000, label: 'x' }], 50, 4000), [500]);
    assert.deepEqual(recoveryTimes(samples(false), [{ atMs: 1000, untilMs: 1000, label: 'x' }], 50, 4000), [0]);
    // A stray slow request long after the fault does not move the recovery.
    const stray = samples(true).map((x) => (x.dueMs === 3000 ? { ...x, latencyMs: 500 } : x));
    assert.deepEqual(recoveryTimes(stray, [{ atMs: 1000, untilMs: 1000, label: 'x' }], 50, 4000), [500]);
    // Never normal again before the end: the whole interval.
    assert.deepEqual(recoveryTimes(s, [{ atMs: 1200, untilMs: 1200, label: 'x' }, { atMs: 1400, untilMs: 1400, label: 'y' }], 50, 4000), [200, 100]);
  });
  it('decides slow clients on the median of normal requests under attack, with the p99 and the CPU beside it', () => {
    const slow = FAULT_SCENARIOS.find((f) => f.name === 'slow-clients')!;
    const under = normalTraffic(Array.from({ length: 100 }, (_, i) => ({ dueMs: i * 10, latencyMs: i === 99 ? 80 : 1 + i / 100, ok: true })), 50);
    const h = slow.headline(under, under, [], { front: 12, workers: 2, master: 0.5 }, {});
    assert.equal(h.value, under.p50);
    assert.equal(h.tieBreak, under.p99);
    assert.equal(h.tieBreakLabel, 'p99');
    assert.match(h.label, /^median latency of normal requests under attack \(p99 80\.0 ms\); the attack cost the app's own processes 3% of a core, the front 12%$/);
  });

  it('reads Server-Timing entries', () => {
    assert.deepEqual(parseServerTiming('app;dur=0.012, upstream;dur=0.5, proxy;dur=0.04'), { app: 0.012, upstream: 0.5, proxy: 0.04 });
    assert.deepEqual(parseServerTiming('cache;desc="hit"'), {});
  });
});

describe('conclusion', () => {
  it('says better, worse or same from the figures, with the figures', () => {
    const c = results(false).conclusion;
    const by = (s: string) => c.find((l) => l.scenario === s)!;
    assert.equal(by('slow-clients').verdict, 'better');
    assert.match(by('slow-clients').text, /1\.0 ms .*120 ms/);
    assert.equal(by('crash').verdict, 'better');
    assert.equal(by('static').verdict, 'better');
    assert.match(by('static').text, /1 KB at 20\.0×/);
    assert.equal(by('trivial').verdict, 'worse');
    assert.match(by('trivial').text, /front's hop is 20\.0 µs/);
    assert.match(by('trivial').text, /price/);
  });
});

describe('markdownReport', () => {
  it('puts an INVALID banner first when a row had non-2xx responses', () => {
    const md = markdownReport(results(true));
    assert.ok(md.indexOf('INVALID RESULTS') < md.indexOf('## Throughput'));
    assert.match(md, /ping × x<y>: 0 errors, 7 non-2xx/);
    assert.match(md, /\| x<y> \(\*\*INVALID\*\*\) \|/);
  });
  it('has the conclusion, fault tables, no banner for a clean run, and lists configurations that did not run', () => {
    const md = markdownReport(results(false));
    assert.doesNotMatch(md, /INVALID/);
    assert.match(md, /## Production vs development on this machine\n\n- \*\*production better\*\*: Slow clients/);
    assert.match(md, /\| dev \| 12\.5% \| 400 \| 50 \(12\.5%\) \| 50× ECONNRESET \|/);
    assert.match(md, /\| nginx-proxy \| not run: nginx is not installed/);
    assert.match(md, /\| dev \| 1\.00k \|/);
    assert.match(md, /≈90\.0/, 'estimated CPU of an external target is marked');
    assert.doesNotMatch(md, /issue \d/i);
  });
  it('splits the trivial routes\' CPU by process, with the app\'s own time beside it', () => {
    const md = markdownReport(results(false));
    assert.match(md, /## Where the microseconds go/);
    assert.match(md, /\| scenario \| configuration \| front \| reloader \| dev process \| master \| workers \| of which the app's own code \| total \|/);
    assert.match(md, /\| ping \| stack-net † \| 20\.0 \| — \| — \| 0\.1 \| 15\.0 \| 5\.0 \| 30\.0 \|/);
  });
});

describe('htmlReport', () => {
  it('escapes names and draws invalid rows hatched', () => {
    const html = htmlReport(results(true));
    assert.doesNotMatch(html, /x<y>/);
    assert.match(html, /x&lt;y&gt; \(INVALID\)/);
    assert.match(html, /fill="url\(#bad\)"/);
    assert.match(html, /class="invalid"/);
  });

  it('is offline and script-free, and reads top-down: conclusion, summary, breakdown, timelines, method', () => {
    const html = htmlReport(results(false));
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|(src|href)=["']?https?:|url\(\s*["']?https?:|@import/i, 'no scripts, nothing fetched from the network');
    const order = ['Production vs development on this machine', '<h2>Summary', '<h2>Where the microseconds go', '<h2>Fault timelines', '<h2>Throughput scenarios', '<h2>Goals', '<h2>Method and caveats', '<h2>Configurations'];
    const at = order.map((h) => html.indexOf(h));
    assert.ok(at.every((i) => i >= 0), `sections present: ${order.filter((_, i) => at[i]! < 0).join(', ')}`);
    assert.deepEqual([...at].sort((a, b) => a - b), at, 'sections in reading order');
    assert.doesNotMatch(html, /issue \d|<th>issue/i, 'goals are named by what they measure');
  });

  it('has a summary table of scenario × configuration with ratios to the dev server', () => {
    const html = htmlReport(results(false));
    const table = /<table class="summary">([\s\S]*?)<\/table>/.exec(html)![1]!;
    assert.match(table, /<th>dev<\/th><th>stack-net<\/th>/);
    assert.match(table, /20\.0k <span class="ratio">20\.00×<\/span>/);
    // The tie-break (the p99 for slow clients) stands beside the deciding figure: the conclusion uses it when the medians are within 10%.
    assert.match(table, /slow clients<\/td><td>median latency of normal requests under attack \(lower is better\)<\/td><td>120 ms <span class="small">\(p99 480 ms\)<\/span>†<\/td><td>1\.0 ms <span class="ratio">0\.01×<\/span> <span class="small">\(p99 4\.0 ms\)<\/span><\/td>/);
    assert.match(table, /800 <span class="ratio">0\.80×<\/span>†/, 'a disturbed window is marked');
  });

  it('draws the breakdown as stacked segments per process role, the app\'s own time split out of the workers', () => {
    const html = htmlReport(results(false));
    const section = html.slice(html.indexOf('<h2>Where the microseconds go'), html.indexOf('<h2>Fault timelines'));
    assert.match(section, /<title>stack-net, front: 20\.0 µs of CPU per request<\/title>/);
    assert.match(section, /<title>stack-net, workers: 10\.0 µs of CPU per request<\/title>/);
    assert.match(section, /<title>stack-net, app&#39;s own code: 5\.0 µs of CPU per request<\/title>/);
    assert.match(section, /<title>dev, dev process: 25\.0 µs of CPU per request<\/title>/);
    assert.match(section, /µs of CPU per request<\/text>/, 'the axis has its unit');
  });

  it('keeps a bar whole when the app\'s own wall time is not below its process\'s CPU, and says why', () => {
    const r = results(false);
    const html = htmlReport({ ...r, timings: [...r.timings, { config: 'dev', scenario: 'ping', meansUs: { app: 30 } }] });
    const section = html.slice(html.indexOf('<h2>Where the microseconds go'), html.indexOf('<h2>Fault timelines'));
    assert.match(section, /<title>dev, dev process: 25\.0 µs of CPU per request<\/title>/, 'the process keeps its whole CPU');
    assert.doesNotMatch(section, /<title>dev, app&#39;s own code/);
    assert.match(section, /dev<tspan class="note"> ‡<\/tspan>/);
    assert.match(section, /‡ dev: the app&#39;s own time 30\.0 µs \(wall\) ≥ the dev process&#39; CPU 25\.0 µs/);
    assert.match(section, /<title>stack-net, app&#39;s own code: 5\.0 µs of CPU per request<\/title>/, 'a smaller app time is still split out');
  });

  it('draws one timeline per fault run, full width, with axes, units and the fault marked', () => {
    const html = htmlReport(results(false));
    const section = html.slice(html.indexOf('<h2>Fault timelines'), html.indexOf('<h2>Throughput'));
    const svgs = section.match(/<svg[^>]*>/g) ?? [];
    assert.equal(svgs.length, 4);
    for (const svg of svgs) assert.match(svg, /viewBox="0 0 1000 \d+" width="100%"/);
    assert.match(section, /class="mark"/, 'an instant fault is a line');
    assert.match(section, /class="span"/, 'a lasting fault is a band');
    assert.match(section, /⚡ uncaught exception/);
    assert.match(section, /requests\/s<\/text>/);
    assert.match(section, /seconds since the normal client started/);
    assert.match(section, /fill="#c53030"/, 'failed requests drawn in red');
    assert.match(section, /† disturbed<\/b>: other processes used 40% of a core/);
  });

  it('explains the method, the shared cores and what "disturbed" means', () => {
    const html = htmlReport(results(false));
    const section = html.slice(html.indexOf('<h2>Method and caveats'));
    assert.match(section, /Disturbed \(†\)<\/b>: other processes/);
    assert.match(section, /runs on the same 2 cores as the servers/);
    assert.match(section, /compiled JavaScript from dist\/ as <code>npm start<\/code>/);
  });
});

describe('commands in reports', () => {
  it('shows paths relative to the project root and the run folder as $RUN_DIR (no machine paths)', async () => {
    const { shownCommand } = await import('../bench/report/format.ts');
    const { tmpdir } = await import('node:os');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../', import.meta.url));
    assert.equal(
      shownCommand(['node', '--import', 'tsx', 'proxy/cli.ts', '--static', `/static/=${root}app/static`, '-c', `${tmpdir()}/bench-run-Ab12Cd/nginx-static/nginx.conf`]),
      'node --import tsx proxy/cli.ts --static /static/=app/static -c $RUN_DIR/nginx-static/nginx.conf',
    );
  });
});
