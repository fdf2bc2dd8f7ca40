/**
 * A worker process of the pool (Gunicorn's Worker): loads the app, serves it on one engine, beats
 * its heart to the master, and stops when told, letting in-flight requests finish. It never
 * decides the pool's shape: it only asks to be retired (--max-requests) and the master replaces it.
 *
 * Exit codes: 0 after a stop, APP_LOAD_ERROR (4) if the app cannot be loaded, BOOT_ERROR (3) if
 * the engine cannot start. The master halts instead of respawning on 3 and 4.
 */
import type { ErrorReporter } from '../../app/errors.ts';
import type { App } from '../../app/interface.ts';
import { loadApp, type HostedApp } from '../app-loader.ts';
import { limitsOf } from './worker-limits.ts';
import { createEngine, type Engine } from '../engines/engine.ts';
import { parseAddress } from '../../options/grammar.ts';
import { accessRecordOf, type HostOptions } from '../engines/host.ts';
import { APP_LOAD_ERROR, BOOT_ERROR } from '../exit-codes.ts';
import { AccessLog } from '../../wire/access-log.ts';
import { LogWriter } from '../../wire/log-writer.ts';
import { errorLine } from './error-log.ts';
import type { Socket } from 'node:net';
import { DEAL_WINDOW_MS, type MasterMessage, monotonicMs, WORKER_SETTINGS_ENV, type WorkerMessage, type WorkerSettings } from './messages.ts';

const settings = JSON.parse(process.env[WORKER_SETTINGS_ENV] ?? 'null') as WorkerSettings | null;
if (settings === null || process.send === undefined) {
  console.error('server/pool/worker.ts is started by the pool master (server/pool/cli.ts), not by hand.');
  process.exit(BOOT_ERROR);
}
const send = (message: WorkerMessage) => {
  if (process.connected) process.send!(message);
};

// Beat from the first moment: a slow app import is fine, a blocked event loop is not.
const heartbeat = setInterval(() => send({ type: 'beat' }), settings.beatMs);

// The master opened both once before starting workers, so a bad path stops it with one line.
const errorLog = new LogWriter(settings.errorLog, process.stderr, { what: 'error log' });
const accessLog = settings.accessLog === 'off' ? null : new AccessLog(settings.accessLog);
const log = (level: string, message: string) => errorLog.write(errorLine(level, message));

function exit(code: number): never {
  errorLog.flush();
  accessLog?.flush();
  process.exit(code);
}

let loaded: HostedApp;
try {
  loaded = await loadApp(settings.app);
} catch (error) {
  // A failure the operator fixes outside the code (the store's StoreStartError: a bad DATABASE_URL,
  // an unreachable database) is one line; anything else is a bug, with its stack.
  const operational = error instanceof Error && error.name === 'StoreStartError';
  log('ERROR', `Worker failed to load the app ${settings.app}:${operational ? ` ${error.message}` : `\n${error instanceof Error ? error.stack : String(error)}`}`);
  exit(APP_LOAD_ERROR);
}

const report: ErrorReporter = (error, request) => {
  log('ERROR', `Error handling request ${request.method} ${request.target}:\n${error instanceof Error ? error.stack : String(error)}`);
};

let app: App = loaded.app;
const budget = settings.maxRequestsForWorker;
if (budget > 0) {
  const inner = app;
  let served = 0;
  app = (request) => {
    if (++served === budget) send({ type: 'retire', reason: `served its ${budget} requests (--max-requests)` });
    return inner(request);
  };
}

const options: HostOptions = {
  limits: limitsOf(settings),
  report,
  serverTiming: settings.serverTiming,
  onAccess: accessLog === null ? undefined : (entry) => accessLog.write(accessRecordOf(entry)),
  onRefused: (status, reason, client) => log('INFO', `Refused ${status} to ${client.address}: ${reason}`),
  onClientGone: (request) => log('INFO', `Client ${request.client.address} closed the connection before sending the whole body of ${request.method} ${request.target}`),
};

// The engines turn every failure of a response into a 500 or a closed connection. A promise an
// app leaves rejected on its own (a background task nobody awaits) is its bug, not a reason to
// drop every other request in flight here: log it, keep serving.
process.on('unhandledRejection', (reason) => {
  log('ERROR', `Unhandled promise rejection (the worker keeps serving):\n${reason instanceof Error ? reason.stack : String(reason)}`);
});

// The worker never listens: the master accepts every connection and deals it here.
let engine: Engine;
try {
  engine = await createEngine(settings.engine, app, options);
} catch (error) {
  log('ERROR', `Worker cannot start its ${settings.engine} engine: ${(error as Error).message}`);
  exit(BOOT_ERROR);
}

let stopping = false;
async function stop(graceful: boolean, timeoutMs: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (graceful) {
    const clean = await engine.drain(timeoutMs);
    if (!clean) log('WARNING', `Worker (pid:${process.pid}) cut requests still running after ${timeoutMs} ms`);
  }
  engine.close();
  clearInterval(heartbeat);
  try {
    await loaded.close();
  } catch (error) {
    log('ERROR', `App close failed: ${(error as Error).message}`);
  }
  exit(0);
}

/**
 * A connection dealt by the master. Taken only within DEAL_WINDOW_MS of its deal and while not
 * stopping; otherwise closed unread and refused, and the master deals it to another worker (one
 * that came late may already have been). 'took' goes before the first byte is read: the master
 * drops its copy, and a connection this worker took dies with it, never served twice.
 */
function take(id: number, at: number, socket: Socket): void {
  if (stopping || monotonicMs() - at > DEAL_WINDOW_MS) {
    socket.destroy();
    send({ type: 'refused', id });
    return;
  }
  send({ type: 'took', id });
  engine.adopt(socket);
}

process.on('message', (message: MasterMessage, handle: unknown) => {
  if (message?.type === 'stop') void stop(message.graceful, message.timeoutMs);
  else if (message?.type === 'deal' && handle !== undefined) take(message.id, message.at, handle as Socket);
});
// An orphan must not serve on: if the master is gone, finish what is running and leave.
process.on('disconnect', () => void stop(true, settings.gracefulTimeout * 1000));
// Gunicorn's worker signals: TERM graceful, QUIT immediate, USR1 reopen logs. INT, HUP, TTIN and
// TTOU reach workers too when they come from a terminal (the whole process group gets them):
// they are the master's to act on, so the worker ignores them.
process.on('SIGTERM', () => void stop(true, settings.gracefulTimeout * 1000));
process.on('SIGQUIT', () => void stop(false, 0));
process.on('SIGUSR1', () => {
  for (const file of [errorLog, accessLog]) {
    try {
      file?.reopen();
    } catch (error) {
      log('ERROR', `${(error as Error).message}; still writing to the old file`);
    }
  }
});
for (const signal of ['SIGINT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) process.on(signal, () => {});

send({ type: 'ready', bind: parseAddress(settings.bind, { unix: true, portZero: true }) });
