/**
 * The goals a run is checked against, each named by what it measures: speed ratios between
 * configurations measured side by side in the same run, and the idle memory of every process of
 * the production stack as `npm start` runs it (compiled JavaScript, server/launch.ts).
 */
import { runsRatio, type BenchResults, type GoalResult, type RunRecord, type Summary } from './results.ts';

interface Side {
  config: string;
  scenario: string;
}

interface RatioGoal {
  goal: string;
  a: Side;
  b: Side;
  min: number;
  wantsWrk: boolean;
}

function ratioGoals(targets: readonly string[]): RatioGoal[] {
  const g = (goal: string, a: Side, b: Side, min: number, wantsWrk = true): RatioGoal => ({ goal, a, b, min, wantsWrk });
  const goals: RatioGoal[] = [
    g('app server overhead: app on the node:http engine ≥ 0.9× a bare node:http handler, ping', { config: 'app-http-1', scenario: 'ping' }, { config: 'bare-http', scenario: 'ping' }, 0.9),
    g('engine speed: net engine ≥ 1.1× node:http engine, 1 worker each, ping', { config: 'app-net-1', scenario: 'ping' }, { config: 'app-http-1', scenario: 'ping' }, 1.1),
    g('worker scaling: CPU route, N workers ≥ 1.7× 1 worker (net)', { config: 'app-net-N', scenario: 'cpu' }, { config: 'app-net-1', scenario: 'cpu' }, 1.7),
    g('worker scaling: CPU route, N workers ≥ 1.7× 1 worker (node:http)', { config: 'app-http-N', scenario: 'cpu' }, { config: 'app-http-1', scenario: 'cpu' }, 1.7),
    g('front static files: 1 KB ≥ 1.2× Nginx', { config: 'stack-net', scenario: 'static-1k' }, { config: 'nginx-static', scenario: 'static-1k' }, 1.2),
    g('front static files: 100 KB ≥ 1.0× Nginx', { config: 'stack-net', scenario: 'static-100k' }, { config: 'nginx-static', scenario: 'static-100k' }, 1.0),
    g('front static files: 1 MB ≥ 0.9× Nginx', { config: 'stack-net', scenario: 'static-1m' }, { config: 'nginx-static', scenario: 'static-1m' }, 0.9),
    g('front proxying: ping to 1 worker ≥ 0.75× Nginx in front of the same app server', { config: 'stack-net-1', scenario: 'ping' }, { config: 'nginx-proxy', scenario: 'ping' }, 0.75),
    g('JWT cost: hello ≥ 0.85× ping on the same server (production stack)', { config: 'stack-net', scenario: 'hello' }, { config: 'stack-net', scenario: 'ping' }, 0.85, false),
    g('JWT cost: hello ≥ 0.85× ping on the same server (app alone, net, 1 worker)', { config: 'app-net-1', scenario: 'hello' }, { config: 'app-net-1', scenario: 'ping' }, 0.85, false),
    g('production vs development: hello ≥ 0.7× the dev server', { config: 'stack-net', scenario: 'hello' }, { config: 'dev', scenario: 'hello' }, 0.7),
    g('production vs development: static 1 KB ≥ 5× the dev server', { config: 'stack-net', scenario: 'static-1k' }, { config: 'dev', scenario: 'static-1k' }, 5),
    g('production vs development: CPU route ≥ 1.7× the dev server', { config: 'stack-net', scenario: 'cpu' }, { config: 'dev', scenario: 'cpu' }, 1.7),
    // Issue 13: the front as the edge.
    g('edge: proxied ping ≥ 0.9× Nginx in front of the same app server', { config: 'stack-net-1', scenario: 'ping' }, { config: 'nginx-proxy', scenario: 'ping' }, 0.9),
    g('edge: static 1 KB ≥ 1.3× Nginx', { config: 'stack-net', scenario: 'static-1k' }, { config: 'nginx-static', scenario: 'static-1k' }, 1.3),
    g('edge: TLS keep-alive, proxied ping ≥ 0.8× Nginx with TLS', { config: 'front-tls-1', scenario: 'ping' }, { config: 'nginx-tls', scenario: 'ping' }, 0.8),
    g('edge: new TLS handshakes per second ≥ 0.8× Nginx', { config: 'front-tls-1', scenario: 'tls-handshake' }, { config: 'nginx-tls', scenario: 'tls-handshake' }, 0.8),
    g('edge: 20 KB JSON with gzip level 6 ≥ 0.8× Nginx', { config: 'front-gzip-1', scenario: 'json-gzip' }, { config: 'nginx-gzip', scenario: 'json-gzip' }, 0.8),
    g('edge: npm start ≥ 1.0× the dev server on hello', { config: 'start', scenario: 'hello' }, { config: 'dev', scenario: 'hello' }, 1.0),
    g('edge: npm start ≥ 1.0× the dev server on ping', { config: 'start', scenario: 'ping' }, { config: 'dev', scenario: 'ping' }, 1.0),
  ];
  for (const t of targets) {
    goals.push(
      g(`production vs ${t}: hello ≥ 10×`, { config: 'stack-net', scenario: 'hello' }, { config: t, scenario: 'hello' }, 10),
      g(`production vs ${t}: ping ≥ 4×`, { config: 'stack-net', scenario: 'ping' }, { config: t, scenario: 'ping' }, 4),
      g(`production vs ${t}: static 1 KB ≥ 0.8×`, { config: 'stack-net', scenario: 'static-1k' }, { config: t, scenario: 'static-1k' }, 0.8),
      g(`production vs ${t}: static 100 KB ≥ 0.8×`, { config: 'stack-net', scenario: 'static-100k' }, { config: t, scenario: 'static-100k' }, 0.8),
      g(`production vs ${t}: static 1 MB ≥ 0.8×`, { config: 'stack-net', scenario: 'static-1m' }, { config: t, scenario: 'static-1m' }, 0.8),
    );
  }
  return goals;
}

