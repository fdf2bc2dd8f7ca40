/**
 * The fault scenarios: what happens to normal traffic when something goes wrong, on each
 * configuration side by side. Each one injects its fault while the steady client
 * (steady-client.ts) sends ordinary requests, and names the figure that sums it up. Adding a
 * scenario is one entry in FAULT_SCENARIOS.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultMark, NormalTraffic } from './analysis.ts';

/** The sizes of one fault run (short ones for --quick). */
export interface FaultPlan {
  durationMs: number;
  /** The steady client: requests per second and connections. */
  rate: number;
  connections: number;
  /** A normal request slower than this counts as disturbed. */
  slowMs: number;
  /** Slow-client connections (bounded by the attacker itself). */
  slowConnections: number;
}

/** What a scenario may do to the configuration under test. */
export interface FaultTools {
  /** Loopback port of the configuration's entry point. */
  port: number;
  /** Deploy new code: the dev server's reload, or SIGHUP to the app server. */
  deploy(): Promise<string>;
  /** ms since the steady client started. */
  clock(): number;
  signal: AbortSignal;
  /** Project root (the attacker's script lives there). */
  root: string;
}

/** What an injection reports. */
export interface Injection {
  marks: FaultMark[];
  /** Counts worth recording (attacker connections, crash requests sent, …). */
  counts: Record<string, number>;
}

/** A figure that sums up a fault run, lower is better. */
export interface Headline {
  value: number;
  unit: string;
  /** What the figure is, the same for every configuration (table headers), e.g. "normal requests failed". */
  figure: string;
  /** The figure's sentence for this configuration, e.g. "of normal requests failed; back to normal after 400 ms". */
  label: string;
  /** Decides between equal values (lower is better), e.g. the worst latency when no request failed. */
  tieBreak?: number;
  /** What the tie-break is, shown beside the value in the summary table (always in ms), e.g. "p99". */
  tieBreakLabel?: string;
}

/** One fault scenario. */
export interface FaultScenario {
  name: string;
  title: string;
  /** What the scenario shows, one sentence for the report. */
  question: string;
  /** Configurations it runs on (when they are part of the run), dev server first. */
  configs: readonly string[];
  /** The run's length when it is not the plan's (the crash scenario needs room for the repair). */
  windowMs?(plan: FaultPlan): number;
  inject(tools: FaultTools, plan: FaultPlan): Promise<Injection>;
  /** The deciding figure, from the normal traffic of the whole run and under the fault, the recovery times, the CPU spent and the injection's counts. */
  headline(all: NormalTraffic, underFault: NormalTraffic, recoveryMs: readonly number[], cpu: RoleCpu, counts: Readonly<Record<string, number>>): Headline;
}

/** CPU the configuration's processes used during a fault run, percent of one core, by process role. */
export type RoleCpu = Record<string, number>;

/** The roles that are the app's own processes (everything but the front and the supervisor above it). */
export function appCorePercent(cpu: RoleCpu): number {
  return Object.entries(cpu).reduce((sum, [role, pct]) => (role === 'front' || role === 'supervisor' ? sum : sum + pct), 0);
}

/** Send one request on a fresh connection; resolves with the status or the error code, never rejects. */
export function fireOnce(port: number, path: string, timeoutMs: number, method = 'GET'): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers: method === 'POST' ? { 'content-length': '0' } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve('reset'));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end();
  });
}

async function sleepUntil(tools: FaultTools, atMs: number): Promise<void> {
  const wait = atMs - tools.clock();
  if (wait > 0) await sleep(wait, undefined, { signal: tools.signal });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[(s.length - 1) >> 1]! : 0;
};

