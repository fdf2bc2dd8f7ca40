/**
 * `npm run proxy -- [options]`: run the front from flags, environment and an optional JSON file.
 *
 * Signals, as with Nginx and the app server's arbiter:
 *   SIGTERM / SIGINT  graceful shutdown: stop accepting, finish in-flight requests (up to
 *                     --graceful-timeout), then exit 0. A second signal exits at once.
 *   SIGHUP            reload: re-read flags, environment and the config file; a bad new
 *                     configuration is reported and the running one kept. Reopens the access
 *                     and error logs (log rotation); a log that cannot be opened is a bad
 *                     configuration like any other.
 * With --processes N (N > 1) this process is the master of N that serve (front-processes.ts); they
 * take their signals from it, and ignore SIGINT themselves (a CONTROL-C reaches the whole terminal
 * process group: the master's TERM makes them finish their requests, not exit at once).
 * Exit codes: 0 clean shutdown, 1 could not start (port in use), 2 bad configuration (one line naming the option).
 * The configuration is printed to stderr at start; stdout carries only the access log. Errors
 * while serving (refusals, upstream failures, reload failures) go to --error-log (stderr by
 * default) through the one bounded LogWriter.
 */
import { optionsOrExit } from '../options/index.ts';
import { describeConfig, frontConfigOf, loadConfig } from './config.ts';
import { startFront } from './front.ts';
import { isFrontProcess, runFrontProcesses } from './front-processes.ts';
import { PROXY_COMMAND } from './options.ts';
import { LogWriter } from '../wire/log-writer.ts';

function say(line: string): void {
  process.stderr.write(line + '\n');
}

async function main(argv: string[]): Promise<void> {
  const { checked: config } = optionsOrExit(PROXY_COMMAND, argv, process.env, frontConfigOf);
  const child = isFrontProcess();
  if (config.processes > 1 && !child) await runFrontProcesses(config, argv, say);
  // One of several: the master prints the configuration once and names each process by pid.
  const me = child ? `front[${process.pid}]` : 'front';
  const openErrorLog = (target: string) => new LogWriter(target, process.stderr, { what: 'error log' });
  let errorLog: LogWriter;
  let front;
  try {
    errorLog = openErrorLog(config.errorLog);
    front = await startFront(config, (line) => errorLog.write(`[front] ${line}`));
  } catch (error) {
    say(`${me}: cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  if (!child) say(describeConfig(config, front.port));

  process.on('SIGHUP', () => {
    let fresh: LogWriter | null = null;
    try {
      const next = loadConfig(argv);
      fresh = openErrorLog(next.errorLog); // reopened: log rotation works with SIGHUP
      const ignored = front.reload(next);
      const old = errorLog;
      errorLog = fresh;
      void old.close();
      say(child ? `${me}: reloaded` : 'front: reloaded\n' + describeConfig(next, front.port));
      if (!child) for (const line of ignored) say(`front: not applied: ${line}`);
    } catch (error) {
      void fresh?.close();
      const message = `reload failed, keeping the running configuration: ${(error as Error).message}`;
      say(`${me}: ${message}`);
      if (errorLog.target !== '-') errorLog.write(`[front] ${message}`);
    }
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      say(`${me}: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    say(`${me}: ${signal}: graceful shutdown (${front.core.inFlight} request(s) in flight)`);
    front.close().then(
      () => {
        say(`${me}: stopped`);
        errorLog.flush();
        process.exit(0);
      },
      (error: Error) => {
        say(`${me}: shutdown error: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => (child ? undefined : stop('SIGINT')));
}

await main(process.argv.slice(2));
