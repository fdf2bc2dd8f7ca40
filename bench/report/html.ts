/**
 * The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network) that a
 * browser opens offline. In reading order: the conclusion, a summary table (scenario ×
 * configuration, ratios to the dev server), where the microseconds go (per-layer CPU of the
 * trivial routes), a timeline per fault scenario and configuration, the throughput charts, the
 * goals, then method and caveats and what ran. Invalid rows are drawn hatched red; windows
 * disturbed by other processes are marked † and explained.
 */
import type { FaultRecord } from '../faults/run-faults.ts';
import type { BenchResults, Summary } from '../results.ts';
import { barChart, escape, stackedBarChart, timelineChart, type Series } from './charts.ts';
import { mb, ms, rate, shownCommand, times, us } from './format.ts';

export { barChart } from './charts.ts';

const DISTURBED = '†';
/** Marks a bar whose app's own time could not be split out of its process's CPU (see breakdownSection). */
const NOT_SPLIT = '‡';

/** Colours of the process roles in the breakdown, front to back. */
const ROLE_COLORS: Record<string, string> = {
  front: '#dd6b20',
  supervisor: '#a0aec0',
  reloader: '#a0aec0',
  master: '#718096',
  workers: '#2b6cb0',
  'dev process': '#553c9a',
  app: '#2b6cb0',
  "app's own code": '#38a169',
};

function faultDisturbed(f: FaultRecord, threshold: number): boolean {
  return f.foreignCpuPercent > threshold;
}

function formatHeadline(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === '%') return `${value.toFixed(1)}%`;
  if (unit === '% of a core') return `${value.toFixed(0)}% of a core`;
  if (unit === 'ms') return `${value >= 100 ? value.toFixed(0) : value < 1 ? value.toFixed(2) : value.toFixed(1)} ms`;
  if (unit === 'failed') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${Math.round(value)} ${unit}`;
}

function summaryTable(r: BenchResults, threshold: number): string {
  const configs = r.configurations.map((c) => c.name);
  const used = configs.filter((c) => r.summaries.some((s) => s.config === c) || r.faults.some((f) => f.config === c));
  const head = `<tr><th>scenario</th><th>figure</th>${used.map((c) => `<th>${escape(c)}</th>`).join('')}</tr>`;
  const rows: string[] = [];
  for (const sc of r.scenarios) {
    const throughput = r.summaries.filter((s) => s.scenario === sc.name);
    const faults = r.faults.filter((f) => f.scenario === sc.name);
    if (throughput.length === 0 && faults.length === 0) continue;
    if (throughput.length) {
      const cells = used.map((c) => {
        const s = throughput.find((x) => x.config === c);
        if (!s) return '<td class="na">—</td>';
        const ratio = c === r.meta.baseline ? '' : ` <span class="ratio">${times(s.vsBaseline?.median)}</span>`;
        return `<td class="${s.invalid ? 'bad' : ''}">${rate(s.rps)}${ratio}${s.contaminatedRuns ? DISTURBED : ''}${s.invalid ? ' INVALID' : ''}</td>`;
      });
      rows.push(`<tr><td>${escape(sc.title)}</td><td>req/s (higher is better)</td>${cells.join('')}</tr>`);
    } else {
      const base = faults.find((f) => f.config === r.meta.baseline);
      const cells = used.map((c) => {
        const f = faults.find((x) => x.config === c);
        if (!f) return '<td class="na">—</td>';
        const ratio = c === r.meta.baseline || !base || !(base.headline.value > 0) ? '' : ` <span class="ratio">${times(f.headline.value / base.headline.value)}</span>`;
        const tie = f.headline.tieBreak !== undefined && f.headline.tieBreakLabel ? ` <span class="small">(${escape(f.headline.tieBreakLabel)} ${formatHeadline(f.headline.tieBreak, 'ms')})</span>` : '';
        return `<td>${formatHeadline(f.headline.value, f.headline.unit)}${ratio}${tie}${faultDisturbed(f, threshold) ? DISTURBED : ''}${f.notRecovered ? ' NOT SERVING AFTER' : ''}</td>`;
      });
      rows.push(`<tr><td>${escape(sc.title)}</td><td>${escape(faults[0]!.headline.figure ?? faults[0]!.headline.unit)} (lower is better)</td>${cells.join('')}</tr>`);
    }
  }
  return `<table class="summary">${head}${rows.join('')}</table>
