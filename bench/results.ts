/**
 * The shape of a bench run's results, as written to JSON and read by the Markdown and HTML
 * reports and the goal checks; and the summary of runs (medians, paired ratios).
 */
import type { FaultRecord } from './faults/run-faults.ts';
import type { Latency } from './loaders/load-plan.ts';
import { median, pairedRatio, type PairedRatio } from './stats.ts';

/** One measured window of one scenario on one configuration. */
export interface RunRecord {
  round: number;
  config: string;
  scenario: string;
  requests: number;
  seconds: number;
  rps: number;
  /** Response bytes per second, in MB/s (10^6). */
  mbps: number;
  latencyMs: Latency;
  errors: number;
  non2xx: number;
  statusCounts?: Record<string, number>;
  /** CPU seconds of the configuration's processes during the window (external targets: every process not ours, an estimate). */
  serverCpuSeconds: number;
  serverCpuEstimated: boolean;
  /** CPU seconds per layer ('front', 'app'). */
  cpuByLayer: Record<string, number>;
  /** CPU seconds per process role ('front', 'master', 'workers', 'dev process', …: see cpu.ts processRole). */
  cpuByRole: Record<string, number>;
  /** Server CPU microseconds per response. */
  cpuUsPerRequest: number;
  /** Server resident memory at the end of the window, bytes (summed over its processes). */
  rssBytes: number;
  rssByLayer: Record<string, number>;
  loaderCpuPercent: number;
  boxBusyPercent: number;
  /** CPU used by processes that are not ours, percent of one core. */
  foreignCpuPercent: number;
  quietWaitMs: number;
  /** The box never became quiet before this run. */
  notQuiet: boolean;
  attempts: number;
  /** Others used the box during the run even after the retries. */
  contaminated: boolean;
  /** Errors or non-2xx responses: the run does not count as a valid measurement. */
  invalid: boolean;
}

/** Whether a scenario is measured on a configuration, and why not. */
export interface Applicability {
  config: string;
  scenario: string;
  status: 'measured' | 'skipped' | 'failed';
  reason: string;
  path: string;
}

/** A configuration (or external target) as it took part in the run. */
export interface ConfigurationInfo {
  name: string;
  title: string;
  kind: string;
  baseUrl: string;
  /** Runs compiled JavaScript from dist/, as `npm start` does. */
  compiled: boolean;
  /** The command lines it was started with (empty for external targets). */
  commands: { layer: string; argv: string[] }[];
  /** Resident memory right after start, before any load: per process (bytes), with its layer and role. */
  idleRss: { layer: string; role: string; pid: number; bytes: number }[];
}

/** A configuration × scenario over all rounds. */
export interface Summary {
  config: string;
  scenario: string;
  runs: number;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  latencyMs: Latency;
  mbps: number;
  errors: number;
  non2xx: number;
  cpuUsPerRequest: number;
  cpuUsPerRequestByLayer: Record<string, number>;
  /** Server CPU µs per request by process role (median over rounds). */
  cpuUsPerRequestByRole: Record<string, number>;
  serverCpuEstimated: boolean;
  rssBytes: number;
  /** Largest resident memory seen after a run, per layer (front, app, …). */
  rssBytesByLayer: Record<string, number>;
  loaderCpuPercent: number;
  invalid: boolean;
  contaminatedRuns: number;
  /** req/s against the baseline configuration on the same scenario, paired by round. */
  vsBaseline: PairedRatio | undefined;
}

/** Server-Timing of one trivial route on one configuration: mean µs per entry (app, upstream, proxy). */
export interface TimingSample {
  config: string;
  scenario: string;
  meansUs: Record<string, number>;
}

/** The result of checking one goal, named by what it measures. */
export interface GoalResult {
  goal: string;
  status: 'pass' | 'fail' | 'not measured' | 'invalid';
  measured: string;
  note: string;
}

