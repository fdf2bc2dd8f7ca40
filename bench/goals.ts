/**
 * The speed goals of the issues (3: app server, 4: front, 5: auth, 6: whole stack), checked on
 * the run's own numbers. Each ratio is paired by round (both sides measured back to back), so a
 * goal is only as trustworthy as the run: a missing side reads "not measured", an invalid side
 * "invalid". Issues 3, 4 and 6 set their goals with --loader wrk; a note says when it was not.
 */
import type { BenchResults, GoalResult, RunRecord, Summary } from './results.ts';
import { runsRatio } from './results.ts';

interface Side {
  config: string;
  scenario: string;
}

interface RatioGoal {
  issue: number;
  goal: string;
  a: Side;
  b: Side;
  min: number;
  wantsWrk: boolean;
}

function ratioGoals(targets: readonly string[]): RatioGoal[] {
  const g = (issue: number, goal: string, a: Side, b: Side, min: number, wantsWrk = true): RatioGoal => ({ issue, goal, a, b, min, wantsWrk });
  const goals: RatioGoal[] = [
    g(3, 'app on uWS engine ≥ 0.9× bare uWS, GET /api/ping/', { config: 'app-uws-1', scenario: 'ping' }, { config: 'bare-uws', scenario: 'ping' }, 0.9),
    g(3, 'app on node:http engine ≥ 0.9× bare node:http, GET /api/ping/', { config: 'app-http-1', scenario: 'ping' }, { config: 'bare-http', scenario: 'ping' }, 0.9),
    g(3, 'uWS engine ≥ 1.5× node:http engine, 1 worker each, ping', { config: 'app-uws-1', scenario: 'ping' }, { config: 'app-http-1', scenario: 'ping' }, 1.5),
    g(3, 'CPU route: N workers ≥ 1.7× 1 worker (uWS)', { config: 'app-uws-N', scenario: 'cpu' }, { config: 'app-uws-1', scenario: 'cpu' }, 1.7),
    g(3, 'CPU route: N workers ≥ 1.7× 1 worker (node:http)', { config: 'app-http-N', scenario: 'cpu' }, { config: 'app-http-1', scenario: 'cpu' }, 1.7),
    g(4, 'front static 1 KB ≥ 1.2× Nginx', { config: 'stack-uws', scenario: 'static-1k' }, { config: 'nginx-static', scenario: 'static-1k' }, 1.2),
    g(4, 'front static 100 KB ≥ 1.0× Nginx', { config: 'stack-uws', scenario: 'static-100k' }, { config: 'nginx-static', scenario: 'static-100k' }, 1.0),
    g(4, 'front static 1 MB ≥ 0.9× Nginx', { config: 'stack-uws', scenario: 'static-1m' }, { config: 'nginx-static', scenario: 'static-1m' }, 0.9),
    g(4, 'front proxying ping to 1 worker ≥ 0.75× Nginx, same upstream', { config: 'stack-uws-1', scenario: 'ping' }, { config: 'nginx-proxy', scenario: 'ping' }, 0.75),
    g(5, 'hello ≥ 0.85× ping on the same server (prod stack)', { config: 'stack-uws', scenario: 'hello' }, { config: 'stack-uws', scenario: 'ping' }, 0.85, false),
    g(5, 'hello ≥ 0.85× ping on the same server (app alone, uWS, 1 worker)', { config: 'app-uws-1', scenario: 'hello' }, { config: 'app-uws-1', scenario: 'ping' }, 0.85, false),
    g(6, 'prod stack (uWS) ≥ 0.7× dev server on hello', { config: 'stack-uws', scenario: 'hello' }, { config: 'dev', scenario: 'hello' }, 0.7),
    g(6, 'prod stack (uWS) ≥ 5× dev server on static 1 KB', { config: 'stack-uws', scenario: 'static-1k' }, { config: 'dev', scenario: 'static-1k' }, 5),
    g(6, 'prod stack (uWS) ≥ 1.7× dev server on the CPU route', { config: 'stack-uws', scenario: 'cpu' }, { config: 'dev', scenario: 'cpu' }, 1.7),
  ];
  for (const t of targets) {
    goals.push(
      g(6, `prod stack (uWS) ≥ 10× ${t} on hello`, { config: 'stack-uws', scenario: 'hello' }, { config: t, scenario: 'hello' }, 10),
      g(6, `prod stack (uWS) ≥ 4× ${t} on ping`, { config: 'stack-uws', scenario: 'ping' }, { config: t, scenario: 'ping' }, 4),
      g(6, `prod stack (uWS) ≥ 0.8× ${t} on static 1 KB`, { config: 'stack-uws', scenario: 'static-1k' }, { config: t, scenario: 'static-1k' }, 0.8),
      g(6, `prod stack (uWS) ≥ 0.8× ${t} on static 100 KB`, { config: 'stack-uws', scenario: 'static-100k' }, { config: t, scenario: 'static-100k' }, 0.8),
      g(6, `prod stack (uWS) ≥ 0.8× ${t} on static 1 MB`, { config: 'stack-uws', scenario: 'static-1m' }, { config: t, scenario: 'static-1m' }, 0.8),
    );
  }
  return goals;
}

