/**
 * The plain-language conclusion of a run: production (the stack: front + app server workers)
 * against development (the dev server), one line per scenario, each with the figure that
 * supports it. Verdicts come from the measured figures only: "better" or "worse" past a 10%
 * margin, "same" inside it, "not measured" when a side is missing.
 */
import type { FaultRecord } from './faults/run-faults.ts';
import { rate, us } from './report/format.ts';
import type { BenchResults, ConclusionLine, Summary } from './results.ts';

const MARGIN = 0.1;

/** The configuration that stands for production in a run: the net stack if present, else any stack. */
export function productionOf(names: readonly string[], kinds: Record<string, string>): string | undefined {
  return names.includes('stack-net') ? 'stack-net' : names.find((n) => kinds[n] === 'stack');
}

/** Lower is better: production's `prod` against development's `dev`. */
function lowerBetter(prod: number, dev: number): ConclusionLine['verdict'] {
  if (!Number.isFinite(prod) || !Number.isFinite(dev)) return 'not measured';
  if (prod === dev) return 'same';
  if (prod < dev * (1 - MARGIN) || (dev > 0 && prod === 0)) return 'better';
  if (prod > dev * (1 + MARGIN) || (prod > 0 && dev === 0)) return 'worse';
  return 'same';
}

/** Higher is better (req/s): the same margins, turned around. */
const higherBetter = (prod: number, dev: number): ConclusionLine['verdict'] => lowerBetter(dev, prod);

const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : '—');
const num = (v: number, unit: string): string => (unit === '%' ? `${v.toFixed(1)}%` : unit === '% of a core' ? `${v.toFixed(0)}% of a core` : unit === 'ms' ? `${v >= 100 ? v.toFixed(0) : v < 1 ? v.toFixed(2) : v.toFixed(1)} ms` : unit === 'failed' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : `${Math.round(v)} ${unit}`);

function faultLine(faults: readonly FaultRecord[], scenario: string, title: string, prod: string): ConclusionLine {
  const dev = faults.find((f) => f.scenario === scenario && f.config === 'dev');
  const pr = faults.find((f) => f.scenario === scenario && f.config === prod);
  if (!dev || !pr) return { scenario, verdict: 'not measured', text: `${title}: not measured on both the dev server and ${prod}` };
  let verdict = lowerBetter(pr.headline.value, dev.headline.value);
  if (verdict === 'same' && pr.headline.tieBreak !== undefined && dev.headline.tieBreak !== undefined) verdict = lowerBetter(pr.headline.tieBreak, dev.headline.tieBreak);
  const h = (f: FaultRecord) => `${num(f.headline.value, f.headline.unit)} ${f.headline.label}`;
  return { scenario, verdict, text: `${title}: production ${h(pr)}; dev server ${h(dev)}` };
}

function summary(r: Pick<BenchResults, 'summaries'>, config: string | undefined, scenario: string): Summary | undefined {
  return r.summaries.find((s) => s.config === config && s.scenario === scenario && !s.invalid);
}

