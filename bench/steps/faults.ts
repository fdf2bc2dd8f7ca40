/**
 * Step 6: the fault scenarios, after the throughput rounds (a crash or a deploy changes the
 * processes under test). Each runs on the configurations it names, dev server first.
 */
import { type FaultRecord, runFault } from '../faults/run-faults.ts';
import type { FaultPlan, FaultScenario } from '../faults/scenarios.ts';
import type { BenchOptions } from '../options.ts';
import type { Participant } from '../participants.ts';
import { waitForQuiet, type QuietPolicy } from '../quiet.ts';
import { ms } from '../report/format.ts';
import type { Applicability } from '../results.ts';
import { Interrupted } from './start.ts';

/** The fault runs' sizes for a full run and for --quick. */
export function faultPlan(options: BenchOptions): FaultPlan {
  return {
    durationMs: options.quick ? 3500 : 10_000,
    // Modest on purpose: the normal client must not be what saturates a small, shared machine.
    rate: 300,
    connections: 8,
    slowMs: 50,
    slowConnections: options.quick ? 300 : 400,
  };
}

function describe(r: FaultRecord): string {
  const n = r.normal;
  const u = r.underFault;
  const recovery = r.recoveryMs.length ? `  back to normal after ${r.recoveryMs.map((x) => Math.round(x)).join(', ')} ms` : '';
  const kinds = Object.entries(n.failures).map(([k, v]) => `${v}× ${k}`).join(', ');
  return `${n.requests} normal requests, ${n.errors} failed (${(n.errorRate * 100).toFixed(1)}%${kinds ? `: ${kinds}` : ''})  p50 ${ms(u.p50)} ms  p99 ${ms(u.p99)} ms  max ${ms(n.max)} ms${recovery}${r.notRecovered ? '  NOT SERVING AFTERWARDS' : ''}`;
}

/** Run every fault scenario on its configurations. */
export async function runFaultScenarios(
  faults: readonly FaultScenario[],
  participants: readonly Participant[],
  applicability: readonly Applicability[],
  options: BenchOptions,
  ctx: { root: string; ourGroups: ReadonlySet<number>; quiet: QuietPolicy; signal: AbortSignal; log(text: string): void },
): Promise<FaultRecord[]> {
  const plan = faultPlan(options);
  const out: FaultRecord[] = [];
  for (const fault of faults) {
    for (const name of fault.configs) {
      const p = participants.find((x) => x.name === name);
      if (!p?.running || !applicability.some((a) => a.config === name && a.scenario === fault.name && a.status === 'measured')) continue;
      if (ctx.signal.aborted) throw new Interrupted();
      await waitForQuiet(ctx.quiet, ctx.signal);
      const record = await runFault(fault, p.running, { root: ctx.root, plan, ourGroups: ctx.ourGroups, signal: ctx.signal, log: ctx.log });
      out.push(record);
      ctx.log(`[fault] ${`${fault.name} × ${name}`.padEnd(30)} ${describe(record)}`);
    }
  }
  return out;
}