<p class="small">Ratios (×) are against <b>${escape(r.meta.baseline)}</b> on the same row: for req/s above 1× is better, for the fault figures below 1× is better. ${DISTURBED} = a window disturbed by other processes (see Method and caveats).</p>`;
}

function breakdownSection(r: BenchResults): string {
  const charts: string[] = [];
  for (const scenario of ['ping', 'hello']) {
    const rows = r.summaries.filter((s) => s.scenario === scenario && !s.serverCpuEstimated && Object.keys(s.cpuUsPerRequestByRole).length);
    if (rows.length === 0) continue;
    const partNames = new Set<string>();
    const unsplit: string[] = [];
    const data = rows.map((s) => {
      const values: Record<string, number> = { ...s.cpuUsPerRequestByRole };
      // The app's own time (Server-Timing app;dur, wall time of the app's code) split out of the process that ran it.
      const appUs = r.timings.find((t) => t.config === s.config && t.scenario === scenario)?.meansUs.app;
      const host = values.workers !== undefined ? 'workers' : values['dev process'] !== undefined ? 'dev process' : undefined;
      let note = s.contaminatedRuns ? DISTURBED : '';
      if (appUs !== undefined && host !== undefined) {
        if (appUs < values[host]!) {
          values["app's own code"] = appUs;
          values[host] = values[host]! - appUs;
        } else {
          // Wall time at least the whole process's CPU: the app's span includes time off the CPU
          // (waiting for a core, the event loop's other work), so it says nothing of how the CPU
          // divides. Splitting it out would leave the engine's part at zero: the bar stays whole.
          note += ` ${NOT_SPLIT}`;
          unsplit.push(`${s.config}: the app's own time ${us(appUs)} µs (wall) ≥ the ${host}' CPU ${us(values[host]!)} µs`);
        }
      }
      for (const [k, v] of Object.entries(values)) if (v > 0.05) partNames.add(k);
      return { label: s.config, values, note: note.trim() || undefined };
    });
    const order = Object.keys(ROLE_COLORS);
    const parts: Series[] = [...partNames].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99)).map((name) => ({ name, color: ROLE_COLORS[name] ?? '#805ad5' }));
    const title = r.scenarios.find((s) => s.name === scenario)?.title ?? scenario;
    charts.push(stackedBarChart(`${title}: server CPU per request by process`, 'µs of CPU per request', parts, data, us));
    if (unsplit.length) {
      charts.push(
        `<p class="small">${NOT_SPLIT} ${escape(unsplit.join('; '))}. Server-Timing measures the app's span in wall time, which here includes time off the CPU (waiting for a core shared with the loader and the other processes), so the app's share of that process's CPU is not known: the bar shows the process's whole CPU, the app's own code included.</p>`,
      );
    }
  }
  if (charts.length === 0) return '';
  const prod = r.summaries.find((s) => s.config === 'stack-net' && s.scenario === 'ping');
  const nginx = r.summaries.find((s) => s.config === 'nginx-proxy' && s.scenario === 'ping');
  const dev = r.summaries.find((s) => s.config === 'dev' && s.scenario === 'ping');
  const front = prod?.cpuUsPerRequestByRole.front;
  const figures =
    prod && dev && front !== undefined
      ? `<p>On this run the production stack spent ${us(prod.cpuUsPerRequest)} µs of server CPU per ping against ${us(dev.cpuUsPerRequest)} µs for the dev server; the front's share was ${us(front)} µs${nginx?.cpuUsPerRequestByRole.front !== undefined ? `, where Nginx in the same place spent ${us(nginx.cpuUsPerRequestByRole.front)} µs in front of the same app server` : ''}.</p>`
      : '';
  return `<section id="breakdown"><h2>Where the microseconds go</h2>
${charts.join('\n')}
${figures}
<p>A trivial route measures nothing but the layers. Each request through the production stack crosses one more process: the front reads it, checks it against its limits, forwards it over a kept-alive upstream connection and copies the answer back, about as much work again as the app server's own parsing and writing. "app's own code" is the app's time as the app server reports it in <code>Server-Timing: app;dur=…</code> (wall time, close to CPU time for these synchronous routes); the rest of the workers' bar is the engine around it. The master only supervises: it costs next to nothing per request.</p>
<p>Why pay for the hop: the front is what turns away slow and malformed clients before they reach the app, serves static files from memory, retries and balances across workers, and lets the app server restart workers (crashes, deploys) behind a listener that never closes. The fault scenarios below show what that buys; on a route that does nothing, the price is all that shows.</p>
</section>`;
}

