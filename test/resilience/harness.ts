/**
 * What the resilience cases share: the stack run as `npm start` runs it (compiled dist/, its own
 * process group, a temporary data directory, a free loopback port), single layers run the same
 * way, process-tree and memory readings from /proc, a load generator, the suite/soak scale and
 * the figures each case records for `npm run soak`'s summary table.
 *
 * Every start function takes the caller's cleanup registrar (`after` or `t.after`) and registers
 * the kill of the whole process group *before* spawning; a process-exit hook kills whatever is
 * still running if a hook never ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DIST, PROJECT_ROOT } from '../../server/launch.ts';
import { build } from '../support/build.ts';
import { freePort } from '../support/net.ts';

/** `npm run soak` sets this: the same cases, longer and with bigger counts. */
export const SOAK = process.env.RESILIENCE_SOAK === '1';

/** The suite's count, or the soak's. */
export function scale(suite: number, soak: number): number {
  return SOAK ? soak : suite;
}

/** Record a case's figures: printed as a test diagnostic, and collected by `npm run soak` for its table. */
export function record(name: string, figures: Record<string, number | string | boolean>): void {
  const line = JSON.stringify({ case: name, ...figures });
  process.stdout.write(`# resilience ${line}\n`);
  const file = process.env.RESILIENCE_REPORT;
  if (file) appendFileSync(file, line + '\n');
}

export type Register = (fn: () => unknown) => void;

/**
 * Cleanups registered from a `before` hook (node:test's `after` called there would run when the
 * hook ends): create one in the describe block with `after(() => cleanup.run())`, pass `cleanup.add`.
 */
export class Cleanup {
  #fns: (() => unknown)[] = [];
  add: Register = (fn) => {
    this.#fns.push(fn);
  };
  async run(): Promise<void> {
    for (const fn of this.#fns.reverse()) await fn();
    this.#fns = [];
  }
}
export type EngineName = 'net' | 'http';
/** The app server's engines. */
export const ENGINES: readonly EngineName[] = ['net', 'http'];
export type FrontEngineName = 'net' | 'http';
/** The front's client-side engines. */
export const FRONT_ENGINES: readonly FrontEngineName[] = ['net', 'http'];

/** Process groups still running; killed when the test process exits, even if an after hook never ran. */
const groups = new Set<number>();
process.on('exit', () => {
  for (const pgid of groups) killGroup(pgid);
});
// A test run that is interrupted (CONTROL-C, or `npm run soak` stopped) skips 'exit' otherwise.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const pgid of groups) killGroup(pgid);
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** True while any process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
}

function procStat(pid: number | string): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]) };
  } catch {
    return null;
  }
}

function allProcs(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat !== null && stat.state !== 'Z') out.push(stat);
  }
  return out;
}

/** Live (non-zombie) children of `pid`. */
export function childrenOf(pid: number): number[] {
  return allProcs()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** Live processes of group `pgid`. */
export function groupPids(pgid: number): number[] {
  return allProcs()
    .filter((p) => p.pgid === pgid)
    .map((p) => p.pid);
}

/** Resident memory of `pid` in MB (0 if it is gone). */
export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return procStat(pid)?.state !== 'Z';
  } catch {
    return false;
  }
}

