/**
 * One layer of the running stack (the front, the app server) as a supervised child process:
 * started, waited on until it answers, restarted with back-off if it dies, and stopped with
 * SIGTERM (then SIGKILL after a grace period). The stack process is to its layers what
 * Gunicorn's arbiter is to its workers, one level up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** How to run and check one layer. */
export interface LayerSpec {
  /** Short name for logs: "front", "app server". */
  name: string;
  /** The command line (argv[0] is the program). */
  command: string[];
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Resolves once the layer answers; rejects (or never resolves) if it cannot. */
  ready(): Promise<void>;
  /** Milliseconds to wait for `ready` at start (default 30 s). */
  readyTimeoutMs?: number;
}

const MAX_BACKOFF_MS = 10_000;

/** A supervised child process. */
export class Layer {
  readonly spec: LayerSpec;
  #child: ChildProcess | undefined;
  /** Set once by `stop()` and never cleared: after it, nothing may start this layer again. */
  #stopping = false;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #log: (line: string) => void;

  constructor(spec: LayerSpec, log: (line: string) => void) {
    this.spec = spec;
    this.#log = log;
  }

  /** The running process id, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start the layer and wait until it answers; rejects with a clear message if it exits first. */
  async start(): Promise<void> {
    const child = this.#spawn();
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`${this.spec.name} exited during start-up (${signal ?? `code ${code}`}); see its messages above`)),
      ),
    );
    const timeoutMs = this.spec.readyTimeoutMs ?? 30_000;
    const timer = new AbortController();
    const timeout = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
      throw new Error(`${this.spec.name} did not answer within ${timeoutMs / 1000} s`);
    });
    timeout.catch(() => {});
    try {
      await Promise.race([this.spec.ready(), exited, timeout]);
    } catch (error) {
      // The supervisor is not watching this child yet (its exit handler is attached below), so
      // killing it here restarts nothing; `#stopping` is stop()'s alone.
      child.kill('SIGKILL');
      throw error;
    } finally {
      timer.abort();
    }
    if (this.#stopping) {
      // stop() came while this start waited for the layer to answer; its SIGTERM is on the way.
      throw new Error(`${this.spec.name} was stopped during start-up`);
    }
    exited.catch(() => {});
    child.once('exit', (code, signal) => this.#onExit(code, signal));
  }

  #spawn(): ChildProcess {
    const [program, ...args] = this.spec.command;
    const child = spawn(program!, args, { env: this.spec.env ?? process.env, cwd: this.spec.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    this.#child = child;
    return child;
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopping) return;
    this.#restarts++;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.#restarts - 1, 6));
    this.#log(`${this.spec.name} died (${signal ?? `code ${code}`}); restarting in ${delay} ms (restart #${this.#restarts})`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      this.start().then(
        () => {
          this.#log(`${this.spec.name} is back (pid ${this.pid})`);
          this.#restarts = 0;
        },
        (error: Error) => {
          // A restart that failed because stop() interrupted it (its SIGTERM made the new child
          // exit during start-up) is the shutdown working, not a crash to retry: retrying would
          // start a layer nobody stops.
          if (this.#stopping) return;
          this.#log(`${this.spec.name} failed to restart: ${error.message}`);
          this.#onExit(null, null);
        },
      );
    }, delay);
    this.#restartTimer.unref();
  }

  /** Pass `signal` to the running process (a reload); false when none is running or it is stopping. */
  signal(signal: NodeJS.Signals): boolean {
    const child = this.#child;
    if (this.#stopping || child === undefined || child.exitCode !== null || child.signalCode !== null) return false;
    return child.kill(signal);
  }

  /** Ask the layer to stop gracefully; SIGKILL it if it is still there after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const inTime = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!inTime) {
      this.#log(`${this.spec.name} did not stop within ${graceMs} ms; killing it`);
      child.kill('SIGKILL');
      await exited;
    }
  }
}
