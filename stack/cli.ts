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
 * (no new requests), then the app server (in-flight requests finish), then this process; SIGHUP
 * reloads both (the app server starts new workers and retires the old ones: new code, a rotated
 * signing key; the front re-reads its configuration file and reopens its logs). This process's own
 * options are fixed at start.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nodeEntry, PROJECT_ROOT } from '../server/launch.ts';
import { checkDataDir } from '../app/store/data-dir.ts';
import { ConfigError, ENV_PREFIX, environmentOf, optionsOrExit, type ValuesOf } from '../options/index.ts';
import { HOSTED_APP_OPTIONS } from '../server/options.ts';
import { START_COMMAND } from './options.ts';

type StackOptions = ValuesOf<typeof START_COMMAND.options>;
import { Layer } from './layer.ts';
import { checkPortFree, waitUntilServing } from './probe.ts';
import { formatAddress, type ParsedAddress } from '../options/grammar.ts';
import { tlsOf } from '../proxy/tls/tls-flags.ts';

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

/**
 * Prepare the data directory (stack/prepare.ts) in a short-lived child process, so that this
 * process, which lives as long as the stack, never loads the store or hashes a password. The
 * child prints the first admin password and its own `npm start: …` line on failure; this process
 * then exits with the child's status.
 */
async function prepareInChild(dataDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const [command, ...args] = node('stack/prepare-cli.ts', [dataDir]);
  const child = spawn(command!, args, { env, cwd: process.cwd(), stdio: 'inherit' });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  }).catch((error: Error) => fail(`cannot start the preparation step: ${error.message}`));
  if (code === 0) return;
  if (signal !== null) fail(`the preparation step ended on ${signal}`);
  process.exit(code ?? 1);
}

/** The front's TLS, compression and Server-Timing flags (absolute paths: the front runs from the project root). */
function frontEdgeFlags(options: StackOptions): string[] {
  const flags: string[] = [];
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) flags.push('--tls-cert', resolve(options.tlsCert), '--tls-key', resolve(options.tlsKey), '--hsts', options.hsts);
  if (options.tlsChain !== undefined) flags.push('--tls-chain', resolve(options.tlsChain));
  if (options.redirectHttp !== undefined) flags.push('--redirect-http', options.redirectHttp);
  flags.push(options.compress ? '--compress' : '--no-compress', '--gzip-level', String(options.gzipLevel));
  flags.push(options.serverTiming ? '--server-timing' : '--no-server-timing');
  return flags;
}

/** The listen address as host and port (the option system has checked its form). */
function hostAndPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(colon + 1)) };
}

/**
 * The folder of the app server's socket must be this user's alone: whoever can write to it can
 * unlink the socket and bind their own in its place, and the front would send them every
 * request. Created 0700; one that exists is taken only if it is a real folder owned by this
 * user, and made 0700 if it was more open.
 */
function privateRunDir(runDir: string): void {
  if (!existsSync(runDir)) mkdirSync(runDir, { mode: 0o700 });
  const stat = lstatSync(runDir);
  if (!stat.isDirectory()) fail(`${runDir} must be a folder (not a symlink or a file): it holds the app server's private socket`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) fail(`${runDir} belongs to uid ${stat.uid}, not to this user (${uid}): another user could take the app server's socket`);
  if ((stat.mode & 0o077) !== 0) {
    chmodSync(runDir, 0o700);
    log(`${runDir} was open to other users (mode ${(stat.mode & 0o777).toString(8)}); made it 0700`);
  }
}

