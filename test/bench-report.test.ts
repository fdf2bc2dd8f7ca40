/** The reports: RESULTS.md filling, the INVALID banner, and HTML that escapes what it shows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { htmlReport } from '../bench/report/html.ts';
import { markdownReport } from '../bench/report/markdown.ts';
import { BEGIN, END, withReport } from '../bench/report/results-file.ts';
import type { BenchResults } from '../bench/results.ts';

function results(invalid: boolean): BenchResults {
  const latency = { p50: 1, p97_5: 2, p99: 3, max: 4 };
  return {
    meta: {
      startedAt: '2026-11-29T12:00:00.000Z', finishedAt: '2026-11-29T12:01:00.000Z', command: 'npm run bench -- --quick',
      loader: 'wrk', connections: 64, loginConnections: 4, pipelining: 1, durationSeconds: 2, warmupSeconds: 0.5, rounds: 1,
      workers: 2, baseline: 'dev', cpuCount: 2, cpuModel: 'CPU', versions: { node: 'v20' }, notes: [],
    },
    configurations: [
      { name: 'dev', title: 'dev server', kind: 'dev', baseUrl: 'http://127.0.0.1:1', commands: [{ layer: 'app', argv: ['node', 'x.ts'] }], idleRss: [{ layer: 'app', pid: 1, bytes: 50 << 20 }] },
      { name: 'x<y>', title: 'external', kind: 'target', baseUrl: 'http://127.0.0.1:2', commands: [], idleRss: [] },
    ],
    unavailable: [{ name: 'stack-uws', reason: 'proxy/cli.ts does not exist (yet)' }],
    scenarios: [{ name: 'ping', title: 'GET /api/ping/' }],
    applicability: [],
    runs: [],
    summaries: [
      { config: 'dev', scenario: 'ping', runs: 1, rps: 1000, rpsMin: 1000, rpsMax: 1000, latencyMs: latency, mbps: 1, errors: 0, non2xx: 0, cpuUsPerRequest: 30, cpuUsPerRequestByLayer: { app: 30 }, serverCpuEstimated: false, rssBytes: 1e8, rssBytesByLayer: { app: 1e8 }, loaderCpuPercent: 50, invalid: false, contaminatedRuns: 0, vsBaseline: { median: 1, min: 1, max: 1, pairs: 1 } },
      { config: 'x<y>', scenario: 'ping', runs: 1, rps: 500, rpsMin: 500, rpsMax: 500, latencyMs: latency, mbps: 1, errors: 0, non2xx: invalid ? 7 : 0, cpuUsPerRequest: 90, cpuUsPerRequestByLayer: {}, serverCpuEstimated: true, rssBytes: 0, rssBytesByLayer: {}, loaderCpuPercent: 50, invalid, contaminatedRuns: 0, vsBaseline: { median: 0.5, min: 0.5, max: 0.5, pairs: 1 } },
    ],
    goals: [{ issue: 6, goal: 'prod stack ≥ 4× x<y> on ping', status: 'not measured', measured: '', note: 'needs ping × stack-uws' }],
  };
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

describe('markdownReport', () => {
  it('puts an INVALID banner first when a row had non-2xx responses', () => {
    const md = markdownReport(results(true));
    assert.ok(md.indexOf('INVALID RESULTS') < md.indexOf('## Results'));
    assert.match(md, /ping × x<y>: 0 errors, 7 non-2xx/);
    assert.match(md, /\| x<y> \(\*\*INVALID\*\*\) \|/);
  });
  it('has no banner for a clean run, and lists configurations that did not run', () => {
    const md = markdownReport(results(false));
    assert.doesNotMatch(md, /INVALID/);
    assert.match(md, /\| stack-uws \| not run: proxy\/cli\.ts does not exist \(yet\)/);
    assert.match(md, /\| dev \| 1\.00k \|/);
    assert.match(md, /≈90\.0/, 'estimated CPU of an external target is marked');
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
});
