/**
 * Step 1 of a run: everything that can be checked before anything starts (the loader, the
 * configurations and what each needs, external targets, ports). A mistake here is a
 * BenchInputError: exit 2, nothing started, nothing to clean up.
 */
import { spawnSync } from 'node:child_process';
import { CONFIGURATIONS, configurationNamed, type Configuration } from '../configurations.ts';
import { FAULT_SCENARIOS, type FaultScenario } from '../faults/scenarios.ts';
import { probe, probeFailure } from '../http-probe.ts';
import { missingRequirement } from '../launcher.ts';
import { autocannonLoader } from '../loaders/autocannon.ts';
import type { Loader } from '../loaders/load-plan.ts';
import { wrkLoader } from '../loaders/wrk.ts';
import type { BenchOptions } from '../options.ts';
import { PortAllocator } from '../ports.ts';
import { SCENARIOS, type Scenario } from '../scenarios.ts';

/** Bad input found before anything was started (unreachable target, port in use, missing tool). */
export class BenchInputError extends Error {}

/** The configurations a quick run uses when --config is not given (those that can run). */
export const QUICK_CONFIGS = ['dev', 'stack-net', 'app-net-1', 'nginx-proxy'];

/**
 * In a quick run, which configurations each throughput scenario runs on: the pairs that tell the
 * story (production against development; one worker against many; Nginx beside our front on the
 * trivial routes), not every combination.
 */
export const QUICK_PAIRS: Readonly<Record<string, readonly string[]>> = {
  ping: ['dev', 'stack-net', 'app-net-1', 'nginx-proxy'],
  hello: ['dev', 'stack-net', 'app-net-1', 'nginx-proxy'],
  'static-1k': ['dev', 'stack-net'],
  'static-100k': ['dev', 'stack-net'],
  'static-1m': ['dev', 'stack-net'],
  cpu: ['dev', 'app-net-1', 'stack-net'],
};

/** Whether a program is on the PATH. */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** What the checks settled. */
export interface CheckedInputs {
  loader: Loader;
  /** Why this loader (printed and recorded). */
  loaderReason: string;
  chosen: Configuration[];
  unavailable: { name: string; reason: string }[];
  scenarios: Scenario[];
  faults: FaultScenario[];
  baseline: string;
  portsOf: Map<string, Record<string, number>>;
}

function pickLoader(options: BenchOptions): { loader: Loader; reason: string } {
  const wrk = hasProgram('wrk');
  if (options.loader === 'wrk') {
    if (!wrk) throw new BenchInputError('--loader wrk: wrk is not installed (Debian: apt-get install wrk)');
    return { loader: wrkLoader, reason: 'asked for with --loader wrk' };
  }
  if (options.loader === 'autocannon') return { loader: autocannonLoader, reason: 'asked for with --loader autocannon' };
  if (options.pipelining > 1) return { loader: autocannonLoader, reason: 'pipelining needs autocannon' };
  return wrk
    ? { loader: wrkLoader, reason: 'wrk is installed: the lighter loader, it leaves more of the cores to the servers' }
    : { loader: autocannonLoader, reason: 'wrk is not installed (apt-get install wrk for lighter, truer figures)' };
}

/** Check the inputs and reserve the ports. */
export async function checkInputs(options: BenchOptions, root: string, log: (text: string) => void): Promise<CheckedInputs> {
  const { loader, reason } = pickLoader(options);
  const wanted = options.configs ?? (options.quick ? QUICK_CONFIGS : CONFIGURATIONS.map((c) => c.name));
  const unavailable: { name: string; reason: string }[] = [];
  const chosen: Configuration[] = [];
  for (const name of wanted) {
    const config = configurationNamed(name)!;
    const missing = missingRequirement(config, root, hasProgram);
    if (missing) {
      unavailable.push({ name, reason: missing });
      log(`${options.configs ? 'WARNING: ' : ''}configuration ${name} not run: ${missing}`);
    } else chosen.push(config);
  }
  if (chosen.length === 0 && options.targets.length === 0) {
    throw new BenchInputError(`none of the configurations can run (${unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ')})`);
  }
  for (const t of options.targets) {
    const path = options.targetPaths.ping ?? '/api/ping/';
    try {
      await probe(t.baseUrl + path, { timeoutMs: 5000 });
    } catch (error) {
      throw new BenchInputError(`--target ${t.name}: ${t.baseUrl} is unreachable (${probeFailure(error)}); start it first`);
    }
  }
  const scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const faults = FAULT_SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const baseline = options.baseline ?? (chosen.some((c) => c.name === 'dev') ? 'dev' : (chosen[0]?.name ?? options.targets[0]!.name));
  const ports = new PortAllocator(options.portBase);
  const portsOf = new Map<string, Record<string, number>>();
  for (const config of chosen) {
    const p: Record<string, number> = {};
    for (const role of config.portRoles) p[role] = await ports.take(`${config.name} (${role})`);
    portsOf.set(config.name, p);
  }
  return { loader, loaderReason: reason, chosen, unavailable, scenarios, faults, baseline, portsOf };
}
