/**
 * Step 4: one request of each scenario on each participant before any load (it must be 2xx), so
 * a route that is missing or broken shows as such instead of as a fast stream of errors.
 */
import { LoginRouteMissing } from '../auth.ts';
import { FAULT_SCENARIOS, type FaultScenario } from '../faults/scenarios.ts';
import { probe, probeFailure } from '../http-probe.ts';
import type { Participant } from '../participants.ts';
import type { Applicability } from '../results.ts';
import type { Scenario } from '../scenarios.ts';

/** Try every scenario once on every participant; say which are measured, skipped or failed. */
export async function checkScenarios(
  scenarios: readonly Scenario[],
  faults: readonly FaultScenario[],
  participants: readonly Participant[],
  only: Readonly<Record<string, readonly string[]>> | undefined,
  log: (text: string) => void,
): Promise<Applicability[]> {
  const applicability: Applicability[] = [];
  for (const scenario of scenarios) {
    for (const p of participants) {
      const path = p.paths[scenario.name] ?? scenario.path;
      // A quick run measures only the pairs that tell the story; it says so rather than hiding the rest.
      if (only?.[scenario.name] !== undefined && !only[scenario.name]!.includes(p.name)) continue;
      const entry: Applicability = { config: p.name, scenario: scenario.name, status: 'measured', reason: '', path };
      applicability.push(entry);
      if (!p.capabilities.includes(scenario.needs)) {
        entry.status = 'skipped';
        entry.reason = `not served here (it serves only: ${p.capabilities.join(', ')})`;
        continue;
      }
      if (scenario.needs === 'auth' && p.session === undefined) {
        entry.status = 'skipped';
        entry.reason = p.noSessionReason;
        continue;
      }
      try {
        const req = await scenario.request(path, p.session, 1);
        const body = req.chain ? req.chain.before + req.chain.tokens[0] + req.chain.after : req.body;
        const res = await probe(p.baseUrl + req.path, { method: req.method, headers: req.headers, body, timeoutMs: 10_000 });
        if (res.status < 200 || res.status >= 300) {
          throw new Error(`${req.method} ${req.path} answered ${res.status}: ${res.body.slice(0, 160).replace(/\s+/g, ' ')}`);
        }
      } catch (error) {
        // An external target may simply not have the route: skip it. Our own configurations
        // declare what they serve, so a failure there is a bug to report loudly.
        entry.status = p.running && !(error instanceof LoginRouteMissing) ? 'failed' : 'skipped';
        entry.reason = error instanceof LoginRouteMissing ? error.message : `check request failed: ${probeFailure(error)}`;
        log(`${entry.status === 'failed' ? 'FAILED' : 'skipped'}: ${scenario.name} × ${p.name}: ${entry.reason}`);
      }
    }
  }
  for (const fault of faults) {
    for (const p of participants) {
      if (!fault.configs.includes(p.name)) continue;
      const entry: Applicability = { config: p.name, scenario: fault.name, status: 'measured', reason: '', path: '/api/ping/' };
      applicability.push(entry);
      if (!p.running || !p.capabilities.includes('faults')) {
        entry.status = 'skipped';
        entry.reason = 'fault scenarios run only on configurations the bench starts with its fault routes';
        continue;
      }
      // The fault routes must be there (and harmless when asked for 1 ms), or the scenario would measure 404s.
      try {
        const res = await probe(`${p.baseUrl}/api/fault/block/?ms=1`, { timeoutMs: 10_000 });
        if (res.status !== 200) throw new Error(`GET /api/fault/block/?ms=1 answered ${res.status}`);
      } catch (error) {
        entry.status = 'failed';
        entry.reason = `check request failed: ${probeFailure(error)}`;
        log(`FAILED: ${fault.name} × ${p.name}: ${entry.reason}`);
      }
    }
  }
  return applicability;
}

/** Every fault scenario name (for option parsing). */
export const FAULT_NAMES = FAULT_SCENARIOS.map((f) => f.name);
