/**
 * One measured window: wait for a quiet box, read the server's CPU counters, run the loader,
 * read them again. The server's CPU is that of the configuration's own process groups; for an
 * external target on this machine it can only be estimated as everything that is not ours.
 * A window disturbed by other processes is redone (up to --retries) and flagged if it stays so.
 */
import { boxTicks, busyPercent, foreignCpu, foreignDelta, processRole, sampleGroups, type GroupSample } from './cpu.ts';
import type { Loader, LoadPlan, LoadResult, ProgressCallback } from './loaders/load-plan.ts';
import type { Participant } from './participants.ts';
import { waitForQuiet, type QuietPolicy } from './quiet.ts';
import type { RunRecord } from './results.ts';

/** What measuring needs besides the plan. */
export interface MeasureContext {
  loader: Loader;
  quiet: QuietPolicy;
  retries: number;
  foreignMaxPercent: number;
  /** Every process group the bench started (idle configurations are ours too, not foreign). */
  ourGroups: ReadonlySet<number>;
  signal: AbortSignal;
  /** Prints a line (over the live progress line). */
  log(text: string): void;
}

function groupsOf(p: Participant): { layer: string; pgid: number }[] {
  return p.running?.layers.map((l) => ({ layer: l.layer, pgid: l.pgid })) ?? [];
}

/** Run the loader once for `seconds`, result discarded (JIT, caches, connection pools warm up). */
export async function warmUp(ctx: MeasureContext, plan: LoadPlan, onProgress: ProgressCallback): Promise<void> {
  await ctx.loader.run(plan, onProgress, ctx.signal);
}

/**
 * Measure one window against `participant` in round `round`. The plan is made afresh for every
 * attempt: a redone window must not reuse what the first one spent (single-use refresh tokens).
 */
export async function measure(
  ctx: MeasureContext,
  participant: Participant,
  scenario: string,
  round: number,
  makePlan: () => Promise<LoadPlan>,
  onProgress: ProgressCallback,
): Promise<RunRecord> {
  const groups = groupsOf(participant);
  const pgids = groups.map((g) => g.pgid);
  const external = participant.running === undefined;
  for (let attempt = 1; ; attempt++) {
    const plan = await makePlan();
    const quiet = await waitForQuiet(ctx.quiet, ctx.signal);
    const foreign0 = foreignCpu(ctx.ourGroups);
    const before = sampleGroups(pgids);
    const box0 = boxTicks();
    const result: LoadResult = await ctx.loader.run(plan, onProgress, ctx.signal);
    const after = sampleGroups(pgids);
    const box1 = boxTicks();
    const foreignSeconds = foreignDelta(foreign0, foreignCpu(ctx.ourGroups));
    const record = toRecord(participant.name, scenario, round, result, groups, before, after);
    record.boxBusyPercent = busyPercent(box0, box1);
    record.quietWaitMs = quiet.waitedMs;
    record.notQuiet = !quiet.quiet;
    record.attempts = attempt;
    if (external) {
      // The target's own processes are the "foreign" CPU here: the best available estimate of its cost.
      record.serverCpuSeconds = foreignSeconds;
      record.serverCpuEstimated = true;
      record.cpuUsPerRequest = result.requests > 0 ? (foreignSeconds / result.requests) * 1e6 : Number.NaN;
      record.foreignCpuPercent = 0;
      return record;
    }
    record.foreignCpuPercent = (foreignSeconds / result.seconds) * 100;
    if (record.foreignCpuPercent <= ctx.foreignMaxPercent) return record;
    if (attempt > ctx.retries) {
      record.contaminated = true;
      return record;
    }
    ctx.log(`  (other processes used ${record.foreignCpuPercent.toFixed(0)}% of a core during ${scenario} × ${participant.name}: measuring again)`);
  }
}

function toRecord(
  config: string,
  scenario: string,
  round: number,
  r: LoadResult,
  groups: { layer: string; pgid: number }[],
  before: Map<number, GroupSample>,
  after: Map<number, GroupSample>,
): RunRecord {
  const cpuByLayer: Record<string, number> = {};
  const cpuByRole: Record<string, number> = {};
  const rssByLayer: Record<string, number> = {};
  let cpu = 0;
  let rss = 0;
  for (const g of groups) {
    const was = before.get(g.pgid)?.memberCpu ?? {};
    for (const [pid, seconds] of Object.entries(after.get(g.pgid)?.memberCpu ?? {})) {
      // A process born during the window (a replaced worker) counts from zero.
      const role = processRole(Number(pid), g.layer);
      cpuByRole[role] = (cpuByRole[role] ?? 0) + Math.max(0, seconds - (was[Number(pid)] ?? 0));
    }
    // A process that exited during the window takes its CPU with it: a small undercount, never an overcount.
    const used = Math.max(0, (after.get(g.pgid)?.cpuSeconds ?? 0) - (before.get(g.pgid)?.cpuSeconds ?? 0));
    cpuByLayer[g.layer] = (cpuByLayer[g.layer] ?? 0) + used;
    rssByLayer[g.layer] = (rssByLayer[g.layer] ?? 0) + (after.get(g.pgid)?.rssBytes ?? 0);
    cpu += used;
    rss += after.get(g.pgid)?.rssBytes ?? 0;
  }
  return {
    round,
    config,
    scenario,
    requests: r.requests,
    seconds: r.seconds,
    rps: r.seconds > 0 ? r.requests / r.seconds : 0,
    mbps: r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0,
    latencyMs: r.latency,
    errors: r.errors,
    non2xx: r.non2xx,
    statusCounts: r.statusCounts,
    serverCpuSeconds: cpu,
    serverCpuEstimated: false,
    cpuByLayer,
    cpuByRole,
    cpuUsPerRequest: r.requests > 0 ? (cpu / r.requests) * 1e6 : Number.NaN,
    rssBytes: rss,
    rssByLayer,
    loaderCpuPercent: (r.loaderCpuSeconds / r.seconds) * 100,
    boxBusyPercent: 0,
    foreignCpuPercent: 0,
    quietWaitMs: 0,
    notQuiet: false,
    attempts: 1,
    contaminated: false,
    invalid: r.errors > 0 || r.non2xx > 0 || r.requests === 0,
  };
}