/** Hundreds of connections sending heads and bodies a byte at a time, from a separate process. */
const slowClients: FaultScenario = {
  name: 'slow-clients',
  title: 'slow clients (heads and bodies a byte at a time)',
  question: 'Hundreds of connections trickle their request heads and bodies one byte at a time: how slow do normal requests get meanwhile?',
  configs: ['dev', 'stack-net', 'app-net-N'],
  // At least 6 s, so the p99 of a quick run rests on some 1,600 requests under attack rather than
  // 800 (the 8th-slowest request, which one stall of the shared machine decides).
  windowMs: (plan) => Math.max(plan.durationMs, 6000),
  async inject(tools, plan) {
    const from = 300;
    const seconds = (plan.durationMs - from) / 1000;
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/faults/slow-clients.ts', String(tools.port), String(plan.slowConnections), '10', String(seconds)], {
      cwd: tools.root,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const stopChild = () => child.kill('SIGTERM');
    tools.signal.addEventListener('abort', stopChild, { once: true });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await sleepUntil(tools, from);
    const start = tools.clock() + 500; // the connections are open and trickling after about half a second
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      // Bounded even if the attacker ignored its own deadline.
      setTimeout(() => child.kill('SIGKILL'), plan.durationMs + 5000).unref();
    });
    tools.signal.removeEventListener('abort', stopChild);
    const m = /SLOWJSON (\{.*\})/.exec(out);
    const counts = m ? (JSON.parse(m[1]!) as Record<string, number>) : {};
    return { marks: [{ atMs: start, untilMs: plan.durationMs, label: `${plan.slowConnections} slow clients` }], counts: { slowConnections: plan.slowConnections, ...counts } };
  },
  // The deciding figure is what the issue asks of a server under attack: how slow normal requests
  // get, read as the median: every request pays the attack's cost on the event loop that serves
  // it (the dev server parses every trickled byte on the loop that runs the app; in production
  // the front reads them, in batches), and the median shows that cost. The p99 is given beside
  // it: on a small shared machine it is set by the scheduler more than by the servers (a request
  // through production wakes three processes, one through the dev server one), and it swings
  // between identical runs. Where the attack's CPU went (the app's own processes, or the front)
  // is read from /proc and given too: it is what the front is for, and load blurs it least.
  headline: (_all, under, _recovery, cpu) => ({
    value: under.p50,
    unit: 'ms',
    figure: 'median latency of normal requests under attack (then the p99)',
    label: `median latency of normal requests under attack (p99 ${under.p99 >= 100 ? under.p99.toFixed(0) : under.p99.toFixed(1)} ms); the attack cost the app's own processes ${appCorePercent(cpu).toFixed(0)}% of a core${cpu.front !== undefined ? `, the front ${cpu.front.toFixed(0)}%` : ''}`,
    tieBreak: under.p99,
    tieBreakLabel: 'p99',
  }),
};

/**
 * Requests that kill their process: an uncaught exception in a callback, then process.exit once
 * the service is back (a second crash while the first is still being repaired would measure the
 * repair twice). The deciding figure is per crash, so configurations that took a different
 * number of crashes in the window compare fairly.
 */
const crashingRoute: FaultScenario = {
  name: 'crash',
  title: 'a crashing route (uncaught exception, process.exit)',
  question: 'Some requests (POSTs) kill the process that serves them: how many normal requests fail, and how long until service is normal again?',
  configs: ['dev', 'stack-net', 'app-net-N'],
  windowMs: (plan) => plan.durationMs * 2,
  async inject(tools, plan) {
    // The plan is already this scenario's own (runFault applied windowMs).
    const window = plan.durationMs;
    const marks: FaultMark[] = [];
    const counts: Record<string, number> = {};
    const count = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
    const crash = async (how: 'throw' | 'exit') => {
      const at = tools.clock();
      marks.push({ atMs: at, untilMs: at, label: how === 'throw' ? 'uncaught exception' : 'process.exit' });
      // A POST, so what is measured is one process dying. A front retries an idempotent request
      // whose reused connection died without an answer (Nginx does too): a crashing GET is sent
      // again on a fresh connection and takes a second worker down with it.
      count(`crash answered ${await fireOnce(tools.port, `/api/fault/crash/?how=${how}`, 5000, 'POST')}`);
    };
    await sleepUntil(tools, window * 0.1);
    await crash('throw');
    // Wait until normal requests are answered again, then crash it the other way if the window leaves room to see the repair.
    while (tools.clock() < window * 0.6 && (await fireOnce(tools.port, '/api/ping/', 1000)) !== '200') await sleep(50, undefined, { signal: tools.signal });
    await sleepUntil(tools, Math.max(window * 0.45, tools.clock() + 300));
    if (tools.clock() < window * 0.65) await crash('exit');
    else count('second crash skipped: not serving again in time');
    return { marks, counts: { crashRequests: marks.length, ...counts } };
  },
  headline: (all, _under, recovery) => ({
    value: all.errors / Math.max(1, recovery.length),
    unit: 'failed',
    figure: 'normal requests failed per crash (then the time back to normal)',
    label: `normal requests failed per crash (${recovery.length} crash${recovery.length === 1 ? '' : 'es'}); back to normal after ${Math.round(median(recovery))} ms (median)`,
    tieBreak: median(recovery),
    tieBreakLabel: 'back after',
  }),
};