const WORKER_RSS_LIMIT = 60 * 1024 * 1024;

function find(summaries: readonly Summary[], s: Side): Summary | undefined {
  return summaries.find((x) => x.config === s.config && x.scenario === s.scenario);
}

/** Check every goal the run has the numbers for. */
export function checkGoals(results: Omit<BenchResults, 'goals'>, runs: readonly RunRecord[]): GoalResult[] {
  const targets = results.configurations.filter((c) => c.kind === 'target').map((c) => c.name);
  const wrk = results.meta.loader === 'wrk';
  const out: GoalResult[] = [];
  for (const goal of ratioGoals(targets)) {
    const a = find(results.summaries, goal.a);
    const b = find(results.summaries, goal.b);
    const note = goal.wantsWrk && !wrk ? 'goal is set for --loader wrk' : '';
    if (a === undefined || b === undefined) {
      const missing = [a ? undefined : `${goal.a.scenario} × ${goal.a.config}`, b ? undefined : `${goal.b.scenario} × ${goal.b.config}`].filter(Boolean).join(', ');
      out.push({ issue: goal.issue, goal: goal.goal, status: 'not measured', measured: '', note: `needs ${missing}` });
      continue;
    }
    const ratio = runsRatio(runs, results.meta.rounds, goal.a, goal.b);
    const measured = ratio === undefined ? '' : `${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}, ${ratio.pairs} round${ratio.pairs === 1 ? '' : 's'})`;
    if (a.invalid || b.invalid) {
      out.push({ issue: goal.issue, goal: goal.goal, status: 'invalid', measured, note: 'a side had errors or non-2xx' });
    } else if (ratio === undefined) {
      out.push({ issue: goal.issue, goal: goal.goal, status: 'not measured', measured: '', note: 'no round measured both sides' });
    } else {
      out.push({ issue: goal.issue, goal: goal.goal, status: ratio.median >= goal.min ? 'pass' : 'fail', measured, note });
    }
  }
  // Issue 3: each idle worker's resident memory, aim under 60 MB.
  for (const c of results.configurations.filter((x) => x.kind === 'app')) {
    const biggest = Math.max(...c.idleRss.map((p) => p.bytes));
    out.push({
      issue: 3,
      goal: `idle process RSS < 60 MB (${c.name}, largest of ${c.idleRss.length} processes)`,
      status: biggest < WORKER_RSS_LIMIT ? 'pass' : 'fail',
      measured: `${(biggest / 1048576).toFixed(1)} MB`,
      note: 'includes the pool master',
    });
  }
  return out;
}
