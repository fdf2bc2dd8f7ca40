/**
 * The dev server's serving process: loads the app fresh, wraps it with static files and the debug
 * page, and serves it on the port its reloader (server/dev/cli.ts) holds. A reload is simply a
 * new one of these processes; this one leaves when told (disconnect) after its requests finish.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import { loadApp, type HostedApp } from '../app-loader.ts';
import { APP_LOAD_ERROR, BOOT_ERROR } from '../exit-codes.ts';
import { compose } from '../../app/compose.ts';
import { createNodeHttpServer } from '../engines/node-http.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
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

let loaded: HostedApp;
try {
  loaded = await loadApp(spec);
} catch (error) {
  console.error(`\nThe app could not be loaded (${spec}):\n${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(APP_LOAD_ERROR);
}
const app = compose(devStatic(staticPrefix, staticRoot))(loaded.app);
const server = createNodeHttpServer(app, {
  limits: DEFAULT_LIMITS,
  report: debugReporter((line) => console.error(`[${stamp()}] ${line}`)),
  serverTiming: true,
  onAccess: (e) =>
    console.log(`[${stamp()}] "${e.method} ${e.target} HTTP/${e.httpVersion}" ${e.status} ${e.bytes} ${e.durationMs.toFixed(1)}ms`),
  onRefused: (status, reason, client) => console.log(`[${stamp()}] refused ${status} from ${client.address}: ${reason}`),
});
server.on('error', (error: NodeJS.ErrnoException) => {
  const why = error.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : error.message;
  console.error(`Cannot listen on ${host}:${port}: ${why}.`);
  process.exit(BOOT_ERROR);
});
server.listen(port, host);

const open = new Set<net.Socket>();
server.on('connection', (socket: net.Socket) => {
  open.add(socket);
  socket.once('close', () => open.delete(socket));
});

let retiring = false;
// Once retiring, every response says `Connection: close`, so clients leave at a clean boundary
// instead of racing a close of their idle keep-alive connection (the source of reload errors).
server.prependListener('request', (_req, res) => {
  if (retiring) res.shouldKeepAlive = false;
});

function leave(): void {
  if (retiring) return;
  retiring = true;
  // Stop accepting without node:http's close(), which would also cut idle keep-alive connections
  // at once, possibly while a client is sending its next request on one of them.
  net.Server.prototype.close.call(server);
  const bye = () => void loaded.close().finally(() => process.exit(0));
  // Connections still idle after a grace period are closed; requests still running are cut after
  // a few seconds: a dev reload should not wait on a stuck request.
  setTimeout(() => {
    server.closeIdleConnections();
    setInterval(() => open.size === 0 && bye(), 50).unref();
  }, 1000).unref();
  setTimeout(bye, 3000).unref();
}
process.on('message', (message: { cmd?: string }) => {
  if (message?.cmd === 'retire') leave();
});
if (cluster.isWorker) cluster.worker!.on('disconnect', leave);
process.on('SIGTERM', leave);
