/**
 * A whole bench run, in the order a careful person would do it by hand, one step per file in
 * steps/: check the inputs before starting anything (inputs.ts); build, make a private data
 * folder and the benchmark user (prepare.ts); start every configuration side by side (start.ts);
 * try each scenario once on each (check.ts); the throughput rounds (rounds.ts); the fault
 * scenarios (faults.ts); results and reports (results.ts). Whatever happens, every process the
 * run started is stopped before it returns or throws (Ctrl-C included).
 */
import { rmSync } from 'node:fs';
import { ownProcessGroup } from './cpu.ts';
import type { FaultRecord } from './faults/run-faults.ts';
import { stopConfiguration, type RunningConfiguration } from './launcher.ts';
import type { MeasureContext } from './measure.ts';
import type { BenchOptions } from './options.ts';
import { Progress } from './progress.ts';
import type { BenchResults, RunRecord, TimingSample } from './results.ts';
import { checkScenarios } from './steps/check.ts';
import { runFaultScenarios } from './steps/faults.ts';
import { checkInputs, QUICK_PAIRS } from './steps/inputs.ts';
import { buildIfNeeded, prepareRun, type Prepared } from './steps/prepare.ts';
import { assembleResults, writeReports } from './steps/results.ts';
import { measureRounds } from './steps/rounds.ts';
import { startAll } from './steps/start.ts';

export { BenchInputError, QUICK_CONFIGS } from './steps/inputs.ts';
export { Interrupted } from './steps/start.ts';

/** What a finished run hands back. */
export interface BenchOutcome {
  results: BenchResults;
  files: { json: string; markdown: string; html: string };
  /** Configurations that failed to start, and why (the run went on without them). */
  startFailures: { name: string; reason: string }[];
  invalid: boolean;
}

/** Run the bench as `options` say. `root` is the project folder. */
export async function runBench(options: BenchOptions, root: string, argv: readonly string[], signal: AbortSignal): Promise<BenchOutcome> {
  const startedAt = new Date();
  const progress = new Progress();
  const log = (text: string) => progress.line(text);

  const inputs = await checkInputs(options, root, log);
  log(`loader: ${inputs.loader.name} (${inputs.loaderReason})`);
  log(`note: the loader and the servers share this machine's cores: throughput figures are partly the loader's; server CPU per request is not.`);
  const buildFailure = buildIfNeeded(inputs.chosen, root);
  const running: RunningConfiguration[] = [];
  let prepared: Prepared | undefined;
  try {
    prepared = await prepareRun(inputs.chosen, inputs.scenarios, root, log);
    const started = await startAll(inputs.chosen, inputs.portsOf, prepared, options, root, running, buildFailure, signal, log);
    const unavailable = [...inputs.unavailable, ...started.startFailures.map((f) => ({ name: f.name, reason: `failed to start: ${f.reason}` }))];
    const only = options.quick && options.configs === undefined ? QUICK_PAIRS : undefined;
    const applicability = await checkScenarios(inputs.scenarios, inputs.faults, started.participants, only, log);
    const ourGroups = new Set<number>([ownProcessGroup(), ...running.flatMap((r) => r.layers.map((l) => l.pgid))]);
    const quiet = { maxBusyPercent: options.quietMaxPercent, windowMs: options.quietWindowMs, maxWaitMs: options.quietWaitSeconds * 1000 };
    const ctx: MeasureContext = { loader: inputs.loader, quiet, retries: options.retries, foreignMaxPercent: options.foreignMaxPercent, ourGroups, signal, log };
    let rounds: { runs: RunRecord[]; timings: TimingSample[] } = { runs: [], timings: [] };
    rounds = await measureRounds(inputs.scenarios, started.participants, applicability, options, ctx, progress);
    // Processes born since (replaced workers) belong to the same groups: ourGroups still covers them.
    const faults: FaultRecord[] = await runFaultScenarios(inputs.faults, started.participants, applicability, options, { root, ourGroups, quiet, signal, log });
    const results = assembleResults({
      options,
      argv,
      root,
      startedAt,
      loader: inputs.loader,
      loaderReason: inputs.loaderReason,
      baseline: inputs.baseline,
      infos: started.infos,
      unavailable,
      scenarios: inputs.scenarios,
      faultScenarios: inputs.faults,
      applicability,
      runs: rounds.runs,
      timings: rounds.timings,
      faults,
    });
    const files = writeReports(results, root, options.outDir, startedAt);
    const invalid = results.summaries.some((s) => s.invalid) || applicability.some((a) => a.status === 'failed');
    return { results, files, startFailures: started.startFailures, invalid };
  } finally {
    await Promise.all(running.map((r) => stopConfiguration(r)));
    if (prepared) rmSync(prepared.runRoot, { recursive: true, force: true });
  }
}