/** Idle resident memory every process of the production stack should stay under. */
export const PROCESS_RSS_LIMIT = 60 * 1024 * 1024;

function find(summaries: readonly Summary[], s: Side): Summary | undefined {
  return summaries.find((x) => x.config === s.config && x.scenario === s.scenario);
}

/** Check every goal the run has the numbers for. */
export function checkGoals(results: Omit<BenchResults, 'goals' | 'conclusion'>, runs: readonly RunRecord[]): GoalResult[] {
  const targets = results.configurations.filter((c) => c.kind === 'target').map((c) => c.name);
  const wrk = results.meta.loader === 'wrk';
  const out: GoalResult[] = [];
  for (const goal of ratioGoals(targets)) {
    const a = find(results.summaries, goal.a);
    const b = find(results.summaries, goal.b);
    const note = goal.wantsWrk && !wrk ? 'set for --loader wrk' : '';
    if (a === undefined || b === undefined) {
      const missing = [a ? undefined : `${goal.a.scenario} × ${goal.a.config}`, b ? undefined : `${goal.b.scenario} × ${goal.b.config}`].filter(Boolean).join(', ');
      out.push({ goal: goal.goal, status: 'not measured', measured: '', note: `needs ${missing}` });
      continue;
    }
    const ratio = runsRatio(runs, results.meta.rounds, goal.a, goal.b);
    const measured = ratio === undefined ? '' : `${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}, ${ratio.pairs} round${ratio.pairs === 1 ? '' : 's'})`;
    if (a.invalid || b.invalid) {
      out.push({ goal: goal.goal, status: 'invalid', measured, note: 'a side had errors or non-2xx' });
    } else if (ratio === undefined) {
      out.push({ goal: goal.goal, status: 'not measured', measured: '', note: 'no round measured both sides' });
    } else {
      out.push({ goal: goal.goal, status: ratio.median >= goal.min ? 'pass' : 'fail', measured, note });
    }
  }
  // Memory: measured on what `npm start` runs. The `start` configuration is exactly that; the
  // stack-net configuration runs the same compiled front, master and workers without the supervisor.
  const shipped = results.configurations.find((c) => c.name === 'start') ?? results.configurations.find((c) => c.name === 'stack-net' && c.compiled);
  const goal = 'idle memory: every process of the production stack as npm start runs it (compiled) < 60 MB RSS';
  if (shipped === undefined || shipped.idleRss.length === 0) {
    out.push({ goal, status: 'not measured', measured: '', note: 'needs the start or stack-net configuration' });
  } else {
    const biggest = shipped.idleRss.reduce((a, p) => (p.bytes > a.bytes ? p : a));
    out.push({
      goal,
      status: biggest.bytes < PROCESS_RSS_LIMIT ? 'pass' : 'fail',
      measured: `largest ${(biggest.bytes / 1048576).toFixed(1)} MB (${biggest.role}) of ${shipped.idleRss.length} processes`,
      note: `on ${shipped.name}: ${shipped.idleRss.map((p) => `${p.role} ${(p.bytes / 1048576).toFixed(0)}`).join(', ')} MB`,
    });
  }
  return out;
}
