/**
 * The report's charts as inline SVG (no scripts, no network): horizontal bars, stacked bars
 * and fault timelines. Every chart is drawn on a 1000-unit-wide canvas scaled to the page width
 * (viewBox + width 100%), with axes, units and a legend.
 */

export const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const W = 1000;
const LABEL = 200;
const VALUE = 90;
const PLOT = W - LABEL - VALUE;

export interface Series {
  name: string;
  color: string;
}

export interface BarRow {
  label: string;
  values: number[];
  invalid: boolean;
  /** Shown after the label in grey, e.g. "disturbed". */
  note?: string;
}

/** A "nice" axis maximum and tick step for values up to `max`. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { max: Math.ceil(max / step) * step, step };
}

const tickText = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : Number.isInteger(v) ? String(v) : v.toFixed(1));

function svgOpen(height: number, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${escape(title)}">`;
}

function xAxis(y: number, scale: { max: number; step: number }, unit: string, x0 = LABEL, width = PLOT): string {
  const parts = [`<line x1="${x0}" y1="${y}" x2="${x0 + width}" y2="${y}" class="axis"/>`];
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    const x = x0 + (v / scale.max) * width;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${y}" x2="${x.toFixed(1)}" y2="${y + 4}" class="axis"/><text x="${x.toFixed(1)}" y="${y + 16}" text-anchor="middle" class="tick">${tickText(v)}</text>`);
  }
  parts.push(`<text x="${x0 + width}" y="${y + 30}" text-anchor="end" class="unit">${escape(unit)}</text>`);
  return parts.join('');
}

function gridLines(top: number, bottom: number, scale: { max: number; step: number }, x0 = LABEL, width = PLOT): string {
  const parts: string[] = [];
  for (let v = scale.step; v <= scale.max + 1e-9; v += scale.step) {
    const x = x0 + (v / scale.max) * width;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" class="grid"/>`);
  }
  return parts.join('');
}

function legend(series: readonly Series[], y: number, x0 = LABEL): string {
  let x = x0;
  return series
    .map((s) => {
      const out = `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${s.color}"/><text x="${x + 16}" y="${y}" class="tick">${escape(s.name)}</text>`;
      x += 26 + s.name.length * 7;
      return out;
    })
    .join('');
}

/** Horizontal grouped bars: one group per row, one bar per series; x axis with `unit`. */
export function barChart(title: string, unit: string, series: Series[], rows: BarRow[], format: (n: number) => string): string {
  const bar = 16;
  const groupHeight = series.length * bar + 10;
  const top = 30;
  const plotBottom = top + rows.length * groupHeight;
  const height = plotBottom + 40 + (series.length > 1 ? 22 : 0);
  const scale = niceScale(Math.max(0, ...rows.flatMap((r) => r.values.filter(Number.isFinite))));
  const parts = [svgOpen(height, title), `<text x="0" y="18" class="t">${escape(title)}</text>`, gridLines(top, plotBottom, scale)];
  rows.forEach((row, i) => {
    const y0 = top + i * groupHeight;
    const label = `${row.label}${row.invalid ? ' (INVALID)' : ''}`;
    parts.push(`<text x="${LABEL - 8}" y="${y0 + (series.length * bar) / 2 + 4}" text-anchor="end">${escape(label)}${row.note ? `<tspan class="note"> ${escape(row.note)}</tspan>` : ''}</text>`);
    series.forEach((s, j) => {
      const v = row.values[j] ?? Number.NaN;
      const w = Number.isFinite(v) ? Math.max(1, (v / scale.max) * PLOT) : 0;
      const y = y0 + j * bar;
      parts.push(
        `<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${bar - 3}" fill="${row.invalid ? 'url(#bad)' : s.color}"><title>${escape(`${row.label} ${s.name}: ${format(v)} ${unit}`)}</title></rect>`,
        `<text x="${(LABEL + w + 4).toFixed(1)}" y="${y + bar - 5}" class="v">${escape(format(v))}</text>`,
      );
    });
  });
  parts.push(xAxis(plotBottom, scale, unit));
  if (series.length > 1) parts.push(legend(series, height - 6));
  parts.push('</svg>');
  return parts.join('');
}

