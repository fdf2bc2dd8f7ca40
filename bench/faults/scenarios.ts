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
  /** What the figure is, e.g. "p99 of normal requests under attack". */
  label: string;
  /** Decides between equal values (lower is better), e.g. the worst latency when no request failed. */
  tieBreak?: number;
}

/** One fault scenario. */
export interface FaultScenario {
  name: string;
  title: string;
  /** What the scenario shows, one sentence for the report. */
  question: string;
  /** Configurations it runs on (when they are part of the run), dev server first. */
  configs: readonly string[];
  inject(tools: FaultTools, plan: FaultPlan): Promise<Injection>;
  /** The deciding figure, from the normal traffic of the whole run and under the fault, and the recovery times. */
  headline(all: NormalTraffic, underFault: NormalTraffic, recoveryMs: readonly number[]): Headline;
}

/** Send one GET on a fresh connection; resolves with the status or the error code, never rejects. */
export function fireOnce(port: number, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
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
  headline: (_all, under) => ({ value: under.p99, unit: 'ms', label: 'p99 of normal requests under attack' }),
};

/** Requests that kill their process: an uncaught exception in a callback, then process.exit. */
const crashingRoute: FaultScenario = {
  name: 'crash',
  title: 'a crashing route (uncaught exception, process.exit)',
  question: 'Some requests kill the process that serves them: how many normal requests fail, and how long until service is normal again?',
  configs: ['dev', 'stack-net', 'app-net-N'],
  async inject(tools, plan) {
    const every = plan.durationMs / 3;
    const marks: FaultMark[] = [];
    const answers: Record<string, number> = {};
    const hows = ['throw', 'exit'];
    for (let i = 0; i < 2; i++) {
      await sleepUntil(tools, every * (i + 0.6));
      const at = tools.clock();
      const how = hows[i % 2]!;
      marks.push({ atMs: at, untilMs: at, label: how === 'throw' ? 'uncaught exception' : 'process.exit' });
      const answer = await fireOnce(tools.port, `/api/fault/crash/?how=${how}`, 5000);
      answers[`crash answered ${answer}`] = (answers[`crash answered ${answer}`] ?? 0) + 1;
    }
    return { marks, counts: { crashRequests: marks.length, ...answers } };
  },
  headline: (all, _under, recovery) => ({ value: all.errorRate * 100, unit: '%', label: `of normal requests failed; back to normal after ${Math.round(median(recovery))} ms (median)` }),
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
  headline: (all) => ({ value: all.slowOrFailedShare * 100, unit: '%', label: `of normal requests slower than ${all.slowMs} ms or failed` }),
};

/** New code under load: the dev server's reload, the app server's SIGHUP. */
const deploy: FaultScenario = {
  name: 'deploy',
  title: 'a deploy under load (dev reload, app server SIGHUP)',
  question: 'The code changes while requests keep coming: how many fail, and how high does latency spike?',
  configs: ['dev', 'stack-net', 'app-net-N'],
  async inject(tools, plan) {
    await sleepUntil(tools, plan.durationMs * 0.25);
    const at = tools.clock();
    const how = await tools.deploy();
    return { marks: [{ atMs: at, untilMs: at, label: how }], counts: {} };
  },
  headline: (all) => ({ value: all.errors, unit: 'failed', label: `normal requests failed; worst latency ${Math.round(all.max)} ms`, tieBreak: all.max }),
};

/** Every fault scenario, in report order. */
export const FAULT_SCENARIOS: readonly FaultScenario[] = [slowClients, crashingRoute, blockingRoute, deploy];