async function main(options: StackOptions): Promise<void> {
  const { host, port } = hostAndPort(options.listen);
  const dataDir = resolve(options.dataDir);
  await prepareInChild(dataDir, { ...process.env, ...environmentOf(HOSTED_APP_OPTIONS, options) });
  await checkPortFree(host, port).catch((error: Error) => fail(error.message));

  const runDir = join(dataDir, 'run');
  privateRunDir(runDir);
  // The workers share a unix socket (node:cluster) in the 0700 run folder: no other user can bind
  // it, nor reach the app server around the front (a loopback port is open to every local user).
  const appBind: ParsedAddress = { kind: 'unix', path: join(runDir, `app-${process.pid}.sock`) };
  const appBindText = formatAddress(appBind);
  // The layers get every setting as a flag; this process's LAYERSTACK_* variables were its own
  // (a layer would report them as not its options).
  const env: NodeJS.ProcessEnv = { DATA_DIR: dataDir };
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith(ENV_PREFIX) && name !== 'DATA_DIR' && name !== 'HOST' && name !== 'PORT') env[name] = value;
  // The app's own settings travel in the environment (a database password stays out of `ps`).
  const appEnv = { ...env, ...environmentOf(HOSTED_APP_OPTIONS, options) };
  const workers = options.workers;

  const appServer = new Layer(
    {
      name: 'app server',
      command: node('server/pool/cli.ts', [
        '--listen', appBindText,
        '--workers', String(workers),
        '--engine', options.engine,
        '--app', options.app,
        '--graceful-timeout', `${options.gracefulTimeout}ms`,
        '--timeout', `${options.timeout}ms`,
        // The front logs every request (with the upstream's time), as Nginx would; each layer adds
        // its own time to Server-Timing (unless --no-server-timing) so a reader sees its share.
        '--access-log', 'off',
        options.serverTiming ? '--server-timing' : '--no-server-timing',
        '--max-header-size', String(options.maxHeaderSize),
      ]),
      env: appEnv,
      cwd: PROJECT_ROOT,
      ready: () => waitUntilServing({ address: appBind }, '/api/ping/'),
    },
    log,
  );
  const front = new Layer(
    {
      name: 'front',
      command: node('proxy/cli.ts', [
        '--listen', options.listen,
        '--upstream', appBindText,
        '--static', `/static/=${join(PROJECT_ROOT, 'app/static')}`,
        '--front-engine', options.frontEngine,
        '--processes', String(options.frontProcesses),
        ...frontEdgeFlags(options),
        '--graceful-timeout', `${options.gracefulTimeout}ms`,
        '--header-timeout', `${options.headerTimeout}ms`,
        '--body-timeout', `${options.bodyTimeout}ms`,
        '--keep-alive-timeout', `${options.keepAliveTimeout}ms`,
        '--send-timeout', `${options.sendTimeout}ms`,
        '--max-header-size', String(options.maxHeaderSize),
      ]),
      env,
      cwd: PROJECT_ROOT,
      ready: () => waitUntilServing({ address: { kind: 'tcp', host, port }, tls: options.tlsCert !== undefined }, '/api/ping/'),
    },
    log,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the front, then the app server`);
    await front.stop(options.gracefulTimeout);
    await appServer.stop(options.gracefulTimeout);
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Without a handler a HUP (a closed terminal, an operator's reload) would end this process and
  // leave both layers running with nobody to supervise or stop them.
  process.on('SIGHUP', () => {
    if (stopping) return;
    const reloaded = [appServer, front].filter((layer) => layer.signal('SIGHUP')).map((layer) => layer.spec.name);
    log(`SIGHUP: reloading ${reloaded.length > 0 ? reloaded.join(' and ') : 'nothing (no layer is running yet)'}`);
  });

  try {
    await appServer.start();
    await front.start();
  } catch (error) {
    await front.stop(1000);
    await appServer.stop(1000);
    fail((error as Error).message);
  }
  if (stopping) return;

  const url = `${options.tlsCert !== undefined ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  console.log(`
  layerstack production stack is up: ${url}/

    front       pid ${front.pid}  ${options.listen}  static /static/ → app/static/, the rest → app server  (engine ${options.frontEngine}${options.frontProcesses > 1 ? `, ${options.frontProcesses} processes` : ''})
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

const { checked: options } = optionsOrExit(START_COMMAND, process.argv.slice(2), process.env, (resolution) => {
  const v = resolution.values;
  // The certificate is checked before anything starts (the front would refuse it only later).
  tlsOf(v.tlsCert, v.tlsKey, v.tlsChain);
  if (v.redirectHttp !== undefined && v.tlsCert === undefined) throw new ConfigError('--redirect-http', '--tls-cert and --tls-key with it (it redirects to the HTTPS listener)');
  checkDataDir(v.dataDir);
  return v;
});
void main(options);
