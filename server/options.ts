/**
 * The app server's options (`npm run serve`), declared once; `npm start` reuses the ones it
 * passes on (listen, workers, engine, app, graceful timeout). Gunicorn's names where Gunicorn has
 * the setting; the limits and timeouts say what a client sees when they trip.
 */
import { availableParallelism } from 'node:os';
import { AUTH_OPTIONS } from '../app/auth/auth-options.ts';
import { DATA_DIR_OPTION } from '../app/store/data-dir.ts';
import { STORE_OPTIONS } from '../app/store/store-options.ts';
import { ACCESS_LOG_OPTION, ERROR_LOG_OPTION, boolean, type Command, duration, GRACEFUL_TIMEOUT_OPTION, integer, listenOption, oneOf, size, text } from '../options/index.ts';
import { DEFAULT_APP_SPEC } from './app-loader.ts';
import { ENGINE_NAMES } from './engines/engine.ts';
import { DEFAULT_LIMITS } from '../wire/limits.ts';

/** The app layer's production engine, the same in every command that runs the app server. */
export const DEFAULT_APP_ENGINE = 'net';

/** Upper bound of --workers everywhere (one process each; more is a typo, not a plan). */
export const MAX_WORKERS = 1024;

export const WORKERS_OPTION = integer({
  short: 'w',
  min: 1,
  max: MAX_WORKERS,
  env: ['LAYERSTACK_WORKERS', 'WEB_CONCURRENCY'],
  default: () => availableParallelism(),
  defaultText: 'one per core',
  help: 'Number of app server worker processes.',
});

export const APP_ENGINE_OPTION = oneOf(ENGINE_NAMES, {
  short: 'k',
  default: DEFAULT_APP_ENGINE,
  help: 'HTTP engine of each app server worker: net (the project\'s HTTP/1.1 server, the front\'s parser) or http (node:http writing the responses, requests read by the same parser in front of llhttp: both answer every request alike).',
});

export const APP_OPTION = text({ metavar: 'SPEC', default: DEFAULT_APP_SPEC, help: 'The app to host: module.ts#export or module.ts#factory().' });

/**
 * The demo app's own settings (its user store and auth middleware): every command that hosts the
 * app takes them and hands them to it through the environment (options/ environmentOf).
 */
export const HOSTED_APP_OPTIONS = { ...STORE_OPTIONS, ...AUTH_OPTIONS };

const OPTIONS = {
  listen: listenOption('127.0.0.1:8001', { unix: true, portZero: true, help: 'Address the app server listens on.' }),
  workers: WORKERS_OPTION,
  engine: APP_ENGINE_OPTION,
  app: APP_OPTION,
  dataDir: DATA_DIR_OPTION,
  timeout: duration({
    short: 't',
    default: 30_000,
    help: 'A worker that sends no heartbeat for this long (event loop blocked) is killed and replaced; 0 disables.',
    trips: 'the stuck worker\'s in-flight requests are cut (the front answers 502)',
  }),
  gracefulTimeout: GRACEFUL_TIMEOUT_OPTION,
  maxRequests: integer({ default: 0, help: 'Retire a worker gracefully after this many requests (0: never), limiting the damage of leaks.' }),
  maxRequestsJitter: integer({ default: 0, help: 'Add a random 0..N to each worker\'s --max-requests, so workers do not all retire at once.' }),
  accessLog: ACCESS_LOG_OPTION,
  errorLog: ERROR_LOG_OPTION,
  serverTiming: boolean({ default: false, help: 'Add `Server-Timing: app;dur=<ms>` to every response (time spent in the app).' }),
  maxBodySize: size({ default: DEFAULT_LIMITS.maxBodySize, help: 'Largest request body.', trips: '413 Content Too Large' }),
  maxHeaderSize: size({ default: DEFAULT_LIMITS.maxHeaderSize, help: 'Largest request head (request line and header fields).', trips: '431 Request Header Fields Too Large' }),
  limitRequestLine: size({ default: DEFAULT_LIMITS.maxRequestLine, help: 'Longest request line.', trips: '414 URI Too Long' }),
  limitRequestFields: integer({ default: DEFAULT_LIMITS.maxHeaderCount, help: 'Most header fields in a request.', trips: '431 Request Header Fields Too Large' }),
  headerTimeout: duration({ default: DEFAULT_LIMITS.headerTimeout, help: 'Time a client has to send the request head (slowloris guard).', trips: '408 Request Timeout, then the connection closes' }),
  requestTimeout: duration({ default: DEFAULT_LIMITS.requestTimeout, help: 'Longest wait between two reads of a request body, with --header-timeout (the smaller applies).', trips: '408 Request Timeout, then the connection closes' }),
  keepAliveTimeout: duration({
    default: DEFAULT_LIMITS.keepAliveTimeout,
    help: 'An idle keep-alive connection is closed after this; keep it above the front\'s --upstream-idle-timeout.',
    trips: 'the idle connection is closed',
  }),
  sendTimeout: duration({
    default: DEFAULT_LIMITS.sendTimeout,
    help: 'A response may wait this long on a client that stops reading (Nginx send_timeout).',
    trips: 'the connection is closed',
  }),
  ...HOSTED_APP_OPTIONS,
};

export const SERVE_COMMAND: Command<typeof OPTIONS> = {
  name: 'npm run serve',
  summary:
    'The worker pool: a master process that runs N worker processes hosting one app, replaces crashed and stuck workers, and reloads without dropping requests.',
  options: OPTIONS,
  epilogue: [
    'Signals to the master (Gunicorn\'s): TERM, INT graceful stop (in-flight requests finish within',
    '--graceful-timeout); QUIT immediate stop; HUP graceful reload (new workers serve before old ones',
    'retire); TTIN / TTOU one worker more / fewer; USR1 reopen log files.',
    '',
    'Once every worker listens, the master prints one line on stdout for supervisors:',
    '  READY <address> pid=<master pid> workers=<pid,pid,...>',
  ].join('\n'),
};