/** One stacked horizontal bar per row: each segment a part (role) of the total, same x axis. */
export function stackedBarChart(title: string, unit: string, parts: Series[], rows: { label: string; values: Record<string, number>; note?: string }[], format: (n: number) => string): string {
  const bar = 26;
  const top = 30;
  const plotBottom = top + rows.length * (bar + 12);
  const height = plotBottom + 62;
  const totals = rows.map((r) => parts.reduce((a, p) => a + (r.values[p.name] ?? 0), 0));
  const scale = niceScale(Math.max(0, ...totals));
  const out = [svgOpen(height, title), `<text x="0" y="18" class="t">${escape(title)}</text>`, gridLines(top, plotBottom, scale)];
  rows.forEach((row, i) => {
    const y = top + i * (bar + 12);
    out.push(`<text x="${LABEL - 8}" y="${y + bar / 2 + 4}" text-anchor="end">${escape(row.label)}${row.note ? `<tspan class="note"> ${escape(row.note)}</tspan>` : ''}</text>`);
    let x = LABEL;
    for (const p of parts) {
      const v = row.values[p.name] ?? 0;
      if (!(v > 0)) continue;
      const w = (v / scale.max) * PLOT;
      out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${p.color}"><title>${escape(`${row.label}, ${p.name}: ${format(v)} ${unit}`)}</title></rect>`);
      if (w > 34) out.push(`<text x="${(x + w / 2).toFixed(1)}" y="${y + bar / 2 + 4}" text-anchor="middle" class="in">${escape(format(v))}</text>`);
      x += w;
    }
    out.push(`<text x="${(x + 6).toFixed(1)}" y="${y + bar / 2 + 4}" class="v">${escape(format(totals[i]!))} total</text>`);
  });
  out.push(xAxis(plotBottom, scale, unit));
  out.push(legend(parts, height - 6));
  out.push('</svg>');
  return out.join('');
}

/** What a timeline shows. */
export interface TimelineInput {
  title: string;
  durationMs: number;
  bucketMs: number;
  buckets: { atMs: number; okPerSecond: number; errorsPerSecond: number; maxLatencyMs: number }[];
  marks: { atMs: number; untilMs: number; label: string }[];
}

/**
 * A fault timeline: top panel, successful responses/s (blue) and failed requests/s (red) over
 * time; bottom panel, the slowest response of each slice (ms); the fault marked in both (orange
 * line for an instant, shaded band for a span), labelled once.
 */
