/**
 * `npm run proxy -- [options]`: run the front from flags, environment and an optional JSON file.
 *
 * Signals, as with Nginx and the app server's arbiter:
 *   SIGTERM / SIGINT  graceful shutdown: stop accepting, finish in-flight requests (up to
 *                     --graceful-timeout), then exit 0. A second signal exits at once.
 *   SIGHUP            reload: re-read flags, environment and the config file; a bad new
 *                     configuration is reported and the running one kept. Reopens the access log.
 * Exit codes: 0 clean shutdown, 1 could not start (port in use, uWS binary missing), 2 bad configuration.
 * The configuration is printed to stderr at start; stdout carries only the access log.
 */
import { optionsOrExit } from '../options/index.ts';
import { describeConfig, frontConfigOf, loadConfig } from './config.ts';
import { startFront } from './front.ts';
import { PROXY_COMMAND } from './options.ts';

function say(line: string): void {
  process.stderr.write(line + '\n');
}

async function main(argv: string[]): Promise<void> {
  const { checked: config } = optionsOrExit(PROXY_COMMAND, argv, process.env, frontConfigOf);
  let front;
  try {
    front = await startFront(config);
  } catch (error) {
    say(`front: cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  say(describeConfig(config, front.port));

  process.on('SIGHUP', () => {
    try {
      const next = loadConfig(argv);
      const ignored = front.reload(next);
      say('front: reloaded\n' + describeConfig(next, front.port));
      for (const line of ignored) say(`front: not applied: ${line}`);
    } catch (error) {
      say(`front: reload failed, keeping the running configuration: ${(error as Error).message}`);
    }
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      say(`front: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    say(`front: ${signal}: graceful shutdown (${front.core.inFlight} request(s) in flight)`);
    front.close().then(
      () => {
        say('front: stopped');
        process.exit(0);
      },
      (error: Error) => {
        say(`front: shutdown error: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main(process.argv.slice(2));
