/**
 * The master process of the pool, after Gunicorn's arbiter.py. It owns no requests: it forks
 * workers, watches their heartbeats, replaces the dead and the stuck, and turns signals into
 * changes of the pool's shape. Signal handlers only put the signal in a queue and wake the main
 * loop; the loop is the one place that acts, so two signals never interleave half-done work.
 *
 * Listening: the master binds the one socket, exclusively (no SO_REUSEPORT: no other process can
 * bind the same port and take a share of the traffic), accepts every connection and deals it to a
 * worker that can serve now (dealer.ts); workers never listen.
 *
 * Over 400 lines, on purpose: the one loop and the handlers it runs are the arbiter's single
 * concept (Gunicorn keeps arbiter.py whole for the same reason); the helpers live elsewhere.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomInt } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { Dealer, type Seat } from './dealer.ts';
import { describeConfig, type ServerConfig } from '../config.ts';
import { formatAddress, type ParsedAddress as Address, parseAddress } from '../../options/grammar.ts';
import { APP_LOAD_ERROR, BOOT_ERROR } from '../exit-codes.ts';
import { nodeEntry } from '../launch.ts';
import { LogWriter } from '../../wire/log-writer.ts';
import { errorLine } from './error-log.ts';
import { isWorkerMessage, type MasterMessage, WORKER_SETTINGS_ENV, type WorkerSettings } from './messages.ts';

/** What the master knows about one worker. */
interface WorkerRecord {
  readonly worker: Worker;
  readonly pid: number;
  /** Spawn order: the oldest workers are retired first (Gunicorn's worker.age). */
  readonly age: number;
  /** Which reload the worker belongs to; a HUP starts a new generation. */
  readonly generation: number;
  state: 'booting' | 'ready' | 'retiring';
  lastBeat: number;
  /** The worker asked to be replaced; it is stopped once a replacement is ready. */
  retireRequested: boolean;
  /** When to escalate to SIGKILL (after a stop order or a SIGABRT), or 0. */
  killAt: number;
  timedOut: boolean;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'] as const;
type PoolSignal = (typeof SIGNALS)[number];

/** Boot back-off: 0.1 s after the first failed boot, doubling, at most 10 s. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** How long a worker told to stop now (QUIT) or sent SIGABRT gets before SIGKILL. */
const KILL_GRACE_MS = 1000;
/**
 * How long a booting worker may go without a heartbeat, at least (--timeout applies if longer).
 * Starting a process and importing the app is heavy synchronous work: on a loaded machine it can
 * take seconds before the first beat, and a worker killed for that is replaced by one that boots
 * just as slowly, so the pool never gets ready. A worker stuck while booting is still killed, later.
 */
export const BOOT_GRACE_MS = 30_000;
/**
 * A worker whose heartbeat is this many beats late gets no new connection until it beats again:
 * its event loop is blocked (a long synchronous request), and a connection dealt to it would wait.
 */
const LATE_BEATS = 2.5;
/** How long, at most, to wait after a worker's exit for the last messages on its channel. */
const CHANNEL_DRAIN_MS = 2000;

/** The pool master. `run()` resolves with the process exit code when the pool has stopped. */
export class Arbiter {
  #config: ServerConfig;
  readonly #reloadConfig: (() => ServerConfig) | undefined;
  readonly #log: LogWriter;
  #bind: Address;
  #target: number;
  #generation = 0;
  #ages = 0;
  readonly #workers = new Map<number, WorkerRecord>();
  readonly #queue: PoolSignal[] = [];
  #wake: (() => void) | null = null;
  #bootFailures = 0;
  #nextSpawnAt = 0;
  /** A reload failed to boot: spawn nothing new until the next HUP. */
  #reloadFailed = false;
  #announced = false;
  #stopping: 'graceful' | 'immediate' | null = null;
  #exitCode = 0;
  #tickMs = 1000;
  readonly #dealer: Dealer;

