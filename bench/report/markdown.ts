/**
 * The Markdown report: what ran and how, anything invalid first and loudly, then one table per
 * scenario with every configuration side by side, the goal checks and the exact commands.
 */
import type { BenchResults, Summary } from '../results.ts';
import { mb, ms, rate, shownCommand, times, us } from './format.ts';


function cpuCell(s: Summary): string {
  if (!Number.isFinite(s.cpuUsPerRequest)) return '—';
  const byRole = Object.entries(s.cpuUsPerRequestByRole ?? {}).filter(([, v]) => v >= 0.05);
  const layers = byRole.length ? byRole : Object.entries(s.cpuUsPerRequestByLayer);
  const split = layers.length > 1 ? ` (${layers.map(([l, v]) => `${l} ${us(v)}`).join(' + ')})` : '';
  return `${s.serverCpuEstimated ? '≈' : ''}${us(s.cpuUsPerRequest)}${split}`;
}

/** The largest RSS after a run, split by layer when there are several (the front's stays bounded). */
function rssCell(s: Summary): string {
  const layers = Object.entries(s.rssBytesByLayer).filter(([, v]) => v > 0);
  const split = layers.length > 1 ? ` (${layers.map(([l, v]) => `${l} ${mb(v)}`).join(' + ')})` : '';
  return `${mb(s.rssBytes)}${split}`;
}

function flags(s: Summary): string {
  const f: string[] = [];
  if (s.invalid) f.push('**INVALID**');
  if (s.contaminatedRuns > 0) f.push(`${s.contaminatedRuns} of ${s.runs} runs disturbed`);
  return f.length ? ` (${f.join(', ')})` : '';
}

/** The per-scenario tables (also used to fill bench/RESULTS.md). */
export function scenarioTables(r: BenchResults): string[] {
  const out: string[] = [];
  for (const scenario of r.scenarios) {
    const rows = r.summaries.filter((s) => s.scenario === scenario.name);
    const skipped = r.applicability.filter((a) => a.scenario === scenario.name && a.status !== 'measured');
    if (rows.length === 0 && skipped.length === 0) continue;
    out.push(`### ${scenario.title}`, '');
    if (rows.length > 0) {
      out.push(
        `| configuration | req/s (median) | min–max | p50 ms | p97.5 ms | p99 ms | errors | non-2xx | MB/s | server µs CPU/req | RSS | loader CPU | vs ${r.meta.baseline} |`,
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      );
      const order = r.configurations.map((c) => c.name);
      rows.sort((a, b) => order.indexOf(a.config) - order.indexOf(b.config));
      for (const s of rows) {
        const ratio = s.vsBaseline ? `${times(s.vsBaseline.median)}${s.vsBaseline.pairs > 1 ? ` (${s.vsBaseline.min.toFixed(2)}–${s.vsBaseline.max.toFixed(2)})` : ''}` : '—';
        out.push(
          `| ${s.config}${flags(s)} | ${rate(s.rps)} | ${rate(s.rpsMin)}–${rate(s.rpsMax)} | ${ms(s.latencyMs.p50)} | ${ms(s.latencyMs.p97_5)} | ${ms(s.latencyMs.p99)} | ${s.errors} | ${s.non2xx} | ${s.mbps.toFixed(1)} | ${cpuCell(s)} | ${rssCell(s)} | ${s.loaderCpuPercent.toFixed(0)}% | ${ratio} |`,
        );
      }
      out.push('');
    }
    if (skipped.length > 0) {
      out.push(...skipped.map((a) => `- ${a.status === 'failed' ? '**FAILED**' : 'skipped'} on ${a.config}: ${a.reason}`), '');
    }
  }
  return out;
}