/** Build the conclusion from a run's results. */
export function conclude(r: Omit<BenchResults, 'conclusion' | 'goals'>): ConclusionLine[] {
  const names = r.configurations.map((c) => c.name);
  const kinds = Object.fromEntries(r.configurations.map((c) => [c.name, c.kind]));
  const prod = productionOf(names, kinds) ?? 'stack-net';
  const out: ConclusionLine[] = [];
  const faultNames = new Set(r.faults.map((f) => f.scenario));
  const titles: Record<string, string> = {
    'slow-clients': 'Slow clients',
    crash: 'Crashing route',
    blocking: 'Blocking route',
    deploy: 'Deploy under load',
  };
  for (const name of Object.keys(titles)) if (faultNames.has(name)) out.push(faultLine(r.faults, name, titles[name]!, prod));

  // CPU-bound: throughput as workers are added.
  const cpuDev = summary(r, 'dev', 'cpu');
  const cpuProd = summary(r, prod, 'cpu');
  if (r.scenarios.some((s) => s.name === 'cpu')) {
    if (cpuDev && cpuProd) {
      const one = summary(r, 'app-net-1', 'cpu');
      const many = summary(r, 'app-net-N', 'cpu');
      const steps = [
        `dev server (1 process) ${rate(cpuDev.rps)} req/s`,
        ...(one ? [`app server 1 worker ${rate(one.rps)}`] : []),
        ...(many ? [`app server ${r.meta.workers} workers ${rate(many.rps)}`] : []),
        `production ${r.meta.workers} workers ${rate(cpuProd.rps)}`,
      ];
      out.push({ scenario: 'cpu', verdict: higherBetter(cpuProd.rps, cpuDev.rps), text: `CPU-bound work (~5 ms a request): ${steps.join(', ')}: ${ratio(cpuProd.rps, cpuDev.rps)} the dev server on ${r.meta.cpuCount} cores` });
    } else out.push({ scenario: 'cpu', verdict: 'not measured', text: 'CPU-bound work: not measured on both sides' });
  }

  // Static files.
  const sizes = [['static-1k', '1 KB'], ['static-100k', '100 KB'], ['static-1m', '1 MB']] as const;
  const st = sizes.map(([s, label]) => ({ label, dev: summary(r, 'dev', s), prod: summary(r, prod, s) })).filter((x) => x.dev && x.prod);
  if (st.length) {
    const ratios = st.map((x) => x.prod!.rps / x.dev!.rps);
    const worst = Math.min(...ratios);
    const verdict = worst > 1 + MARGIN ? 'better' : worst < 1 - MARGIN ? 'worse' : 'same';
    out.push({
      scenario: 'static',
      verdict,
      text: `Static files: production serves ${st.map((x, i) => `${x.label} at ${ratios[i]!.toFixed(1)}×`).join(', ')} the dev server's rate (${st.map((x) => `${rate(x.prod!.rps)} vs ${rate(x.dev!.rps)} req/s`).join('; ')}), from the front's memory cache without touching the app`,
    });
  }

  // Trivial routes: the price of the extra hop.
  const pingDev = summary(r, 'dev', 'ping');
  const pingProd = summary(r, prod, 'ping');
  if (pingDev && pingProd) {
    const helloDev = summary(r, 'dev', 'hello');
    const helloProd = summary(r, prod, 'hello');
    const front = pingProd.cpuUsPerRequestByRole.front;
    const nginx = summary(r, 'nginx-proxy', 'ping');
    const parts = [
      `ping at ${ratio(pingProd.rps, pingDev.rps)}${helloDev && helloProd ? `, hello at ${ratio(helloProd.rps, helloDev.rps)}` : ''} the dev server's req/s`,
      `server CPU per request ${us(pingProd.cpuUsPerRequest)} µs against ${us(pingDev.cpuUsPerRequest)} µs`,
      front !== undefined ? `of which the front's hop is ${us(front)} µs${nginx?.cpuUsPerRequestByRole.front !== undefined ? ` (Nginx in the same place: ${us(nginx.cpuUsPerRequestByRole.front)} µs)` : ''}` : '',
    ].filter(Boolean);
    // Two routes: a verdict only when they agree (mixed results on a busy machine are "same").
    const pingVerdict = higherBetter(pingProd.rps, pingDev.rps);
    const helloVerdict = helloDev && helloProd ? higherBetter(helloProd.rps, helloDev.rps) : pingVerdict;
    const verdict = pingVerdict === helloVerdict ? pingVerdict : 'same';
    out.push({
      scenario: 'trivial',
      verdict,
      text:
        `Trivial routes: production ${parts.join('; ')}. A route that does nothing measures only the layers: every request crosses one more process (the front), ` +
        (verdict === 'better'
          ? `and the ${r.meta.workers} workers found enough idle CPU in this run to more than pay for it; with the loader and other processes on the same ${r.meta.cpuCount} cores they often do not. `
          : `and on ${r.meta.cpuCount} cores shared with the loader there is no idle core for the extra workers to use. `) +
        'That hop is the price of every line above',
    });
  }
  return out;
}
