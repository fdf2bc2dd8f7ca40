/**
 * The configurations the bench starts, measures and stops: one table, one entry each. A
 * configuration is a list of processes (layers) started in order, each in its own process group
 * so its CPU and memory can be read from /proc and it can be stopped as a whole. Adding a
 * configuration (or fixing how a layer is started once its CLI exists) is one entry here.
 */
import { join } from 'node:path';
import type { Capability } from './scenarios.ts';
import { nginxCommand } from './peers/nginx.ts';
import { EDGE_CONFIGURATIONS } from './edge/configurations.ts';

/** What a configuration's processes are started with. */
export interface LaunchContext {
  /** Project root: working directory of every process. */
  root: string;
  /** A private folder for this configuration (configs, sockets, logs). */
  runDir: string;
  /** Ports reserved for this configuration, by role ('main' is the one the loader hits). */
  ports: Record<string, number>;
  /** Worker count of the "-N" configurations (--workers, default: number of cores). */
  workers: number;
  /** Folder served at /static/ (app/static). */
  staticRoot: string;
  /** A folder the dev server watches, so the deploy scenario can change code in it. */
  watchDir: string;
}

/** One process of a configuration. */
export interface LayerProcess {
  /** The layer's job, used to split CPU per layer: 'front', 'app', 'server'. */
  layer: string;
  argv: string[];
  env?: Record<string, string>;
  /** The port this layer listens on: it must answer before the next layer starts. */
  port: number;
}

/** A configuration the bench can start. */
export interface Configuration {
  /** Stable name, used with --configurations and in result files. */
  name: string;
  /** What it is, for tables. */
  title: string;
  kind: 'dev' | 'app' | 'stack' | 'peer';
  /** The scenarios it can serve; others are skipped and shown as such. */
  capabilities: readonly Capability[];
  /** Project files that must exist (a CLI still being written makes the configuration unavailable). */
  requiresFiles: readonly string[];
  /** Programs that must be installed. */
  requiresPrograms: readonly string[];
  /** Runs compiled JavaScript from dist/ (the bench builds it once before starting anything). */
  compiled: boolean;
  /** How new code is deployed under load: the dev server reloads on a change, the app server on SIGHUP. */
  deploy?: 'touch-watched' | 'sighup-app';
  /** Port roles to reserve. */
  portRoles: readonly string[];
  /** `https` for a configuration that serves TLS on its main port (default http). */
  scheme?: 'http' | 'https';
  /** GET path that answers 200 once the configuration serves. */
  readyPath: string;
  /** Extra wait after the first 200, so every worker of a pool is listening before load starts. */
  settleMs: number;
  processes(ctx: LaunchContext): LayerProcess[];
}

/** Run a TypeScript CLI of the project (node + tsx loader, as `tsx file.ts`, without tsx's extra wrapper process). */
const ts = (file: string, ...args: string[]): string[] => [process.execPath, '--import', 'tsx', file, ...args];
/**
 * Run a CLI of the project compiled, as `npm start` runs every process of the stack (server/launch.ts):
 * no tsx loader, so memory and start-up are what a deployment sees.
 */
const js = (file: string, ...args: string[]): string[] => [process.execPath, join('dist', file.replace(/\.ts$/, '.js')), ...args];

const POOL_CLI = 'server/pool/cli.ts';
const FRONT_CLI = 'proxy/cli.ts';
const DEV_CLI = 'server/dev/cli.ts';
const START_CLI = 'stack/cli.ts';
const APP_CAPS: readonly Capability[] = ['ping', 'app', 'auth', 'faults'];
const ALL_CAPS: readonly Capability[] = ['ping', 'app', 'auth', 'static', 'faults'];

/**
 * The demo app with its fault routes (crash, block): the bench's configurations, and nothing
 * else, name this factory; every deployed stack serves the plain createDemoApp().
 */
export const BENCH_APP_SPEC = 'app/demo.ts#createDemoAppWithFaults()';

// Access logs off in every layer, as in the Nginx peers (access_log off): the bench measures
// serving, not log writing. Logging's cost is its own question (see docs/benchmarks.md).
const NO_ACCESS_LOG = ['--access-log', 'off'];

/** The worker pool alone on `engine` with `workers` workers, listening on `port`. */
function pool(engine: 'http' | 'net', workers: number, port: number): LayerProcess {
  return {
    layer: 'app',
    argv: js(POOL_CLI, '--listen', `127.0.0.1:${port}`, '--workers', String(workers), '--engine', engine, '--app', BENCH_APP_SPEC, '--server-timing', ...NO_ACCESS_LOG),
    port,
  };
}

function appAlone(engine: 'http' | 'net', many: boolean): Configuration {
  const label = engine === 'net' ? 'net (wire/http1)' : 'node:http';
  return {
    name: `app-${engine}-${many ? 'N' : '1'}`,
    title: `app server alone, ${label}, ${many ? 'N workers' : '1 worker'}`,
    kind: 'app',
    capabilities: APP_CAPS,
    requiresFiles: [POOL_CLI],
    requiresPrograms: [],
    compiled: true,
    deploy: 'sighup-app',
    portRoles: ['main'],
    readyPath: '/api/ping/',
    settleMs: 1500,
    processes: (c) => [pool(engine, many ? c.workers : 1, c.ports.main!)],
  };
}

