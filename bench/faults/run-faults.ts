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
import { foreignCpu, foreignDelta } from '../cpu.ts';
import { probe } from '../http-probe.ts';
import type { RunningConfiguration } from '../launcher.ts';
import { during, normalTraffic, recoveryTimes, timeline, type FaultMark, type NormalTraffic, type TimelineBucket } from './analysis.ts';
import type { FaultPlan, FaultScenario, Headline } from './scenarios.ts';
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
  counts: Record<string, number>;
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

/** Run `scenario` on `running`. */
export async function runFault(scenario: FaultScenario, running: RunningConfiguration, ctx: FaultRunContext): Promise<FaultRecord> {
  const plan = ctx.plan;
  const port = running.ports.main!;
  const foreign0 = foreignCpu(ctx.ourGroups);
  const started = performance.now();
  const tools = { port, deploy: deployer(running), clock: () => performance.now() - started, signal: ctx.signal, root: ctx.root };
  const [samples, injection] = await Promise.all([
    runSteadyClient({ url: `http://127.0.0.1:${port}/api/ping/`, connections: plan.connections, rate: plan.rate, durationMs: plan.durationMs, timeoutMs: 5000 }, ctx.signal),
    scenario.inject(tools, plan),
  ]);
  const elapsed = performance.now() - started;
  const foreignSeconds = foreignDelta(foreign0, foreignCpu(ctx.ourGroups));
  const lasting = injection.marks.filter((m) => m.untilMs > m.atMs);
  const instant = injection.marks.filter((m) => m.untilMs === m.atMs);
  const normal = normalTraffic(samples, plan.slowMs);
  const underFault = lasting.length ? normalTraffic(during(samples, lasting), plan.slowMs) : normal;
  const recoveryMs = recoveryTimes(samples, instant, plan.slowMs, plan.durationMs);
  const bucketMs = plan.durationMs <= 6000 ? 100 : 250;
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
    counts: injection.counts,
    headline: scenario.headline(normal, underFault, recoveryMs),
    foreignCpuPercent: (foreignSeconds / (elapsed / 1000)) * 100,
    notRecovered: !recovered,
  };
}