function headlineText(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === '%') return `${value.toFixed(1)}%`;
  if (unit === '% of a core') return `${value.toFixed(0)}% of a core`;
  if (unit === 'ms') return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
  if (unit === 'failed') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${Math.round(value)} ${unit}`;
}

/** The fault scenarios' tables: one row per configuration, what the normal traffic saw. */
export function faultTables(r: BenchResults): string[] {
  const out: string[] = [];
  for (const scenario of r.scenarios) {
    const rows = r.faults.filter((f) => f.scenario === scenario.name);
    if (rows.length === 0) continue;
    const threshold = r.meta.foreignMaxPercent ?? 15;
    out.push(`### ${scenario.title}`, '', `Deciding figure: ${rows[0]!.headline.figure ?? rows[0]!.headline.label} (lower is better).`, '');
    out.push(
      '| configuration | deciding figure | normal requests | failed | how they failed | p50 ms | p99 ms | slowest ms | back to normal after | fault |',
      '|---|---:|---:|---:|---|---:|---:|---:|---|---|',
    );
    for (const f of rows) {
      const n = f.normal;
      const u = f.underFault;
      const kinds = Object.entries(n.failures).map(([k, v]) => `${v}× ${k}`).join(', ') || '—';
      const recovery = f.recoveryMs.length ? f.recoveryMs.map((x) => `${Math.round(x)} ms`).join(', ') : '—';
      const what = Object.entries(f.counts).map(([k, v]) => `${k} ${v}`).join(', ');
      const flags = [f.foreignCpuPercent > threshold ? `disturbed: others used ${f.foreignCpuPercent.toFixed(0)}% of a core` : '', f.notRecovered ? '**not serving afterwards**' : ''].filter(Boolean).join(', ');
      out.push(
        `| ${f.config}${flags ? ` (${flags})` : ''} | ${headlineText(f.headline.value, f.headline.unit)} | ${n.requests} | ${n.errors} (${(n.errorRate * 100).toFixed(1)}%) | ${kinds} | ${ms(u.p50)} | ${ms(u.p99)} | ${ms(n.max)} | ${recovery} | ${what} |`,
      );
    }
    out.push('');
  }
  return out;
}

/** Server CPU per request of the trivial routes, split by process, the app's own time (Server-Timing) out of the workers'. */
export function breakdownTable(r: BenchResults): string[] {
  const rows = r.summaries.filter((s) => (s.scenario === 'ping' || s.scenario === 'hello') && !s.serverCpuEstimated && Object.keys(s.cpuUsPerRequestByRole ?? {}).length);
  if (rows.length === 0) return [];
  const roles = ['front', 'supervisor', 'reloader', 'dev process', 'master', 'workers'];
  const present = roles.filter((role) => rows.some((s) => (s.cpuUsPerRequestByRole[role] ?? 0) > 0));
  const out = [
    `| scenario | configuration | ${present.join(' | ')} | of which the app's own code | total |`,
    `|---|---|${present.map(() => '---:').join('|')}|---:|---:|`,
  ];
  for (const s of rows) {
    const app = (r.timings ?? []).find((t) => t.config === s.config && t.scenario === s.scenario)?.meansUs.app;
    const cells = present.map((role) => (s.cpuUsPerRequestByRole[role] !== undefined ? us(s.cpuUsPerRequestByRole[role]!) : '—'));
    // Wall time not below the CPU of the process that ran it: not a share of that CPU (see the HTML report's note).
    const host = s.cpuUsPerRequestByRole.workers ?? s.cpuUsPerRequestByRole['dev process'];
    const appCell = app === undefined ? '—' : `${us(app)}${host !== undefined && app >= host ? ' ‡' : ''}`;
    out.push(`| ${s.scenario} | ${s.config}${s.contaminatedRuns ? ' †' : ''} | ${cells.join(' | ')} | ${appCell} | ${us(s.cpuUsPerRequest)} |`);
  }
  return out;
}

/** The conclusion as Markdown bullets. */
export function conclusionLines(r: BenchResults): string[] {
  return (r.conclusion ?? []).map((c) => `- **${c.verdict === 'better' ? 'production better' : c.verdict === 'worse' ? 'production worse' : c.verdict}**: ${c.text}.`);
}