/** Poll `condition` every 20 ms; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(condition: () => T | undefined | false | null, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A program of the project run from dist/ in its own process group, its output collected. */
export class Spawned {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(argv: string[], env: NodeJS.ProcessEnv, stdout: 'pipe' | 'stalled' = 'pipe') {
    this.child = spawn(process.execPath, argv, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (this.child.pid !== undefined) groups.add(this.child.pid);
    if (stdout === 'pipe') this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    // 'stalled': nobody reads stdout; the pipe fills and stays full.
    else this.child.stdout!.pause();
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGKILL the whole process group and wait for the leader; safe to call twice. */
  async kill(): Promise<void> {
    killGroup(this.pid);
    await this.exited;
    await waitFor(() => !groupAlive(this.pid), 10_000, `process group ${this.pid} to end`).catch(() => {});
    groups.delete(this.pid);
  }

  /** Wait until the output matches `pattern`; throws with the output if the process exits first or time runs out. */
  async waitOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match !== null) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`did not print ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(25);
    }
  }
}

/** How to start the stack: what `npm start -- …` would be given, plus its environment. */
export interface StackSpec {
  engine: EngineName;
  frontEngine?: FrontEngineName;
  workers?: number;
  /** An app spec (default: the demo app). */
  app?: string;
  /** More `npm start` flags (e.g. ['--timeout', '4s']). */
  args?: string[];
  /** Extra environment (SIMPLE_JWT_* for auth). */
  env?: Record<string, string>;
  /** Reuse this data directory (kept afterwards); default: a new temporary one, removed afterwards. */
  dataDir?: string;
  /** Where the front's stdout (its access log) goes: collected, or a pipe nobody reads. */
  stdout?: 'pipe' | 'stalled';
}

/** The fault app: the demo app plus routes that misbehave on purpose (test/resilience/fault-app.mjs). */
export const FAULT_APP = `${join(PROJECT_ROOT, 'test/resilience/fault-app.mjs')}#createFaultApp()`;

/** The whole stack as `npm start` runs it: dist/stack/cli.js and everything it starts. */
export class Stack {
  readonly spec: StackSpec;
  readonly dataDir: string;
  port = 0;
  #process: Spawned | undefined;
  readonly #ownDataDir: boolean;

  private constructor(spec: StackSpec) {
    this.spec = spec;
    this.#ownDataDir = spec.dataDir === undefined;
    this.dataDir = spec.dataDir ?? mkdtempSync(join(tmpdir(), 'resilience-'));
  }

  /** Register the stack's kill with `register`, then start it and wait for its banner. */
  static async start(register: Register, spec: StackSpec): Promise<Stack> {
    const stack = new Stack(spec);
    register(() => stack.kill());
    await build();
    await stack.#start();
    return stack;
  }

  async #start(): Promise<void> {
    this.port = await freePort();
    const args = [join(DIST, 'stack/cli.js'), '--listen', `127.0.0.1:${this.port}`, '--workers', String(this.spec.workers ?? 2), '--engine', this.spec.engine];
    if (this.spec.frontEngine) args.push('--front-engine', this.spec.frontEngine);
    if (this.spec.app) args.push('--app', this.spec.app);
    args.push(...(this.spec.args ?? []));
    this.#process = new Spawned(args, { ...process.env, DATA_DIR: this.dataDir, ...this.spec.env }, this.spec.stdout);
    if (this.spec.stdout !== 'stalled') {
      await this.#process.waitOutput(/production stack is up/, 60_000);
      return;
    }
    // Its banner goes to the stalled stdout: poll the front instead (the supervisor starts it last).
    const process_ = this.#process;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (process_.child.exitCode !== null) throw new Error(`the stack exited (${process_.child.exitCode}):\n${process_.output}`);
      const ok = await fetch(`${this.base}/api/ping/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
      if (ok) {
        await waitFor(() => childrenOf(this.pid).length >= 2 || undefined, 10_000, 'both layers');
        return;
      }
      if (Date.now() > deadline) throw new Error(`the stack did not answer within 60 s:\n${process_.output}`);
      await sleep(200);
    }
  }

  /** Start again after a kill, on the same data directory (and a new port). */
  async restart(): Promise<void> {
    await this.#process?.kill();
    await this.#start();
  }

  get process(): Spawned {
    return this.#process!;
  }

  get output(): string {
    return this.#process?.output ?? '';
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The supervisor's pid (the process group of the whole stack). */
  get pid(): number {
    return this.#process!.pid;
  }

  /** The admin password printed at first start. */
  get adminPassword(): string {
    const match = /Created user "admin" with password: (\S+)/.exec(this.output);
    if (match === null) throw new Error(`no admin password in the stack's output:\n${this.output}`);
    return match[1]!;
  }