function faultSection(r: BenchResults, threshold: number): string {
  if (r.faults.length === 0) return '';
  const blocks: string[] = [];
  for (const sc of r.scenarios) {
    const faults = r.faults.filter((f) => f.scenario === sc.name);
    if (faults.length === 0) continue;
    const charts = faults.map((f) => {
      const n = f.normal;
      const kinds = Object.entries(n.failures).map(([k, v]) => `${v}× ${k}`).join(', ');
      const recovery = f.recoveryMs.length ? ` Back to normal (20 requests in a row answered within ${Math.round(f.normalMs ?? f.plan.slowMs)} ms${f.normalMs !== undefined ? ', twice the p99 before the fault' : ''}) ${f.recoveryMs.map((x) => `${Math.round(x)} ms`).join(', ')} after each fault.` : '';
      const counts = Object.entries(f.counts).map(([k, v]) => `${k} ${v}`).join(', ');
      const disturbed = faultDisturbed(f, threshold) ? ` <b>${DISTURBED} disturbed</b>: other processes used ${f.foreignCpuPercent.toFixed(0)}% of a core during this run.` : '';
      return `<figure>${timelineChart({ title: `${sc.title} on ${f.config}`, durationMs: f.durationMs, bucketMs: f.bucketMs, buckets: f.timeline, marks: f.marks })}
<figcaption><b>${escape(f.config)}</b>: ${formatHeadline(f.headline.value, f.headline.unit)} ${escape(f.headline.label)}. ${n.requests} normal requests at ${f.plan.rate}/s over ${f.plan.connections} connections, ${n.errors} failed${kinds ? ` (${escape(kinds)})` : ''}; p50 ${ms(f.underFault.p50)} ms, p99 ${ms(f.underFault.p99)} ms${f.underFault !== f.normal && f.underFault.requests !== n.requests ? ' under the fault' : ''}, slowest ${ms(n.max)} ms.${recovery} <span class="small">${escape(counts)}</span>${disturbed}${f.notRecovered ? ' <b>The configuration was not serving again within 20 s.</b>' : ''}</figcaption></figure>`;
    });
    const question = FAULT_QUESTIONS[sc.name] ?? '';
    blocks.push(`<h3>${escape(sc.title)}</h3><p>${escape(question)}</p>${charts.join('\n')}`);
  }
  return `<section id="faults"><h2>Fault timelines</h2><p>A steady client sends ordinary requests (GET /api/ping/) at a fixed rate and never retries; a request held back by a stalled connection counts from when it was due, so a stall shows in full (one sent on time, from when it was sent). The fault is marked in orange.</p>${blocks.join('\n')}</section>`;
}

/** One sentence per fault scenario (kept here so an old JSON file renders without the registry). */
const FAULT_QUESTIONS: Record<string, string> = {
  'slow-clients': 'Hundreds of connections trickle their request heads and bodies one byte at a time: how slow do normal requests get meanwhile?',
  crash: 'Some requests (POSTs) kill the process that serves them (an uncaught exception in a callback, then process.exit): how many normal requests fail, and how long until service is normal again? The crashing requests are POSTs: a front retries an idempotent request whose reused upstream connection died without an answer (as Nginx does), so a crashing GET is sent again on a fresh connection and takes a second worker down with it.',
  blocking: 'Some requests block their event loop for 200 ms: how many normal requests are delayed or fail meanwhile?',
  deploy: 'The code changes while requests keep coming (the dev server reloads; the app server gets SIGHUP): how many fail, and how high does latency spike?',
};

function throughputSection(r: BenchResults, scenario: { name: string; title: string }): string {
  const order = r.configurations.map((c) => c.name);
  const rows: Summary[] = r.summaries.filter((s) => s.scenario === scenario.name).sort((a, b) => order.indexOf(a.config) - order.indexOf(b.config));
  const skipped = r.applicability.filter((a) => a.scenario === scenario.name && a.status !== 'measured');
  if (rows.length === 0 && skipped.length === 0) return '';
  const note = (s: Summary) => (s.contaminatedRuns ? DISTURBED : undefined);
  const charts = rows.length === 0 ? '' : [
    barChart('throughput', 'requests per second (median of the rounds)', [{ name: 'req/s', color: '#2b6cb0' }], rows.map((s) => ({ label: s.config, values: [s.rps], invalid: s.invalid, note: note(s) })), rate),
    barChart(
      'latency',
      'milliseconds',
      [{ name: 'p50', color: '#38a169' }, { name: 'p97.5', color: '#d69e2e' }, { name: 'p99', color: '#c53030' }],
      rows.map((s) => ({ label: s.config, values: [s.latencyMs.p50, s.latencyMs.p97_5, s.latencyMs.p99], invalid: s.invalid, note: note(s) })),
      ms,
    ),
    barChart('server CPU per request (lower is better)', 'µs of CPU per request', [{ name: 'µs/req', color: '#6b46c1' }], rows.map((s) => ({ label: s.config, values: [s.cpuUsPerRequest], invalid: s.invalid, note: note(s) })), us),
  ].map((c) => `<div class="chart">${c}</div>`).join('\n');
  const notes = skipped.map((a) => `<li class="${a.status}">${a.status === 'failed' ? 'FAILED' : 'skipped'} on ${escape(a.config)}: ${escape(a.reason)}</li>`).join('');
  return `<section><h3>${escape(scenario.title)}</h3><div class="charts">${charts}</div>${notes ? `<ul>${notes}</ul>` : ''}</section>`;
}

