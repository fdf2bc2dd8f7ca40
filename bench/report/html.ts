/**
 * The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network) that a
 * browser opens offline. Per scenario, horizontal bar charts of req/s, latency (p50 / p97.5 / p99)
 * and server CPU per request, one bar group per configuration; invalid rows are drawn hatched red.
 */
import type { BenchResults, Summary } from '../results.ts';
import { ms, rate, times, us } from './format.ts';

const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

interface Series {
  name: string;
  color: string;
}

interface Row {
  label: string;
  values: number[];
  invalid: boolean;
}

const BAR = 14;
const GAP = 10;
const LABEL_WIDTH = 170;
const PLOT_WIDTH = 430;
const VALUE_WIDTH = 90;

/** One horizontal bar chart as an SVG element. */
export function barChart(title: string, series: Series[], rows: Row[], format: (n: number) => string): string {
  const max = Math.max(0, ...rows.flatMap((r) => r.values.filter(Number.isFinite)));
  const groupHeight = series.length * BAR + GAP;
  const height = 28 + rows.length * groupHeight + 18;
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">`,
    `<text x="0" y="16" class="t">${escape(title)}</text>`,
  ];
  rows.forEach((row, i) => {
    const y0 = 28 + i * groupHeight;
    parts.push(`<text x="${LABEL_WIDTH - 6}" y="${y0 + (series.length * BAR) / 2 + 4}" text-anchor="end">${escape(row.label)}</text>`);
    series.forEach((s, j) => {
      const v = row.values[j] ?? Number.NaN;
      const w = Number.isFinite(v) && max > 0 ? Math.max(1, (v / max) * PLOT_WIDTH) : 0;
      const y = y0 + j * BAR;
      const fill = row.invalid ? 'url(#bad)' : s.color;
      parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${w.toFixed(1)}" height="${BAR - 2}" fill="${fill}"><title>${escape(`${row.label} ${s.name}: ${format(v)}`)}</title></rect>`);
      parts.push(`<text x="${LABEL_WIDTH + w + 4}" y="${y + BAR - 4}" class="v">${escape(format(v))}</text>`);
    });
  });
  const ly = height - 6;
  series.forEach((s, j) => {
    if (series.length === 1) return;
    const x = LABEL_WIDTH + j * 110;
    parts.push(`<rect x="${x}" y="${ly - 9}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${ly}" class="v">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function scenarioSection(r: BenchResults, scenario: { name: string; title: string }): string {
  const order = r.configurations.map((c) => c.name);
  const rows: Summary[] = r.summaries.filter((s) => s.scenario === scenario.name).sort((a, b) => order.indexOf(a.config) - order.indexOf(b.config));
  const skipped = r.applicability.filter((a) => a.scenario === scenario.name && a.status !== 'measured');
  if (rows.length === 0 && skipped.length === 0) return '';
  const label = (s: Summary) => `${s.config}${s.invalid ? ' (INVALID)' : ''}`;
  const charts = rows.length === 0 ? '' : [
    barChart('requests per second (median)', [{ name: 'req/s', color: '#2b6cb0' }], rows.map((s) => ({ label: label(s), values: [s.rps], invalid: s.invalid })), rate),
    barChart(
      'latency, ms (medians of the rounds)',
      [{ name: 'p50', color: '#38a169' }, { name: 'p97.5', color: '#d69e2e' }, { name: 'p99', color: '#c53030' }],
      rows.map((s) => ({ label: label(s), values: [s.latencyMs.p50, s.latencyMs.p97_5, s.latencyMs.p99], invalid: s.invalid })),
      ms,
    ),
    barChart('server CPU µs per request (lower is better)', [{ name: 'µs/req', color: '#6b46c1' }], rows.map((s) => ({ label: label(s), values: [s.cpuUsPerRequest], invalid: s.invalid })), us),
  ].join('\n');
  const ratios = rows.length === 0 ? '' : `<p class="ratios">vs ${escape(r.meta.baseline)}: ${rows.map((s) => `${escape(s.config)} ${times(s.vsBaseline?.median)}`).join(' · ')}</p>`;
  const notes = skipped.map((a) => `<li class="${a.status}">${a.status === 'failed' ? 'FAILED' : 'skipped'} on ${escape(a.config)}: ${escape(a.reason)}</li>`).join('');
  return `<section><h2>${escape(scenario.title)}</h2>${ratios}<div class="charts">${charts}</div>${notes ? `<ul>${notes}</ul>` : ''}</section>`;
}

/** The whole report as one HTML document. */
export function htmlReport(r: BenchResults): string {
  const m = r.meta;
  const invalid = r.summaries.filter((s) => s.invalid);
  const banner = invalid.length
    ? `<p class="invalid">INVALID RESULTS (errors or non-2xx): ${invalid.map((s) => escape(`${s.scenario} × ${s.config}`)).join(', ')}</p>`
    : '';
  const goals = r.goals.length
    ? `<section><h2>Speed goals of the issues</h2><table><tr><th>issue</th><th>goal</th><th>result</th><th>measured</th><th>note</th></tr>${r.goals
        .map((g) => `<tr class="${g.status.replace(' ', '-')}"><td>${g.issue}</td><td>${escape(g.goal)}</td><td>${g.status}</td><td>${escape(g.measured)}</td><td>${escape(g.note)}</td></tr>`)
        .join('')}</table></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Benchmark ${escape(m.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1a202c;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
svg text{font:12px system-ui,sans-serif;fill:#1a202c}svg text.t{font-weight:600}svg text.v{fill:#4a5568}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}
.invalid{background:#fed7d7;border:2px solid #c53030;padding:.6em;font-weight:600}
table{border-collapse:collapse}td,th{border:1px solid #cbd5e0;padding:.25em .5em;text-align:left}
tr.pass td:nth-child(3){color:#276749}tr.fail td:nth-child(3),tr.invalid td:nth-child(3){color:#c53030;font-weight:600}
li.failed{color:#c53030}.meta{color:#4a5568}
</style></head><body>
<svg width="0" height="0" style="position:absolute"><defs><pattern id="bad" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#c53030"/></pattern></defs></svg>
<h1>Benchmark run ${escape(m.startedAt)}</h1>
<p class="meta">${escape(m.command)}<br>loader ${escape(m.loader)}, ${m.connections} connections, ${m.rounds} round(s) × ${m.durationSeconds} s, baseline ${escape(m.baseline)}, ${m.cpuCount} × ${escape(m.cpuModel)}</p>
${banner}
${r.scenarios.map((s) => scenarioSection(r, s)).join('\n')}
${goals}
</body></html>
`;
}