/** The whole report as Markdown. */
export function markdownReport(r: BenchResults): string {
  const m = r.meta;
  const out: string[] = [
    `# Benchmark run ${m.startedAt}`,
    '',
    `Command: \`${m.command}\``,
    '',
    `Loader **${m.loader}**, ${m.connections} connections (login: ${m.loginConnections}), pipelining ${m.pipelining}, ` +
      `${m.rounds} round(s) of ${m.durationSeconds} s per run after a ${m.warmupSeconds} s warm-up (first round), ` +
      `order rotated per round; "-N" configurations use ${m.workers} workers. Machine: ${m.cpuCount} × ${m.cpuModel}. ` +
      `Ratios are req/s against **${m.baseline}** on the same scenario, taken per round, median (min–max). ` +
      '"server µs CPU/req" is the CPU time of the configuration\'s whole process tree per response (≈: an external target, estimated as all CPU not used by the bench or its configurations).',
    '',
  ];
  const invalid = r.summaries.filter((s) => s.invalid);
  const failed = r.applicability.filter((a) => a.status === 'failed');
  if (invalid.length > 0 || failed.length > 0) {
    out.push('> **INVALID RESULTS: errors or non-2xx responses.** These rows do not measure what they claim:', '>');
    for (const s of invalid) out.push(`> - ${s.scenario} × ${s.config}: ${s.errors} errors, ${s.non2xx} non-2xx`);
    for (const a of failed) out.push(`> - ${a.scenario} × ${a.config}: ${a.reason}`);
    out.push('');
  }
  if ((r.conclusion ?? []).length) out.push(`## Production vs development on this machine`, '', ...conclusionLines(r), '');
  for (const note of m.notes) out.push(`- ${note}`);
  if (m.notes.length) out.push('');
  const breakdown = breakdownTable(r);
  if (breakdown.length) {
    out.push(
      '## Where the microseconds go',
      '',
      'Server CPU µs per request of the trivial routes, by process (from /proc); "of which the app\'s own code" is the app\'s time from `Server-Timing: app;dur=…` (wall time), part of the workers\' (or the dev process\') share; ‡ = that wall time is not below the process\'s CPU (it includes time off the CPU), so it is no measure of the app\'s share. † = disturbed.',
      '',
      ...breakdown,
      '',
    );
  }
  out.push('## Throughput', '', ...scenarioTables(r));
  if ((r.faults ?? []).length) {
    out.push(
      '## Faults',
      '',
      `A steady client sends GET /api/ping/ at ${r.faults[0]!.plan.rate} requests/s over ${r.faults[0]!.plan.connections} keep-alive connections (no retries; latency counted from when each request was due) while the fault runs for ${r.faults[0]!.plan.durationMs / 1000} s (the crash scenario twice as long). "Back to normal" is the time from each fault until the first of 20 normal requests in a row that all succeeded within ${r.faults[0]!.normalMs !== undefined ? `twice the p99 seen before the first fault (at least ${r.faults[0]!.plan.slowMs} ms)` : `${r.faults[0]!.plan.slowMs} ms`}.`,
      '',
      ...faultTables(r),
    );
  }
  if (r.goals.length > 0) {
    out.push('## Goals', '', '| goal | result | measured | note |', '|---|---|---|---|');
    for (const g of r.goals) out.push(`| ${g.goal} | ${g.status === 'pass' ? 'pass' : g.status === 'fail' ? '**FAIL**' : g.status} | ${g.measured} | ${g.note} |`);
    out.push('');
  }
  out.push('## Configurations', '', '| name | what | idle RSS per process | command (front → back) |', '|---|---|---|---|');
  for (const c of r.configurations) {
    const rss = c.idleRss.length ? c.idleRss.map((p) => `${p.role ?? p.layer} ${mb(p.bytes)}`).join(', ') : '—';
    // Started back to front; shown front first, in the direction a request travels.
    const cmd = c.commands.length ? [...c.commands].reverse().map((x) => `\`${shownCommand(x.argv)}\``).join(' → ') : c.baseUrl;
    out.push(`| ${c.name} | ${c.title} | ${rss} | ${cmd} |`);
  }
  for (const u of r.unavailable) out.push(`| ${u.name} | not run: ${u.reason} | | |`);
  out.push('', '## Versions', '', ...Object.entries(m.versions).map(([k, v]) => `- ${k}: ${v}`), '');
  return out.join('\n');
}