/** Everything a bench run produced. */
export interface BenchResults {
  meta: {
    startedAt: string;
    finishedAt: string;
    command: string;
    loader: string;
    /** Why that loader was used. */
    loaderReason: string;
    quick: boolean;
    /** Foreign CPU (percent of one core) above which a window counts as disturbed. */
    foreignMaxPercent: number;
    connections: number;
    loginConnections: number;
    pipelining: number;
    durationSeconds: number;
    warmupSeconds: number;
    rounds: number;
    workers: number;
    baseline: string;
    cpuCount: number;
    cpuModel: string;
    versions: Record<string, string>;
    notes: string[];
  };
  configurations: ConfigurationInfo[];
  unavailable: { name: string; reason: string }[];
  scenarios: { name: string; title: string }[];
  applicability: Applicability[];
  runs: RunRecord[];
  summaries: Summary[];
  /** The fault scenarios, one record per scenario × configuration. */
  faults: FaultRecord[];
  /** Server-Timing samples of the trivial routes (the app's own time in the layer breakdown). */
  timings: TimingSample[];
  goals: GoalResult[];
  /** The plain-language conclusion, one line per scenario. */
  conclusion: ConclusionLine[];
}

/** One line of the conclusion: a scenario, what production did against development, and the figure. */
export interface ConclusionLine {
  scenario: string;
  /** better / worse / same / not measured: production against the dev server. */
  verdict: 'better' | 'worse' | 'same' | 'not measured';
  text: string;
}

/** Summarise the runs of every configuration × scenario, with paired ratios to `baseline`. */
export function summarise(runs: readonly RunRecord[], rounds: number, baseline: string): Summary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = `${r.config}\u0000${r.scenario}`;
    let list = groups.get(key);
    if (list === undefined) groups.set(key, (list = []));
    list.push(r);
  }
  const byRound = (list: readonly RunRecord[] | undefined): (number | undefined)[] => {
    const out: (number | undefined)[] = new Array(rounds).fill(undefined);
    for (const r of list ?? []) out[r.round] = r.rps;
    return out;
  };
  const out: Summary[] = [];
  for (const list of groups.values()) {
    const first = list[0]!;
    const layers = new Set(list.flatMap((r) => Object.keys(r.cpuByLayer)));
    const roles = new Set(list.flatMap((r) => Object.keys(r.cpuByRole ?? {})));
    const base = groups.get(`${baseline}\u0000${first.scenario}`);
    out.push({
      config: first.config,
      scenario: first.scenario,
      runs: list.length,
      rps: median(list.map((r) => r.rps)),
      rpsMin: Math.min(...list.map((r) => r.rps)),
      rpsMax: Math.max(...list.map((r) => r.rps)),
      latencyMs: {
        p50: median(list.map((r) => r.latencyMs.p50)),
        p97_5: median(list.map((r) => r.latencyMs.p97_5)),
        p99: median(list.map((r) => r.latencyMs.p99)),
        max: Math.max(...list.map((r) => r.latencyMs.max)),
      },
      mbps: median(list.map((r) => r.mbps)),
      errors: list.reduce((a, r) => a + r.errors, 0),
      non2xx: list.reduce((a, r) => a + r.non2xx, 0),
      cpuUsPerRequest: median(list.map((r) => r.cpuUsPerRequest)),
      cpuUsPerRequestByLayer: Object.fromEntries(
        [...layers].map((l) => [l, median(list.map((r) => ((r.cpuByLayer[l] ?? 0) / Math.max(r.requests, 1)) * 1e6))]),
      ),
      cpuUsPerRequestByRole: Object.fromEntries(
        [...roles].map((l) => [l, median(list.map((r) => ((r.cpuByRole?.[l] ?? 0) / Math.max(r.requests, 1)) * 1e6))]),
      ),
      serverCpuEstimated: first.serverCpuEstimated,
      rssBytes: Math.max(...list.map((r) => r.rssBytes)),
      rssBytesByLayer: Object.fromEntries([...layers].map((l) => [l, Math.max(...list.map((r) => r.rssByLayer[l] ?? 0))])),
      loaderCpuPercent: median(list.map((r) => r.loaderCpuPercent)),
      invalid: list.some((r) => r.invalid),
      contaminatedRuns: list.filter((r) => r.contaminated).length,
      vsBaseline: base === undefined ? undefined : pairedRatio(byRound(list), byRound(base)),
    });
  }
  return out;
}

/** req/s of configuration `a` over `b` (scenarios may differ), paired by round. */
export function runsRatio(runs: readonly RunRecord[], rounds: number, a: { config: string; scenario: string }, b: { config: string; scenario: string }): PairedRatio | undefined {
  const series = (k: { config: string; scenario: string }) => {
    const out: (number | undefined)[] = new Array(rounds).fill(undefined);
    for (const r of runs) if (r.config === k.config && r.scenario === k.scenario) out[r.round] = r.rps;
    return out;
  };
  return pairedRatio(series(a), series(b));
}