/** Requests that block the event loop for a while. */
const blockingRoute: FaultScenario = {
  name: 'blocking',
  title: 'a blocking route (event loop blocked 200 ms)',
  question: 'Some requests block their event loop for 200 ms: how many normal requests are delayed or fail meanwhile?',
  configs: ['dev', 'stack-net', 'app-net-N'],
  async inject(tools, plan) {
    const blockMs = 200;
    const every = 600;
    const marks: FaultMark[] = [];
    const pending: Promise<string>[] = [];
    for (let at = plan.durationMs * 0.15; at + blockMs < plan.durationMs * 0.9; at += every) {
      await sleepUntil(tools, at);
      const now = tools.clock();
      marks.push({ atMs: now, untilMs: now + blockMs, label: 'blocking request' });
      pending.push(fireOnce(tools.port, `/api/fault/block/?ms=${blockMs}`, 10_000));
    }
    const answers = await Promise.all(pending);
    return { marks, counts: { blockingRequests: marks.length, blockingAnswered200: answers.filter((a) => a === '200').length } };
  },
  headline: (all) => ({ value: all.slowOrFailedShare * 100, unit: '%', figure: `normal requests slower than ${all.slowMs} ms or failed`, label: `of normal requests slower than ${all.slowMs} ms or failed` }),
};

/** How long each long request of the deploy scenario takes to answer (the app's timer, /api/fault/sleep/). */
export const DEPLOY_LONG_MS = 5000;
/** Long requests of the deploy scenario, all in flight at the reload. */
export const DEPLOY_LONG_REQUESTS = 5;
/** When the deploy scenario's long requests start (staggered up to the deploy), and when it deploys (ms into the run). */
const DEPLOY_LONG_FROM_MS = 300;
const DEPLOY_AT_MS = 1500;

/**
 * New code under load: the dev server's reload, the app server's SIGHUP. Besides the steady short
 * requests, a few long ones (DEPLOY_LONG_MS each) are in flight across the reload, since what a
 * deploy does to requests still running is the difference: Gunicorn's SIGHUP lets old workers
 * finish them within --graceful-timeout, a reloader that restarts the process cuts them. Short
 * requests alone are almost never in flight at that moment.
 */
const deploy: FaultScenario = {
  name: 'deploy',
  title: 'a deploy under load (dev reload, app server SIGHUP)',
  question: `The code changes while requests keep coming, short ones and ${DEPLOY_LONG_REQUESTS} that take ${DEPLOY_LONG_MS / 1000} s each and are running at that moment: how many of each fail, and how high does the short ones' latency spike?`,
  configs: ['dev', 'stack-net', 'app-net-N'],
  // Short traffic keeps running until the long requests are due to have finished.
  windowMs: (plan) => Math.max(plan.durationMs, Math.max(DEPLOY_AT_MS, plan.durationMs * 0.25) + DEPLOY_LONG_MS + 1000),
  async inject(tools, plan) {
    const deployAt = Math.max(DEPLOY_AT_MS, plan.durationMs * 0.25);
    // Staggered, so they are at different points of their wait when the reload comes (the last
    // one starts ~250 ms before it); each one is bounded by its own deadline.
    const step = (deployAt - 250 - DEPLOY_LONG_FROM_MS) / Math.max(1, DEPLOY_LONG_REQUESTS - 1);
    const long = Array.from({ length: DEPLOY_LONG_REQUESTS }, async (_, i) => {
      await sleepUntil(tools, DEPLOY_LONG_FROM_MS + i * step);
      return fireOnce(tools.port, `/api/fault/sleep/?ms=${DEPLOY_LONG_MS}`, DEPLOY_LONG_MS + 10_000);
    });
    await sleepUntil(tools, deployAt);
    const at = tools.clock();
    const how = await tools.deploy();
    const answers = await Promise.all(long);
    const counts: Record<string, number> = { longRequests: answers.length, longFailed: answers.filter((a) => a !== '200').length };
    for (const a of answers) counts[`long answered ${a}`] = (counts[`long answered ${a}`] ?? 0) + 1;
    return { marks: [{ atMs: at, untilMs: at, label: how }], counts };
  },
  // Failed requests of both kinds first (a long request cut by the reload is a failed request),
  // then the worst latency of the short ones.
  headline: (all, _under, _recovery, _cpu, counts) => {
    const long = counts.longRequests ?? 0;
    const longFailed = counts.longFailed ?? 0;
    return {
      value: all.errors + longFailed,
      unit: 'failed',
      figure: `requests failed, short and ${DEPLOY_LONG_MS / 1000} s long ones (then the worst short latency)`,
      label: `requests failed (${all.errors} of ${all.requests} short, ${longFailed} of ${long} long ${DEPLOY_LONG_MS / 1000} s ones in flight at the reload); worst latency of the short ones ${Math.round(all.max)} ms`,
      tieBreak: all.max,
      tieBreakLabel: 'worst short',
    };
  },
};

/** Every fault scenario, in report order. */
export const FAULT_SCENARIOS: readonly FaultScenario[] = [slowClients, crashingRoute, blockingRoute, deploy];
