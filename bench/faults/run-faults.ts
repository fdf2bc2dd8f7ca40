/**
 * Running the fault scenarios on the started configurations: for each scenario and each
 * configuration it names, start the steady client, inject the fault, wait for the configuration
 * to serve again, and record what the normal traffic saw. Loopback only (every configuration the
 * bench starts listens on 127.0.0.1), bounded in time (each run lasts the plan's duration, the
 * attacker and every request have their own deadlines).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { foreignCpu, foreignDelta, processRole, sampleGroups, type GroupSample } from '../cpu.ts';
import { probe } from '../http-probe.ts';
import type { RunningConfiguration } from '../launcher.ts';
import { during, normalTraffic, recoveryTimes, timeline, type FaultMark, type NormalTraffic, type TimelineBucket } from './analysis.ts';
import type { FaultPlan, FaultScenario, Headline, RoleCpu } from './scenarios.ts';
import { runSteadyClient } from './steady-client.ts';

/** One fault scenario on one configuration. */
export interface FaultRecord {
  scenario: string;
  config: string;
  durationMs: number;
  plan: FaultPlan;
  /** Every normal request of the run. */
  normal: NormalTraffic;
  /** The normal requests due while a lasting fault was on (the whole run for instant faults). */
  underFault: NormalTraffic;
  marks: FaultMark[];
  timeline: TimelineBucket[];
  bucketMs: number;
  /** Per instant fault: ms until normal service was back. */
  recoveryMs: number[];
  /** A normal request slower than this (ms) counted as not yet back to normal: twice the p99 before the first fault, at least plan.slowMs. */
  normalMs: number;
  counts: Record<string, number>;
  /** CPU of the configuration's processes during the run, percent of one core, by role (front, workers, dev process…). */
  cpuByRole: RoleCpu;
  headline: Headline;
  /** CPU used by processes that are not the bench's, percent of one core (others on the machine). */
  foreignCpuPercent: number;
  /** The configuration did not serve again within the deadline after the run. */
  notRecovered: boolean;
}

/** Everything the runner needs. */
export interface FaultRunContext {
  root: string;
  plan: FaultPlan;
  ourGroups: ReadonlySet<number>;
  signal: AbortSignal;
  log(text: string): void;
}

const RECOVERY_DEADLINE_MS = 20_000;

/** The configuration's own way to deploy new code. */
function deployer(running: RunningConfiguration): () => Promise<string> {
  let n = 0;
  return async () => {
    if (running.config.deploy === 'touch-watched') {
      // The dev server watches this folder: a changed .ts file is a reload, as an editor's save is.
      writeFileSync(join(running.watchDir!, `deploy-${++n}.ts`), `export const deployed = ${Date.now()};\n`);
      return 'code changed (dev reload)';
    }
    const app = running.layers.find((l) => l.layer === 'app');
    if (app === undefined) throw new Error(`${running.config.name} has no app server layer to reload`);
    process.kill(app.pgid, 'SIGHUP');
    return 'SIGHUP to the app server';
  };
}

async function waitServing(running: RunningConfiguration, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  let good = 0;
  while (Date.now() < deadline && !signal.aborted) {
    try {
      const res = await probe(running.baseUrl + running.config.readyPath, { timeoutMs: 2000 });
      good = res.status === 200 ? good + 1 : 0;
    } catch {
      good = 0;
    }
    // A few answers in a row: after a crash or a reload, every process is back, not just one.
    if (good >= 5) return true;
    await sleep(100);
  }
  return false;
}

/** Percent of one core per process role between two samples of the configuration's groups. */
function roleCpu(running: RunningConfiguration, before: Map<number, GroupSample>, after: Map<number, GroupSample>, seconds: number): RoleCpu {
  const out: RoleCpu = {};
  for (const layer of running.layers) {
    const was = before.get(layer.pgid)?.memberCpu ?? {};
    for (const [pid, cpu] of Object.entries(after.get(layer.pgid)?.memberCpu ?? {})) {
      const role = processRole(Number(pid), layer.layer);
      out[role] = (out[role] ?? 0) + (Math.max(0, cpu - (was[Number(pid)] ?? 0)) / seconds) * 100;
    }
  }
  return out;
}

/** Run `scenario` on `running`. */
export async function runFault(scenario: FaultScenario, running: RunningConfiguration, ctx: FaultRunContext): Promise<FaultRecord> {
  const plan: FaultPlan = { ...ctx.plan, durationMs: scenario.windowMs?.(ctx.plan) ?? ctx.plan.durationMs };
  const port = running.ports.main!;
  const foreign0 = foreignCpu(ctx.ourGroups);
  const pgids = running.layers.map((l) => l.pgid);
  const cpu0 = sampleGroups(pgids);
  const started = performance.now();
  const tools = { port, deploy: deployer(running), clock: () => performance.now() - started, signal: ctx.signal, root: ctx.root };
  const [samples, injection] = await Promise.all([
    runSteadyClient({ url: `http://127.0.0.1:${port}/api/ping/`, connections: plan.connections, rate: plan.rate, durationMs: plan.durationMs, timeoutMs: 5000 }, ctx.signal),
    scenario.inject(tools, plan),
  ]);
  const elapsed = performance.now() - started;
  const cpuByRole = roleCpu(running, cpu0, sampleGroups(pgids), elapsed / 1000);
  const foreignSeconds = foreignDelta(foreign0, foreignCpu(ctx.ourGroups));
  const lasting = injection.marks.filter((m) => m.untilMs > m.atMs);
  const instant = injection.marks.filter((m) => m.untilMs === m.atMs);
  const normal = normalTraffic(samples, plan.slowMs);
  const underFault = lasting.length ? normalTraffic(during(samples, lasting), plan.slowMs) : normal;
  // "Normal again" means as fast as before the first fault: on a busy machine the normal p99 can
  // sit above the fixed threshold, and the recovery would then measure the machine, not the fault.
  const before = normalTraffic(samples.filter((x) => x.dueMs < (injection.marks[0]?.atMs ?? 0)), plan.slowMs);
  const normalMs = Math.max(plan.slowMs, Number.isFinite(before.p99) ? 2 * before.p99 : 0);
  const recoveryMs = recoveryTimes(samples, instant, normalMs, plan.durationMs);
  const bucketMs = plan.durationMs <= 8000 ? 100 : 250;
  const recovered = await waitServing(running, ctx.signal);
  return {
    scenario: scenario.name,
    config: running.config.name,
    durationMs: plan.durationMs,
    plan,
    normal,
    underFault,
    marks: injection.marks,
    timeline: timeline(samples, plan.durationMs, bucketMs),
    bucketMs,
    recoveryMs,
    normalMs,
    counts: injection.counts,
    cpuByRole,
    headline: scenario.headline(normal, underFault, recoveryMs, cpuByRole, injection.counts),
    foreignCpuPercent: (foreignSeconds / (elapsed / 1000)) * 100,
    notRecovered: !recovered,
  };
}