  /**
   * @param config the configuration to start with.
   * @param reloadConfig reads the configuration again (file and environment) on HUP, as Gunicorn does.
   */
  constructor(config: ServerConfig, reloadConfig?: () => ServerConfig) {
    this.#config = config;
    this.#reloadConfig = reloadConfig;
    this.#log = new LogWriter(config.errorLog, process.stderr, { what: 'error log' });
    // Workers open the access log themselves; a path they cannot open must stop the start here.
    if (config.accessLog !== 'off') void new LogWriter(config.accessLog, process.stdout, { what: 'access log' }).close();
    this.#bind = parseAddress(config.bind, { unix: true, portZero: true });
    this.#target = config.workers;
    this.#setTick();
    this.#dealer = new Dealer(
      () => this.#seats(),
      (message) => this.#error(message),
      (message) => this.#info(message),
    );
  }

  /** Milliseconds between a worker's heartbeats, as #spawn() tells workers. */
  #beatMs(): number {
    return Math.max(50, Math.min(1000, (this.#config.timeout * 1000) / 4 || 1000));
  }

  /** The workers that may be dealt a connection now: serving, not retiring, heartbeat on time. */
  #seats(): Seat[] {
    const seats: Seat[] = [];
    const lateAt = Date.now() - LATE_BEATS * this.#beatMs();
    for (const [key, record] of this.#workers) {
      if (record.state === 'ready' && record.lastBeat >= lateAt && record.worker.isConnected()) seats.push({ key, worker: record.worker, preferred: !record.retireRequested });
    }
    return seats;
  }

  /** The loop wakes often enough to notice a missed heartbeat well within --timeout. */
  #setTick(): void {
    const timeoutMs = this.#config.timeout * 1000;
    this.#tickMs = timeoutMs > 0 ? Math.max(50, Math.min(1000, timeoutMs / 4)) : 1000;
  }