export function timelineChart(t: TimelineInput): string {
  const x0 = 70;
  const width = W - x0 - 20;
  const top = 44;
  const h1 = 150;
  const gap = 44;
  const h2 = 90;
  const height = top + h1 + gap + h2 + 46;
  const xs = (ms: number) => x0 + (Math.min(ms, t.durationMs) / t.durationMs) * width;
  const rateScale = niceScale(Math.max(1, ...t.buckets.map((b) => b.okPerSecond + b.errorsPerSecond)), 4);
  const latScale = niceScale(Math.max(1, ...t.buckets.map((b) => (Number.isFinite(b.maxLatencyMs) ? b.maxLatencyMs : 0))), 3);
  const y1 = (v: number) => top + h1 - (v / rateScale.max) * h1;
  const top2 = top + h1 + gap;
  const y2 = (v: number) => top2 + h2 - (v / latScale.max) * h2;
  const out = [svgOpen(height, t.title), `<text x="0" y="18" class="t">${escape(t.title)}</text>`];
  // Fault marks behind the data.
  const seen = new Set<string>();
  t.marks.forEach((m) => {
    const a = xs(m.atMs);
    if (m.untilMs > m.atMs) {
      const b = xs(m.untilMs);
      out.push(`<rect x="${a.toFixed(1)}" y="${top}" width="${Math.max(1, b - a).toFixed(1)}" height="${h1}" class="span"/><rect x="${a.toFixed(1)}" y="${top2}" width="${Math.max(1, b - a).toFixed(1)}" height="${h2}" class="span"/>`);
    } else {
      out.push(`<line x1="${a.toFixed(1)}" y1="${top - 6}" x2="${a.toFixed(1)}" y2="${top2 + h2}" class="mark"/>`);
    }
    if (!seen.has(m.label)) {
      seen.add(m.label);
      out.push(`<text x="${(a + 3).toFixed(1)}" y="${top - 8}" class="marklabel">⚡ ${escape(m.label)}${m.untilMs > m.atMs && t.marks.length > 1 ? ' (shaded)' : ''}</text>`);
    }
  });
  // Axes and grid.
  for (let v = 0; v <= rateScale.max + 1e-9; v += rateScale.step) {
    out.push(`<line x1="${x0}" y1="${y1(v).toFixed(1)}" x2="${x0 + width}" y2="${y1(v).toFixed(1)}" class="${v === 0 ? 'axis' : 'grid'}"/><text x="${x0 - 6}" y="${(y1(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${tickText(v)}</text>`);
  }
  for (let v = 0; v <= latScale.max + 1e-9; v += latScale.step) {
    out.push(`<line x1="${x0}" y1="${y2(v).toFixed(1)}" x2="${x0 + width}" y2="${y2(v).toFixed(1)}" class="${v === 0 ? 'axis' : 'grid'}"/><text x="${x0 - 6}" y="${(y2(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${tickText(v)}</text>`);
  }
  out.push(`<text x="12" y="${top + h1 / 2}" transform="rotate(-90 12 ${top + h1 / 2})" text-anchor="middle" class="unit">requests/s</text>`);
  out.push(`<text x="12" y="${top2 + h2 / 2}" transform="rotate(-90 12 ${top2 + h2 / 2})" text-anchor="middle" class="unit">slowest, ms</text>`);
  const seconds = t.durationMs / 1000;
  const step = seconds <= 5 ? 0.5 : seconds <= 12 ? 1 : 2;
  for (let s = 0; s <= seconds + 1e-9; s += step) {
    const x = xs(s * 1000);
    out.push(`<line x1="${x.toFixed(1)}" y1="${top2 + h2}" x2="${x.toFixed(1)}" y2="${top2 + h2 + 4}" class="axis"/><text x="${x.toFixed(1)}" y="${top2 + h2 + 16}" text-anchor="middle" class="tick">${s.toFixed(step < 1 ? 1 : 0)}</text>`);
  }
  out.push(`<text x="${x0 + width}" y="${top2 + h2 + 32}" text-anchor="end" class="unit">seconds since the normal client started</text>`);
  // Data: bars per slice (errors stacked on successes), latency as a line.
  const bw = (t.bucketMs / t.durationMs) * width;
  for (const b of t.buckets) {
    const x = xs(b.atMs);
    const okTop = y1(b.okPerSecond);
    out.push(`<rect x="${x.toFixed(1)}" y="${okTop.toFixed(1)}" width="${Math.max(0.5, bw - 1).toFixed(1)}" height="${(top + h1 - okTop).toFixed(1)}" fill="#2b6cb0"/>`);
    if (b.errorsPerSecond > 0) {
      const errTop = y1(b.okPerSecond + b.errorsPerSecond);
      out.push(`<rect x="${x.toFixed(1)}" y="${errTop.toFixed(1)}" width="${Math.max(0.5, bw - 1).toFixed(1)}" height="${(okTop - errTop).toFixed(1)}" fill="#c53030"/>`);
    }
  }
  const pts = t.buckets.filter((b) => Number.isFinite(b.maxLatencyMs)).map((b) => `${(xs(b.atMs) + bw / 2).toFixed(1)},${y2(b.maxLatencyMs).toFixed(1)}`);
  if (pts.length) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#6b46c1" stroke-width="2"/>`);
  out.push(legend([{ name: 'successful responses/s', color: '#2b6cb0' }, { name: 'failed requests/s', color: '#c53030' }, { name: 'slowest response per slice', color: '#6b46c1' }], height - 4, x0));
  out.push('</svg>');
  return out.join('');
}