function methodSection(r: BenchResults, threshold: number): string {
  const m = r.meta;
  const notes = m.notes.map((n) => `<li>${escape(n)}</li>`).join('');
  return `<section id="method"><h2>Method and caveats</h2><ul>
<li>Every configuration runs at the same time on this machine (${m.cpuCount} × ${escape(m.cpuModel)}), each in its own process groups; scenarios run one configuration at a time, the order rotated per round, and ratios are taken between windows of the same round.</li>
<li>Throughput: ${escape(m.loader)} (${escape(m.loaderReason)}), ${m.connections} connections (CPU route: at most 16), ${m.rounds} round(s) of ${m.durationSeconds} s after a ${m.warmupSeconds} s warm-up. Server CPU per request is the CPU time of the configuration's whole process tree during the window divided by the responses, split by process from /proc.</li>
<li>Faults: a separate steady client (${r.faults[0] ? `${r.faults[0].plan.rate} requests/s over ${r.faults[0].plan.connections} keep-alive connections` : 'fixed rate'}, no retries) measures normal traffic while the fault runs; slow clients come from a separate process, at most 1000 connections; every fault is bounded in time and touches only 127.0.0.1.</li>
<li>The production configurations run compiled JavaScript from dist/ as <code>npm start</code> does; the dev server runs through tsx as <code>npm run dev</code> does, with the fault routes of <code>createDemoAppWithFaults()</code>, which no deployed stack serves.</li>
<li><b>Disturbed (${DISTURBED})</b>: other processes on the machine (not the bench, not its configurations) used more than ${threshold}% of a core during the window. Those figures include someone else's load; the side-by-side ratios suffer less than the absolute figures.</li>
${notes}
</ul></section>`;
}

function configurationsSection(r: BenchResults): string {
  const rows = r.configurations.map((c) => {
    const rss = c.idleRss.length ? c.idleRss.map((p) => `${escape(p.role ?? p.layer)} ${mb(p.bytes)}`).join(', ') : '—';
    const cmd = c.commands.length ? [...c.commands].reverse().map((x) => `<code>${escape(shownCommand(x.argv))}</code>`).join(' → ') : escape(c.baseUrl);
    return `<tr><td>${escape(c.name)}</td><td>${escape(c.title)}</td><td>${rss}</td><td class="cmd">${cmd}</td></tr>`;
  });
  for (const u of r.unavailable) rows.push(`<tr><td>${escape(u.name)}</td><td colspan="3">not run: ${escape(u.reason)}</td></tr>`);
  return `<section id="configurations"><h2>Configurations</h2><table><tr><th>name</th><th>what</th><th>idle RSS per process</th><th>command (front → back)</th></tr>${rows.join('')}</table>
<p class="small">${Object.entries(r.meta.versions).map(([k, v]) => `${escape(k)} ${escape(v)}`).join(' · ')}</p></section>`;
}