  /** HUP: adopt a re-read configuration for the next generation; bind, engine and logs need a restart. */
  #reread(): void {
    if (this.#reloadConfig === undefined) return;
    let next: ServerConfig;
    try {
      next = this.#reloadConfig();
    } catch (error) {
      this.#error(`Reload: the configuration is invalid (${(error as Error).message}); keeping the current one`);
      return;
    }
    const fixed = (['bind', 'engine', 'errorLog'] as const).filter((key) => next[key] !== this.#config[key]);
    if (fixed.length > 0) this.#error(`Reload: changes to ${fixed.join(', ')} need a restart; keeping the current values`);
    const adopted = { ...next, bind: this.#config.bind, engine: this.#config.engine, errorLog: this.#config.errorLog };
    if (adopted.workers !== this.#config.workers) this.#target = adopted.workers;
    this.#config = adopted;
    this.#setTick();
  }

  #info(message: string): void {
    this.#log.write(errorLine('INFO', message));
  }

  #error(message: string): void {
    this.#log.write(errorLine('ERROR', message));
  }

  /** Start the pool and run until it is stopped; resolves with the exit code. */
  async run(): Promise<number> {
    // node:cluster only forks here: workers never listen (no shared handle, no scheduling
    // policy); the dealer gives them connections.
    const worker = nodeEntry('server/pool/worker.ts');
    cluster.setupPrimary({ exec: worker.script, execArgv: worker.execArgv });
    cluster.on('message', (worker, message) => this.#onMessage(worker, message));
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal as NodeJS.Signals | null));
    const handlers = SIGNALS.map((signal) => {
      const handler = () => this.#enqueue(signal);
      process.on(signal, handler);
      return [signal, handler] as const;
    });

    if (this.#bind.kind === 'unix') await removeStaleSocket(this.#bind.path);
    this.#info(`Starting layerstack pool (pid:${process.pid}), ${this.#config.engine} engine, app ${this.#config.app}`);
    this.#info(`Configuration:\n${describeConfig(this.#config).join('\n')}`);
    try {
      // "Any free port" becomes the port bound, for the workers, the READY line and every reload.
      this.#bind = await this.#dealer.listen(this.#bind);
    } catch (error) {
      this.#error(`Cannot listen at ${formatAddress(this.#bind)}: ${(error as Error).message}`);
      for (const [signal, handler] of handlers) process.off(signal, handler);
      this.#log.flush();
      return BOOT_ERROR;
    }

    while (this.#stopping === null || this.#workers.size > 0) {
      this.#handleSignals();
      this.#murderWorkers();
      if (this.#stopping === null) this.#manageWorkers();
      await this.#sleep();
    }
    this.#dealer.close();
    for (const [signal, handler] of handlers) process.off(signal, handler);
    this.#info(`Shutting down: master (pid:${process.pid}) exits`);
    this.#log.flush();
    return this.#exitCode;
  }

  #enqueue(signal: PoolSignal): void {
    // Gunicorn keeps at most 5 pending signals; more of the same adds nothing.
    if (this.#queue.length < 5) this.#queue.push(signal);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, this.#tickMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #handleSignals(): void {
    for (let signal = this.#queue.shift(); signal !== undefined; signal = this.#queue.shift()) {
      switch (signal) {
        case 'SIGTERM':
        case 'SIGINT':
          this.#info(`Handling signal: ${signal.slice(3).toLowerCase()}: graceful stop`);
          this.#stop('graceful');
          break;
        case 'SIGQUIT':
          this.#info('Handling signal: quit: immediate stop');
          this.#stop('immediate');
          break;
        case 'SIGHUP':
          if (this.#stopping !== null) break;
          this.#reread();
          this.#generation++;
          this.#reloadFailed = false;
          this.#info(`Handling signal: hup: reloading (generation ${this.#generation}: new workers start, old ones retire once they serve)`);
          break;
        case 'SIGTTIN':
          this.#target++;
          this.#info(`Handling signal: ttin: ${this.#target} workers`);
          break;
        case 'SIGTTOU':
          this.#target = Math.max(1, this.#target - 1);
          this.#info(`Handling signal: ttou: ${this.#target} workers`);
          break;
        case 'SIGUSR1':
          this.#info('Handling signal: usr1: reopening log files');
          try {
            this.#log.reopen();
          } catch (error) {
            this.#error(`${(error as Error).message}; still writing to the old file`);
          }
          for (const record of this.#workers.values()) record.worker.process.kill('SIGUSR1');
          break;
      }
    }
  }

  #stop(how: 'graceful' | 'immediate'): void {
    if (this.#stopping === 'immediate' || this.#stopping === how) return;
    this.#stopping = how;
    // Stop accepting now, as Gunicorn closes its listeners: new clients are refused (the front
    // tries another upstream), not held for workers that are leaving.
    this.#dealer.close();
    const timeoutMs = how === 'graceful' ? this.#config.gracefulTimeout * 1000 : 0;
    for (const record of this.#workers.values()) this.#order(record, how === 'graceful', timeoutMs);
  }

  /** Tell a worker to stop, and set when to SIGKILL it if it has not left by then. */
  #order(record: WorkerRecord, graceful: boolean, timeoutMs: number): void {
    const booting = record.state === 'booting';
    record.state = 'retiring';
    record.killAt = Date.now() + timeoutMs + KILL_GRACE_MS;
    if (booting) {
      // A booting worker serves nothing yet, and may not be listening for messages yet (its app
      // is still loading): a 'stop' would be lost, and the worker would boot and serve on until
      // the kill deadline (a TERM during a HUP's reload kept the pool up for --graceful-timeout).
      // A signal is never lost: before the worker's handlers exist it simply ends the process.
      record.worker.process.kill('SIGTERM');
      return;
    }
    const message: MasterMessage = { type: 'stop', graceful, timeoutMs };
    // A worker that exits at this moment never reads it: the kill deadline below covers that.
    if (record.worker.isConnected()) record.worker.send(message, undefined, () => {});
    else record.worker.process.kill(graceful ? 'SIGTERM' : 'SIGQUIT');
  }

  /** Kill workers whose heartbeat stopped (Gunicorn's murder_workers), and those past their stop deadline. */
  #murderWorkers(): void {
    const now = Date.now();
    const timeoutMs = this.#config.timeout * 1000;
    for (const record of this.#workers.values()) {
      if (record.killAt > 0 && now >= record.killAt) {
        this.#error(`Worker (pid:${record.pid}) did not exit in time: SIGKILL`);
        record.worker.process.kill('SIGKILL');
        record.killAt = now + KILL_GRACE_MS;
        continue;
      }
      const allowedMs = record.state === 'booting' ? Math.max(timeoutMs, BOOT_GRACE_MS) : timeoutMs;
      if (timeoutMs > 0 && !record.timedOut && record.state !== 'retiring' && now - record.lastBeat > allowedMs) {
        const during = record.state === 'booting' ? ' while booting' : '';
        this.#error(`WORKER TIMEOUT (pid:${record.pid}): no heartbeat for ${((now - record.lastBeat) / 1000).toFixed(1)} s${during} (event loop blocked?)`);
        record.timedOut = true;
        record.state = 'retiring';
        // SIGABRT first, as Gunicorn does (a core dump, where enabled, shows where it was stuck).
        record.worker.process.kill('SIGABRT');
        record.killAt = now + KILL_GRACE_MS;
      }
    }
  }

  /** Spawn or retire workers until the current generation has the target count (manage_workers). */
  #manageWorkers(): void {
    const current = [...this.#workers.values()].filter((r) => r.generation === this.#generation && r.state !== 'retiring' && !r.retireRequested);
    if (current.length < this.#target) {
      const now = Date.now();
      if (now < this.#nextSpawnAt || this.#reloadFailed) return;
      for (let i = current.length; i < this.#target; i++) this.#spawn();
      return;
    }
    if (current.length > this.#target) {
      const excess = current.sort((a, b) => a.age - b.age).slice(0, current.length - this.#target);
      for (const record of excess) {
        this.#info(`Retiring worker (pid:${record.pid}): pool shrinks to ${this.#target}`);
        this.#order(record, true, this.#config.gracefulTimeout * 1000);
      }
    }
  }

  #spawn(): void {
    const config = this.#config;
    const jitter = config.maxRequests > 0 && config.maxRequestsJitter > 0 ? randomInt(0, config.maxRequestsJitter + 1) : 0;
    const settings: WorkerSettings = {
      ...config,
      bind: formatAddress(this.#bind),
      maxRequestsForWorker: config.maxRequests > 0 ? config.maxRequests + jitter : 0,
      beatMs: Math.max(50, Math.min(1000, (config.timeout * 1000) / 4 || 1000)),
    };
    const worker = cluster.fork({ [WORKER_SETTINGS_ENV]: JSON.stringify(settings) });
    const record: WorkerRecord = {
      worker,
      pid: worker.process.pid ?? 0,
      age: ++this.#ages,
      generation: this.#generation,
      state: 'booting',
      lastBeat: Date.now(),
      retireRequested: false,
      killAt: 0,
      timedOut: false,
    };
    // node:cluster re-emits the child's 'error' (a failed fork, a message to a worker whose channel
    // just closed) on the Worker, where an unhandled one would crash the master with exit code 1.
    worker.on('error', (error: Error) => this.#error(`Worker (pid:${record.pid}): ${error.message}`));
    this.#workers.set(worker.id, record);
    this.#info(`Booting worker with pid: ${record.pid}`);
  }

  #onMessage(worker: Worker, message: unknown): void {
    if (!isWorkerMessage(message)) return;
    // Read even after the worker's exit (its last messages may come after): a connection it
    // took must not be dealt again.
    if (message.type === 'took') return this.#dealer.took(worker.id, message.id);
    if (message.type === 'refused') return this.#dealer.refused(worker.id, message.id);
    const record = this.#workers.get(worker.id);
    if (record === undefined) return;
    const wasLate = record.lastBeat < Date.now() - LATE_BEATS * this.#beatMs();
    record.lastBeat = Date.now();
    switch (message.type) {
      case 'beat':
        if (wasLate) this.#dealer.flush();
        return;
      case 'retire':
        this.#info(`Worker (pid:${record.pid}) ${message.reason}: replacing it`);
        record.retireRequested = true;
        this.#wakeUp();
        return;
      case 'ready':
        if (record.state !== 'booting') return;
        record.state = 'ready';
        this.#bootFailures = 0;
        this.#info(`Worker (pid:${record.pid}) listening at ${formatAddress(message.bind)}`);
        this.#retireSuperseded();
        this.#announce();
        this.#dealer.flush();
        this.#wakeUp();
        return;
    }
  }

  /** With a new worker serving, stop the ones it replaces: older generations, and retire requests. */
  #retireSuperseded(): void {
    if (this.#stopping !== null) return;
    const records = [...this.#workers.values()];
    const readyNow = records.filter((r) => r.generation === this.#generation && r.state === 'ready' && !r.retireRequested);
    if (readyNow.length >= this.#target) {
      for (const record of records) {
        if (record.generation !== this.#generation && record.state !== 'retiring') {
          this.#info(`Retiring worker (pid:${record.pid}) of generation ${record.generation}: reload complete`);
          this.#order(record, true, this.#config.gracefulTimeout * 1000);
        }
      }
    }
    for (const record of records) {
      if (record.retireRequested && record.state === 'ready' && readyNow.length >= this.#target) {
        this.#order(record, true, this.#config.gracefulTimeout * 1000);
      }
    }
  }

  /** Print the READY line once, when the first full set of workers listens. */
  #announce(): void {
    if (this.#announced) return;
    const ready = [...this.#workers.values()].filter((r) => r.state === 'ready');
    if (ready.length < this.#target) return;
    this.#announced = true;
    const address = formatAddress(this.#bind);
    this.#info(`Listening at: ${this.#bind.kind === 'tcp' ? `http://${address}` : address} (master pid:${process.pid})`);
    this.#log.flush();
    process.stdout.write(`READY ${address} pid=${process.pid} workers=${ready.map((r) => r.pid).join(',')}\n`);
  }

  #onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const record = this.#workers.get(worker.id);
    if (record === undefined) return;
    this.#workers.delete(worker.id);
    this.#settleDeals(worker, record.pid);
    this.#wakeUp();
    const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
    if (this.#stopping !== null || (record.state === 'retiring' && !record.timedOut)) {
      this.#info(`Worker exiting (pid:${record.pid}, ${how})`);
      return;
    }
    if (record.timedOut) {
      this.#error(`Worker (pid:${record.pid}) killed after its timeout (${how}); replacing it`);
      return;
    }
    if (signal === 'SIGKILL') this.#error(`Worker (pid:${record.pid}) was sent SIGKILL! Perhaps out of memory?`);
    if (record.state === 'ready') {
      this.#error(`Worker (pid:${record.pid}) died unexpectedly (${how}); replacing it`);
      return;
    }
    // It died while booting.
    if (code === APP_LOAD_ERROR || code === BOOT_ERROR) {
      const what = code === APP_LOAD_ERROR ? 'App failed to load' : 'Worker failed to boot (its engine cannot start)';
      const serving = [...this.#workers.values()].filter((r) => r.state === 'ready' && r.generation < record.generation);
      if (serving.length === 0) {
        this.#error(`${what} (see the error above). Halting: restarting would fail the same way.`);
        this.#exitCode = code;
        this.#stop('immediate');
        return;
      }
      // A reload with broken code: keep the workers that serve, and wait for the next HUP.
      this.#error(`${what} during reload; the previous workers keep serving. Fix the app and send HUP again.`);
      this.#generation = Math.max(...serving.map((r) => r.generation));
      for (const other of this.#workers.values()) if (other.generation > this.#generation) this.#order(other, false, 0);
      this.#reloadFailed = true;
      return;
    }
    this.#bootFailures++;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.#bootFailures - 1));
    this.#nextSpawnAt = Date.now() + delay;
    this.#error(`Worker (pid:${record.pid}) died while booting (${how}); ${this.#bootFailures} failed boot(s) in a row, next try in ${(delay / 1000).toFixed(1)} s`);
  }

  /**
   * Once the exited worker's channel is read to its end (its last 'took' messages with it), deal
   * again the connections it never took. The exit can be seen before the channel's end.
   */
  #settleDeals(worker: Worker, pid: number): void {
    const until = Date.now() + CHANNEL_DRAIN_MS;
    const settle = () => {
      if (worker.process.connected && Date.now() < until) setTimeout(settle, 10);
      else this.#dealer.workerGone(worker.id, pid);
    };
    settle();
  }
}

/**
 * Remove a unix socket file left by a server that died without cleaning up (Gunicorn does the
 * same), but never one something still listens on, and never a file that is not a socket.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) return; // listen() will fail with a clear EADDRINUSE; not ours to delete
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) unlinkSync(path);
}
