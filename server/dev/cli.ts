/**
 * `npm run dev`: the runserver analogue. One serving process on raw node:http (server/dev/serve.ts)
 * under this small reloader, which holds the listening socket (node:cluster shares it) and
 * watches the source folders. On a change it starts a fresh serving process, waits until it
 * listens, and only then retires the old one: the port is never closed, and a change that breaks
 * the app leaves the last good version serving until the next edit.
 */
import cluster, { type Worker } from 'node:cluster';
import { resolve } from 'node:path';
import { checkDataDir } from '../../app/store/data-dir.ts';
import { environmentOf, optionsOrExit } from '../../options/index.ts';
import { APP_LOAD_ERROR, BOOT_ERROR } from '../exit-codes.ts';
import { nodeEntry } from '../launch.ts';
import { HOSTED_APP_OPTIONS } from '../options.ts';
import { DEV_COMMAND } from './options.ts';
import { TreeWatcher } from './watch.ts';

// An unusable data directory is reported here, once: the serving process would fail to load
// the app with it and the reloader would wait for a change that cannot help.
const { checked: options } = optionsOrExit(DEV_COMMAND, process.argv.slice(2), process.env, (resolution) => {
  checkDataDir(resolution.values.dataDir);
  return resolution.values;
});
const colon = options.listen.lastIndexOf(':');
const host = options.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
const port = Number(options.listen.slice(colon + 1));
const spec = options.app;
const watched = options.reload ? options.watch : [];
// The app reads its data directory and its own settings from the environment, with the same declarations.
const appEnvironment = { ...environmentOf(HOSTED_APP_OPTIONS, options), DATA_DIR: resolve(options.dataDir), LAYERSTACK_DATA_DIR: resolve(options.dataDir) };

const child = nodeEntry('server/dev/serve.ts');
cluster.setupPrimary({ exec: child.script, execArgv: child.execArgv });

console.log(`
  layerstack development server: NOT for production use.
  It runs one process, reloads on every change and shows stack traces to anyone who asks.
  For production run \`npm start\` (front + worker pool).

  Serving ${spec} at http://${host}:${port}/  (static files: /static/ → app/static/)
  ${watched.length > 0 ? `Watching ${watched.join(', ')} for changes.` : 'Not watching for changes (--no-reload).'} Quit with CONTROL-C.
`);

let current: Worker | undefined;
let booting: Worker | undefined;
let stopping = false;

/**
 * Ask a serving process to finish its requests and leave. Not worker.disconnect(): that runs
 * node:http's close(), which cuts idle keep-alive connections while clients may be using them.
 */
function retire(worker: Worker): void {
  if (worker.isConnected()) worker.send({ cmd: 'retire' });
}

function spawn(reason: string): void {
  if (booting !== undefined) booting.process.kill('SIGKILL');
  const worker = cluster.fork({ ...appEnvironment, HOST: host, PORT: String(port), DEV_APP: spec });
  booting = worker;
  worker.once('listening', () => {
    if (booting === worker) booting = undefined;
    const old = current;
    current = worker;
    if (old !== undefined) {
      retire(old);
      console.log(`[reload] ${reason}: new process ${worker.process.pid} serving, ${old.process.pid} retiring.`);
    }
  });
  worker.once('exit', (code) => {
    if (booting === worker) booting = undefined;
    if (stopping) return;
    if (current === worker) {
      current = undefined;
      console.error(`[reload] serving process ${worker.process.pid} exited (code ${code}); starting a new one.`);
      spawn('restart after exit');
      return;
    }
    if (code === BOOT_ERROR && current === undefined) {
      console.error('Cannot start: see the message above.');
      process.exit(1);
    }
    if (code === APP_LOAD_ERROR || code !== 0) {
      console.error(`[reload] the new version failed to start (exit ${code}); ${current ? 'the previous one keeps serving' : 'waiting'} until the next change.`);
    }
  });
}

let timer: NodeJS.Timeout | undefined;
const watcher = new TreeWatcher(watched, (path) => {
  if (!/\.(ts|js|mjs|json)$/.test(path)) return;
  clearTimeout(timer);
  // Editors write a file in several steps; wait for the burst to end before reloading.
  timer = setTimeout(() => spawn(`${path} changed`), 150);
});

function stop(): void {
  if (stopping) return;
  stopping = true;
  watcher.close();
  for (const worker of Object.values(cluster.workers ?? {})) if (worker) retire(worker);
  setTimeout(() => process.exit(0), 4000).unref();
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
spawn('start');