/** The whole report as one HTML document. */
export function htmlReport(r: BenchResults): string {
  const m = r.meta;
  const foreignMaxPercent = m.foreignMaxPercent ?? 15;
  const invalid = r.summaries.filter((s) => s.invalid);
  const banner = invalid.length
    ? `<p class="invalid">INVALID RESULTS (errors or non-2xx): ${invalid.map((s) => escape(`${s.scenario} × ${s.config}`)).join(', ')}</p>`
    : '';
  const conclusion = (r.conclusion ?? []).length
    ? `<section class="conclusion"><h2>Production vs development on this machine</h2><ul>${r.conclusion
        .map((c) => `<li class="${c.verdict.replace(' ', '-')}"><b>${c.verdict === 'better' ? 'production better' : c.verdict === 'worse' ? 'production worse' : escape(c.verdict)}</b>: ${escape(c.text)}.</li>`)
        .join('')}</ul></section>`
    : '';
  const measuredGoals = r.goals.filter((g) => g.status !== 'not measured');
  const unmeasured = r.goals.filter((g) => g.status === 'not measured');
  const goals = r.goals.length
    ? `<section id="goals"><h2>Goals</h2>${measuredGoals.length ? `<table><tr><th>goal</th><th>result</th><th>measured</th><th>note</th></tr>${measuredGoals
        .map((g) => `<tr class="${g.status.replace(' ', '-')}"><td>${escape(g.goal)}</td><td>${g.status}</td><td>${escape(g.measured)}</td><td>${escape(g.note)}</td></tr>`)
        .join('')}</table>` : ''}${unmeasured.length ? `<p class="small">Not measured in this run (a side is missing): ${unmeasured.map((g) => `${escape(g.goal)} (${escape(g.note)})`).join('; ')}.</p>` : ''}</section>`
    : '';
  const throughput = r.scenarios.filter((s) => r.summaries.some((x) => x.scenario === s.name) || r.applicability.some((a) => a.scenario === s.name && a.status !== 'measured' && !r.faults.some((f) => f.scenario === s.name)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Benchmark ${escape(m.startedAt)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em 2em;color:#1a202c}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #cbd5e0}h3{font-size:1.05em;margin-top:1.4em}
svg{display:block;margin:.4em 0}svg text{font:13px system-ui,sans-serif;fill:#1a202c}svg text.t{font-weight:600;font-size:14px}svg text.v,svg text.tick{fill:#4a5568;font-size:12px}
svg text.unit{fill:#4a5568;font-size:12px;font-style:italic}svg text.in{fill:#fff;font-size:12px}svg text.marklabel{fill:#c05621;font-size:12px;font-weight:600}svg tspan.note{fill:#c05621}
svg .axis{stroke:#4a5568;stroke-width:1}svg .grid{stroke:#e2e8f0;stroke-width:1}svg .mark{stroke:#dd6b20;stroke-width:2;stroke-dasharray:5 3}svg .span{fill:#fbd38d;opacity:.45}
.charts{display:block}.chart{margin-bottom:.8em}
figure{margin:1em 0}figcaption{font-size:.93em;color:#2d3748}
.invalid{background:#fed7d7;border:2px solid #c53030;padding:.6em;font-weight:600}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #cbd5e0;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#edf2f7}
table.summary td:nth-child(n+3){text-align:right;white-space:nowrap}.ratio{color:#4a5568;font-size:.9em}td.na{color:#a0aec0}td.bad{color:#c53030}
tr.pass td:nth-child(2){color:#276749}tr.fail td:nth-child(2),tr.invalid td:nth-child(2){color:#c53030;font-weight:600}
.conclusion{background:#f7fafc;border:1px solid #cbd5e0;padding:.2em 1em .6em}.conclusion h2{border:0}
li.better b{color:#276749}li.worse b{color:#c53030}li.same b,li.not-measured b{color:#4a5568}li.failed{color:#c53030}
.meta,.small{color:#4a5568;font-size:.9em}td.cmd{font-size:.85em}code{font-size:.92em}
</style></head><body>
<svg width="0" height="0" style="position:absolute"><defs><pattern id="bad" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#c53030"/></pattern></defs></svg>
<h1>What each layer buys: benchmark of ${escape(m.startedAt.slice(0, 16).replace('T', ' '))} UTC</h1>
<p class="meta"><code>${escape(m.command)}</code> · loader ${escape(m.loader)} (${escape(m.loaderReason ?? '')}) · ${m.cpuCount} × ${escape(m.cpuModel)} · production = front + ${m.workers} app server workers${m.quick ? ' · <b>--quick</b>: short windows, a first look' : ''}</p>
${banner}
${conclusion}
<section id="summary"><h2>Summary</h2>${summaryTable(r, foreignMaxPercent)}</section>
${breakdownSection(r)}
${faultSection(r, foreignMaxPercent)}
${throughput.length ? `<section id="throughput"><h2>Throughput scenarios</h2>${throughput.map((s) => throughputSection(r, s)).join('\n')}</section>` : ''}
${goals}
${methodSection(r, foreignMaxPercent)}
${configurationsSection(r)}
</body></html>
`;
}
