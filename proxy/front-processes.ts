/**
 * `--processes N` (N > 1): the front as Nginx runs, a master and N processes that accept and serve
 * (Nginx's worker_processes). One front process is one core: past about 60k proxied requests a
 * second on this project's machine it is the stack's limit while the app server's workers idle
 * (bench/RESULTS.md, issue 13). The processes share the listening socket and the kernel hands
 * each new connection to one of them (node:cluster with SCHED_NONE: the master never touches a
 * connection). Each has its own upstream pools, health counts and file cache, as each Nginx
 * worker has without a shared `zone`.
 *
 * The master is an arbiter, as the app server's is: its signal handlers only queue a verb.
 *   TERM / INT  every process shuts down gracefully (--graceful-timeout); a second signal kills
 *               them and exits.
 *   HUP         the configuration is read and checked here first: a bad one is reported and
 *               nothing changes; a good one is announced and every process reloads it (each
 *               reopens its logs).
 *   a process that dies is replaced, at once if it had run a while, else after a back-off that
 *   doubles up to 10 s (a process that cannot start would otherwise be restarted in a loop).
 * Exit codes as for one process: 0 after a clean shutdown, 1 when the processes could not start.
 */
import cluster, { type Worker } from 'node:cluster';
import { describeConfig, loadConfig, type FrontConfig } from './config.ts';

/** A process that ran at least this long before it died is replaced at once. */
const STEADY_MS = 5_000;
const MAX_BACKOFF_MS = 10_000;

type Verb = 'stop' | 'reload';

/**
 * Set in the environment of the processes a master starts (its pid): a cluster worker started
 * by something else (another process manager's cluster mode) is not one of ours, and keeps
 * behaving as a front on its own.
 */
const MASTER_ENV = 'FRONT_PROCESS_OF';

/** True in a process the master started: it listens on the master's shared socket. */
export function isFrontProcess(): boolean {
  return cluster.isWorker && process.env[MASTER_ENV] !== undefined;
}

/** Run the master for `config.processes` processes; the process exits when they are done. */
export async function runFrontProcesses(config: FrontConfig, argv: string[], say: (line: string) => void): Promise<never> {
  // SCHED_NONE: the processes accept on the shared socket themselves. The default (round-robin)
  // makes the master accept every connection and pass it over IPC, a cost per connection that
  // no Nginx worker pays.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ args: argv });

  const started = new Map<Worker, number>();
  let stopping = false;
  let backoff = 0;
  let port = config.listen.port;

  const fork = (): Worker => {
    const worker = cluster.fork({ [MASTER_ENV]: String(process.pid) });
    started.set(worker, Date.now());
    return worker;
  };

  // Start-up: every process must be listening before the front says it is.
  const first = Array.from({ length: config.processes }, fork);
  try {
    port = await new Promise<number>((resolve, reject) => {
      let listening = 0;
      for (const worker of first) {
        worker.once('listening', (address) => {
          if (++listening === first.length) resolve(address.port);
        });
        worker.once('exit', (code, signal) => reject(new Error(`a front process exited during start-up (${signal ?? `code ${code}`}); see its message above`)));
      }
    });
  } catch (error) {
    say(`front: cannot start: ${(error as Error).message}`);
    for (const worker of first) worker.process.kill('SIGKILL');
    process.exit(1);
  }
  say(describeConfig(config, port));
  say(`  processes ${first.length}: pids ${first.map((w) => w.process.pid).join(', ')}`);

  cluster.on('exit', (worker, code, signal) => {
    const ranMs = Date.now() - (started.get(worker) ?? Date.now());
    started.delete(worker);
    if (stopping) {
      if (started.size === 0) finish();
      return;
    }
    backoff = ranMs >= STEADY_MS ? 0 : Math.min(Math.max(backoff * 2, 250), MAX_BACKOFF_MS);
    say(`front: process ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another${backoff > 0 ? ` in ${backoff} ms` : ''}`);
    setTimeout(() => {
      if (stopping) return;
      const next = fork();
      next.once('listening', () => say(`front: process ${next.process.pid} serving`));
    }, backoff).unref();
  });

  let exitCode = 0;
  const finish = (): void => {
    say('front: stopped');
    process.exit(exitCode);
  };

  // Signal handlers only queue; the queue is worked off outside them (Gunicorn's arbiter).
  const queue: Verb[] = [];
  const work = (): void => {
    for (let verb = queue.shift(); verb !== undefined; verb = queue.shift()) {
      if (verb === 'stop') {
        for (const worker of started.keys()) worker.process.kill('SIGTERM');
        if (started.size === 0) finish();
      } else if (!stopping) {
        try {
          const next = loadConfig(argv);
          if (next.processes !== config.processes) say(`front: not applied: --processes ${config.processes} → ${next.processes} needs a restart`);
          say('front: reloading every process\n' + describeConfig(next, port));
          for (const worker of started.keys()) worker.process.kill('SIGHUP');
        } catch (error) {
          say(`front: reload failed, keeping the running configuration: ${(error as Error).message}`);
        }
      }
    }
  };
  const onStop = (signal: string): void => {
    if (stopping) {
      say(`front: ${signal} again, stopping every process now`);
      for (const worker of started.keys()) worker.process.kill('SIGKILL');
      exitCode = 1;
      if (started.size === 0) finish();
      return;
    }
    stopping = true;
    say(`front: ${signal}: graceful shutdown of ${started.size} process(es)`);
    queue.push('stop');
    setImmediate(work);
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => {
    queue.push('reload');
    setImmediate(work);
  });
  return new Promise<never>(() => {});
}
