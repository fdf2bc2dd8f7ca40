/**
 * The dev server's serving process: loads the app fresh, wraps it with static files and the debug
 * page, and serves it on the port its reloader (server/dev/cli.ts) holds. A reload is simply a
 * new one of these processes; this one leaves when told to retire, after its requests finish.
 */
import cluster from 'node:cluster';
import { loadApp, type HostedApp } from '../app-loader.ts';
import { APP_LOAD_ERROR, BOOT_ERROR } from '../exit-codes.ts';
import { compose } from '../../app/compose.ts';
import { NodeHttpEngine } from '../engines/node-http-engine.ts';
import { DEFAULT_LIMITS } from '../../wire/limits.ts';
import { LogWriter } from '../../wire/log-writer.ts';
import { debugReporter } from './debug-page.ts';
import { devStatic } from './static.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8000);
const spec = process.env.DEV_APP!;
const staticPrefix = process.env.DEV_STATIC_PREFIX ?? '/static/';
const staticRoot = process.env.DEV_STATIC_ROOT ?? 'app/static';

function stamp(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}

/** The request log: stdout through the one bounded writer (a stalled pipe drops lines, never blocks). */
const requestLog = new LogWriter('-', process.stdout, { what: 'request log' });

let loaded: HostedApp;
try {
  loaded = await loadApp(spec);
} catch (error) {
  // A setting the operator fixes outside the code (a bad data directory or database URL) cannot
  // be cured by an edit: one line, and the reloader gives up instead of waiting for a change.
  if (error instanceof Error && (error.name === 'StoreStartError' || error.name === 'ConfigError')) {
    console.error(`The app could not start: ${error.message}`);
    process.exit(BOOT_ERROR);
  }
  console.error(`\nThe app could not be loaded (${spec}):\n${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(APP_LOAD_ERROR);
}
const app = compose(devStatic(staticPrefix, staticRoot))(loaded.app);
const engine = new NodeHttpEngine(app, {
  limits: DEFAULT_LIMITS,
  report: debugReporter((line) => console.error(`[${stamp()}] ${line}`)),
  serverTiming: true,
  onAccess: (e) =>
    requestLog.write(`[${stamp()}] "${e.method} ${e.target} HTTP/${e.httpVersion}" ${e.status} ${e.bytes} ${e.durationMs.toFixed(1)}ms`),
  onRefused: (status, reason, client) => requestLog.write(`[${stamp()}] refused ${status} from ${client.address}: ${reason}`),
  onClientGone: (request) => requestLog.write(`[${stamp()}] client ${request.client.address} left before sending the whole body of ${request.method} ${request.target}`),
});
try {
  await engine.listen({ kind: 'tcp', host, port });
} catch (error) {
  const why = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : (error as Error).message;
  console.error(`Cannot listen on ${host}:${port}: ${why}.`);
  process.exit(BOOT_ERROR);
}

let leaving = false;
/**
 * Retire: the same drain as a pool worker's (Connection: close on every further response, idle
 * connections closed, the process leaves once none is left), but requests still running after a
 * few seconds are cut: a dev reload should not wait on a stuck request.
 */
async function leave(): Promise<void> {
  if (leaving) return;
  leaving = true;
  await engine.drain(3000);
  engine.close();
  await loaded.close().catch(() => {});
  requestLog.flush();
  process.exit(0);
}
process.on('message', (message: { cmd?: string }) => {
  if (message?.cmd === 'retire') void leave();
});
if (cluster.isWorker) cluster.worker!.on('disconnect', () => void leave());
process.on('SIGTERM', () => void leave());
