/**
 * Step 5: the throughput rounds. Each round runs every scenario on every participant that serves
 * it, in an order rotated per round; the first round warms each pair up first. After the first
 * window of a trivial route on a participant, a short sequential sample reads Server-Timing (the
 * app's own time) for the layer breakdown.
 */
import type { MeasureContext } from '../measure.ts';
import { measure, warmUp } from '../measure.ts';
import type { LoadPlan } from '../loaders/load-plan.ts';
import type { BenchOptions } from '../options.ts';
import type { Participant } from '../participants.ts';
import type { Progress } from '../progress.ts';
import { ms, rate, us } from '../report/format.ts';
import type { Applicability, RunRecord, TimingSample } from '../results.ts';
import type { Scenario } from '../scenarios.ts';
import { sampleServerTiming } from '../server-timing.ts';
import { rotated } from '../stats.ts';
import { Interrupted } from './start.ts';

/** The scenarios whose cost is all layering: the breakdown is drawn for these. */
export const TRIVIAL_SCENARIOS = ['ping', 'hello'];

function describeRun(r: RunRecord): string {
  const bad = r.invalid ? `  INVALID: ${r.errors} errors, ${r.non2xx} non-2xx` : '';
  const cpu = Number.isFinite(r.cpuUsPerRequest) ? `  ${r.serverCpuEstimated ? '≈' : ''}${us(r.cpuUsPerRequest)} µs CPU/req` : '';
  return `${rate(r.rps).padStart(7)} req/s  p50 ${ms(r.latencyMs.p50)} ms  p99 ${ms(r.latencyMs.p99)} ms${cpu}${r.contaminated ? '  (disturbed: others used the CPU)' : ''}${bad}`;
}

/** Run the rounds. */
export async function measureRounds(
  scenarios: readonly Scenario[],
  participants: readonly Participant[],
  applicability: readonly Applicability[],
  options: BenchOptions,
  ctx: MeasureContext,
  progress: Progress,
): Promise<{ runs: RunRecord[]; timings: TimingSample[] }> {
  const runs: RunRecord[] = [];
  const timings: TimingSample[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const scenario of scenarios) {
      const here = participants.filter((p) => applicability.some((a) => a.config === p.name && a.scenario === scenario.name && a.status === 'measured'));
      for (const p of rotated(here, round)) {
        if (ctx.signal.aborted) throw new Interrupted();
        const connections = scenario.connections(options);
        const request = () => scenario.request(p.paths[scenario.name] ?? scenario.path, p.session, connections);
        const plan = async (seconds: number): Promise<LoadPlan> => {
          const req = await request();
          return { url: p.baseUrl + req.path, method: req.method, headers: req.headers, body: req.body, chain: req.chain, connections, pipelining: options.pipelining, durationSeconds: seconds };
        };
        const label = `[round ${round + 1}/${options.rounds}] ${scenario.name} × ${p.name}`;
        if (round === 0 && options.warmupSeconds > 0) {
          await warmUp(ctx, await plan(options.warmupSeconds), (t, n) => progress.update(`${label} warm-up`, t, options.warmupSeconds, n));
        }
        const seconds = Math.max(options.durationSeconds, scenario.minSeconds ?? 0);
        const record = await measure(ctx, p, scenario.name, round, () => plan(seconds), (t, n) => progress.update(label, t, seconds, n));
        runs.push(record);
        ctx.log(`${label.padEnd(44)} ${describeRun(record)}`);
        if (round === 0 && TRIVIAL_SCENARIOS.includes(scenario.name) && p.running) {
          const req = await request();
          if (req.method === 'GET') {
            timings.push({ config: p.name, scenario: scenario.name, meansUs: await sampleServerTiming(p.baseUrl + req.path, req.headers, options.quick ? 100 : 400) });
          }
        }
      }
    }
  }
  return { runs, timings };
}