function stack(engine: 'http' | 'net', many: boolean): Configuration {
  const label = engine === 'net' ? 'net (wire/http1)' : 'node:http';
  return {
    name: `stack-${engine}${many ? '' : '-1'}`,
    title: `prod stack: front + app server on ${label} (${many ? 'N workers' : '1 worker'})`,
    kind: 'stack',
    capabilities: ALL_CAPS,
    requiresFiles: [POOL_CLI, FRONT_CLI],
    requiresPrograms: [],
    compiled: true,
    deploy: 'sighup-app',
    portRoles: ['main', 'upstream'],
    readyPath: '/api/ping/',
    settleMs: 1500,
    processes: (c) => [
      pool(engine, many ? c.workers : 1, c.ports.upstream!),
      {
        layer: 'front',
        argv: js(
          FRONT_CLI,
          '--listen', `127.0.0.1:${c.ports.main}`,
          '--upstream', `127.0.0.1:${c.ports.upstream}`,
          '--static', `/static/=${c.staticRoot}`,
          // Both layers on the same engine: net is what `npm start` runs.
          '--front-engine', engine,
          ...NO_ACCESS_LOG,
        ),
        port: c.ports.main!,
      },
    ],
  };
}

/** Every configuration the bench knows, in report order. */
export const CONFIGURATIONS: readonly Configuration[] = [
  {
    name: 'dev',
    title: 'dev server (node:http, 1 process, reloader)',
    kind: 'dev',
    capabilities: ALL_CAPS,
    requiresFiles: [DEV_CLI],
    requiresPrograms: [],
    compiled: false,
    deploy: 'touch-watched',
    portRoles: ['main'],
    readyPath: '/api/ping/',
    settleMs: 0,
    // As `npm run dev` runs it (through tsx), but watching only a private folder: others may edit
    // the tree while the bench runs, and only the deploy scenario's change should reload it.
    processes: (c) => [
      { layer: 'app', argv: ts(DEV_CLI, '--listen', `127.0.0.1:${c.ports.main}`, '--app', BENCH_APP_SPEC, '--watch', c.watchDir), port: c.ports.main! },
    ],
  },
  appAlone('http', false),
  appAlone('http', true),
  appAlone('net', false),
  appAlone('net', true),
  stack('net', true),
  stack('http', true),
  stack('net', false),
  {
    // Exactly what `npm start` runs (one supervisor process tree, its own defaults for logs and
    // sockets), to check the stack-net entry measures the same thing. Its CPU is not split per layer.
    name: 'start',
    title: '`npm start` as shipped (supervisor + front + pool, net engines)',
    kind: 'stack',
    capabilities: ['ping', 'app', 'auth', 'static'],
    requiresFiles: [START_CLI],
    requiresPrograms: [],
    compiled: true,
    portRoles: ['main'],
    readyPath: '/api/ping/',
    settleMs: 1500,
    // `npm start` is `npm run build` and then this; the bench builds once before starting anything.
    processes: (c) => [{ layer: 'stack', argv: js(START_CLI, '--listen', `127.0.0.1:${c.ports.main}`), port: c.ports.main! }],
  },
  {
    name: 'nginx-static',
    title: 'Nginx 1 worker serving app/static (sendfile)',
    kind: 'peer',
    capabilities: ['static'],
    requiresFiles: [],
    requiresPrograms: ['nginx'],
    compiled: false,
    portRoles: ['main'],
    readyPath: '/static/hello.txt',
    settleMs: 0,
    processes: (c) => [
      { layer: 'front', argv: nginxCommand('nginx-static.conf.tmpl', c.runDir, { PORT: c.ports.main!, STATIC_ROOT: c.staticRoot }), port: c.ports.main! },
    ],
  },
  {
    name: 'nginx-proxy',
    title: 'Nginx 1 worker in front of the pool (net engine, 1 worker)',
    kind: 'peer',
    capabilities: ALL_CAPS,
    requiresFiles: [POOL_CLI],
    requiresPrograms: ['nginx'],
    compiled: true,
    portRoles: ['main', 'upstream'],
    readyPath: '/api/ping/',
    settleMs: 1000,
    processes: (c) => [
      pool('net', 1, c.ports.upstream!),
      {
        layer: 'front',
        argv: nginxCommand('nginx-proxy.conf.tmpl', c.runDir, { PORT: c.ports.main!, UPSTREAM_PORT: c.ports.upstream!, STATIC_ROOT: c.staticRoot }),
        port: c.ports.main!,
      },
    ],
  },
  {
    name: 'bare-uws',
    title: 'bare uWebSockets.js handler (same ping bytes)',
    kind: 'peer',
    capabilities: ['ping'],
    requiresFiles: [],
    requiresPrograms: [],
    compiled: false,
    portRoles: ['main'],
    readyPath: '/api/ping/',
    settleMs: 0,
    processes: (c) => [{ layer: 'app', argv: ts('bench/peers/bare-uws.ts'), env: { HOST: '127.0.0.1', PORT: String(c.ports.main) }, port: c.ports.main! }],
  },
  {
    name: 'bare-http',
    title: 'bare node:http handler (same ping bytes)',
    kind: 'peer',
    capabilities: ['ping'],
    requiresFiles: [],
    requiresPrograms: [],
    compiled: false,
    portRoles: ['main'],
    readyPath: '/api/ping/',
    settleMs: 0,
    processes: (c) => [{ layer: 'app', argv: ts('bench/peers/bare-http.ts'), env: { HOST: '127.0.0.1', PORT: String(c.ports.main) }, port: c.ports.main! }],
  },
  // The front against Nginx over TLS and with gzip (issue 13).
  ...EDGE_CONFIGURATIONS,
];

/** Look a configuration up by name. */
export function configurationNamed(name: string): Configuration | undefined {
  return CONFIGURATIONS.find((c) => c.name === name);
}
