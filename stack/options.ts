/**
 * `npm start`'s options: the ones it passes on to its layers are the layers' own declarations
 * (server/options.ts, proxy/options.ts), so each means the same here as in `npm run serve` and
 * `npm run proxy`, with the same default.
 */
import { DATA_DIR_OPTION } from '../app/store/data-dir.ts';
import { boolean, type Command, GRACEFUL_TIMEOUT_OPTION, integer, listenOption } from '../options/index.ts';
import { FRONT_ENGINE_OPTION, FRONT_OPTIONS, MAX_FRONT_PROCESSES } from '../proxy/options.ts';
import { APP_ENGINE_OPTION, APP_OPTION, HOSTED_APP_OPTIONS, SERVE_COMMAND, WORKERS_OPTION } from '../server/options.ts';

const OPTIONS = {
  listen: listenOption('127.0.0.1:8000', { help: 'Address the front listens on (the stack\'s public address).' }),
  dataDir: DATA_DIR_OPTION,
  engine: APP_ENGINE_OPTION,
  frontEngine: FRONT_ENGINE_OPTION,
  frontProcesses: integer({
    min: 1,
    max: MAX_FRONT_PROCESSES,
    default: 1,
    help: 'Front processes (the proxy\'s --processes, Nginx worker_processes): one serves about one core\'s worth of requests; add one where the front, not the app server, is the limit.',
  }),
  workers: WORKERS_OPTION,
  app: APP_OPTION,
  gracefulTimeout: GRACEFUL_TIMEOUT_OPTION,
  // The timeouts an operator tunes first (Gunicorn's --timeout; Nginx's client timeouts, which
  // belong to the front, the side that faces clients).
  timeout: SERVE_COMMAND.options.timeout,
  headerTimeout: FRONT_OPTIONS.headerTimeout,
  bodyTimeout: FRONT_OPTIONS.bodyTimeout,
  keepAliveTimeout: FRONT_OPTIONS.keepAliveTimeout,
  sendTimeout: FRONT_OPTIONS.sendTimeout,
  // Given to both layers: the front refuses (431) a head the app server could not read, so the
  // two limits move together (a large bearer token needs both raised).
  maxHeaderSize: FRONT_OPTIONS.maxHeaderSize,
  tlsCert: FRONT_OPTIONS.tlsCert,
  tlsKey: FRONT_OPTIONS.tlsKey,
  tlsChain: FRONT_OPTIONS.tlsChain,
  redirectHttp: FRONT_OPTIONS.redirectHttp,
  hsts: FRONT_OPTIONS.hsts,
  compress: FRONT_OPTIONS.compress,
  gzipLevel: FRONT_OPTIONS.gzipLevel,
  // On here, off in serve and proxy: the stack is where a reader sees each layer's share of a request.
  serverTiming: boolean({
    default: true,
    help: 'Each layer adds its time to Server-Timing: app;dur=<ms> (app server), upstream;dur=<ms> and proxy;dur=<ms> (front). They tell any client how long the app took: --no-server-timing on a public site.',
  }),
  ...HOSTED_APP_OPTIONS,
};

export const START_COMMAND: Command<typeof OPTIONS> = {
  name: 'npm start',
  summary:
    'Runs the production stack: the front (static files + reverse proxy) in front of the worker-pool app server, hosting the demo app with JWT auth and the SQLite user store. `npm run stack` runs the same from the TypeScript sources.',
  options: OPTIONS,
};
