/**
 * `npm start`: the whole production stack as one process tree.
 *
 *   client ──► front (proxy/cli.ts: static files + reverse proxy, HOST:PORT)
 *                └──► app server (server/pool/cli.ts: master + workers, private unix socket)
 *                       └──► worker ──► engine ──► middleware (auth) ──► router ──► view
 *
 * This process prepares the data directory (database, signing key, first admin user) once, before
 * any worker starts, then starts the app server, waits until it answers, starts the front, waits
 * again, and supervises both: a layer that dies is restarted; SIGINT/SIGTERM stop the front first
 * (no new requests), then the app server (in-flight requests finish), then this process.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeEntry, PROJECT_ROOT } from '../server/launch.ts';
import { parseStackOptions, STACK_HELP, type StackOptions } from './options.ts';
import { Layer } from './layer.ts';
import { checkPortFree, prepareDataDir } from './prepare.ts';
import { freePort } from '../wire/free-port.ts';
import { waitUntilServing, type Address } from './probe.ts';

function log(line: string): void {
  console.log(`[stack] ${line}`);
}

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

/** The command that runs the project module `source` the way this process runs (compiled or through tsx). */
function node(source: string, args: string[]): string[] {
  const entry = nodeEntry(source);
  return [process.execPath, ...entry.execArgv, entry.script, ...args];
}

async function main(options: StackOptions): Promise<void> {
  const dataDir = resolve(options.dataDir);
  await prepareDataDir(dataDir, (line) => console.log(line)).catch((error: Error) => fail(error.message));
  await checkPortFree(options.host, options.port).catch((error: Error) => fail(error.message));

  const runDir = join(dataDir, 'run');
  if (!existsSync(runDir)) mkdirSync(runDir, { mode: 0o700 });
  // node:http workers share a unix socket through node:cluster; uWS workers share a port through
  // SO_REUSEPORT, which only TCP has, so they get a private loopback port instead.
  const appBind: Address =
    options.engine === 'http' ? { socketPath: join(runDir, `app-${process.pid}.sock`) } : { host: '127.0.0.1', port: await freePort() };
  const appBindText = 'socketPath' in appBind ? `unix:${appBind.socketPath}` : `${appBind.host}:${appBind.port}`;
  const env = { ...process.env, DATA_DIR: dataDir };
  const workers = options.workers ?? availableParallelism();

  const appServer = new Layer(
    {
      name: 'app server',
      command: node('server/pool/cli.ts', [
        '--bind', appBindText,
        '--workers', String(workers),
        '--engine', options.engine,
        '--app', options.app,
        // The front logs every request (with the upstream's time), as Nginx would; the app server
        // adds its own time to Server-Timing so a reader sees each layer's share.
        '--access-log', 'off',
        '--server-timing',
      ]),
      env,
      cwd: PROJECT_ROOT,
      ready: () => waitUntilServing(appBind, '/api/ping/'),
    },
    log,
  );
  const front = new Layer(
    {
      name: 'front',
      command: node('proxy/cli.ts', [
        '--listen', `${options.host}:${options.port}`,
        '--upstream', appBindText,
        '--static', `/static/=${join(PROJECT_ROOT, 'app/static')}`,
        '--engine', options.frontEngine,
      ]),
      env,
      cwd: PROJECT_ROOT,
      ready: () => waitUntilServing({ host: options.host, port: options.port }, '/api/ping/'),
    },
    log,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the front, then the app server`);
    await front.stop(options.gracefulTimeoutMs);
    await appServer.stop(options.gracefulTimeoutMs);
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    await appServer.start();
    await front.start();
  } catch (error) {
    await front.stop(1000);
    await appServer.stop(1000);
    fail((error as Error).message);
  }
  if (stopping) return;

  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  console.log(`
  layerstack production stack is up: ${url}/

    front       pid ${front.pid}  ${options.host}:${options.port}  static /static/ → app/static/, the rest → app server  (engine ${options.frontEngine})
    app server  pid ${appServer.pid}  ${appBindText}  ${workers} worker(s), engine ${options.engine}
    data        ${dataDir}

  Try it:
    curl ${url}/api/ping/
    curl -X POST ${url}/api/token/ -H 'content-type: application/json' \\
         -d '{"username":"admin","password":"<the password printed at first start>"}'
    curl ${url}/api/hello/ -H 'authorization: Bearer <access token>'
  Add users with \`npm run createuser -- <name>\`. Stop with CONTROL-C.
`);
}

let options: StackOptions;
try {
  options = parseStackOptions(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`npm start: ${(error as Error).message}\n\n${STACK_HELP}`);
  process.exit(2);
}
if (options.help) {
  console.log(STACK_HELP);
  process.exit(0);
}
void main(options);