  /** The supervisor's children: the front and the app server master (pool), by command line. */
  #layer(script: string): number {
    for (const pid of childrenOf(this.pid)) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(script)) return pid;
      } catch {
        // gone
      }
    }
    throw new Error(`no ${script} under the stack (pid ${this.pid}):\n${this.output}`);
  }

  get frontPid(): number {
    return this.#layer('proxy/cli.js');
  }

  get appPid(): number {
    return this.#layer('server/pool/cli.js');
  }

  /** The app server's current worker pids. */
  workers(): number[] {
    return childrenOf(this.appPid);
  }

  /** Every live process of the stack. */
  pids(): number[] {
    return groupPids(this.pid).sort((a, b) => a - b);
  }

  /** SIGTERM, as CONTROL-C would: resolves with the exit code once the supervisor is gone. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    this.#process!.child.kill('SIGTERM');
    return Promise.race([this.#process!.exited, sleep(timeoutMs).then(() => 'timeout' as never)]);
  }

  /** SIGKILL to every process of the stack (and remove its data directory if it made one). */
  async kill(): Promise<void> {
    await this.#process?.kill();
    if (this.#ownDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** One layer alone, from dist/: `proxy/cli.js` (the front) or `server/pool/cli.js` (the app server). */
export async function startLayer(register: Register, script: 'proxy/cli.js' | 'server/pool/cli.js', args: string[], env: Record<string, string> = {}): Promise<Spawned> {
  let spawned: Spawned | undefined;
  register(() => spawned?.kill());
  await build();
  spawned = new Spawned([join(DIST, script), ...args], { ...process.env, ...env });
  return spawned;
}

/**
 * One `GET /api/ping/` on a fresh connection to the unix socket `path` (Connection: close):
 * resolves with the status code as text, 'closed' if the connection closed without an answer,
 * 'refused: …' if it could not connect, or 'hung after N ms' if it was still open at `timeoutMs`.
 */
export function rawPing(path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(path);
    let data = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`hung after ${Date.now() - started} ms`);
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      connected = true;
      socket.write('GET /api/ping/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (error) => {
      if (!connected) data = `refused: ${error.message}`;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data.startsWith('refused') ? data : /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 'closed');
    });
  });
}

/** Resolve once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitListening(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

interface AutocannonResult {
  requests: { total: number };
  latency: { p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result?: AutocannonResult) => void) => { stop(): void };
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** What the load generator saw. */
export interface LoadResult {
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  rate: number;
  p99Ms: number;
}

export interface LoadOptions {
  connections: number;
  /** Requests per second in all (default: as fast as the server answers). */
  rate?: number;
  seconds?: number;
  /** Stop after this many requests instead of after `seconds`. */
  amount?: number;
  headers?: Record<string, string>;
}

/** A running load: its result once it ends (after `seconds`, or `stop()`). */
export interface Load {
  done: Promise<LoadResult>;
  stop(): void;
}

/** Constant-rate load (autocannon): `connections` keep-alive connections, `rate` requests/s in all, for at most `seconds`. */
export function startLoad(url: string, options: LoadOptions): Load {
  const started = Date.now();
  let instance: { stop(): void } | undefined;
  const done = new Promise<LoadResult>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        connections: options.connections,
        timeout: 10,
        ...(options.rate !== undefined && { overallRate: options.rate }),
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
        ...(options.headers !== undefined && { headers: options.headers }),
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        resolve({
          requests: result!.requests.total,
          ok2xx: result!['2xx'],
          non2xx: result!.non2xx,
          errors: result!.errors,
          timeouts: result!.timeouts,
          rate: Math.round(result!.requests.total / seconds),
          p99Ms: result!.latency.p99,
        });
      },
    );
  });
  return { done, stop: () => instance?.stop() };
}

/** Constant-rate load for `seconds` (or until `amount` requests). */
export function load(url: string, options: LoadOptions): Promise<LoadResult> {
  return startLoad(url, options).done;
}
