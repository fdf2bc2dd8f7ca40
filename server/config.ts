/**
 * The worker pool's settings: the options of server/options.ts mapped to what the arbiter and the
 * workers run with (durations in seconds, as Gunicorn counts them), plus the checks that involve
 * several options. Parsing, precedence and `--help` belong to the option system (options/).
 */
import { ConfigError, type CommandLine, formatDuration, formatSize, parseAddress, parseCommandLine, type Resolution, resolveOptions } from '../options/index.ts';
import type { EngineName } from './engines/engine.ts';
import { SERVE_COMMAND } from './options.ts';

/** Every setting of the pool, after parsing. Durations are in seconds, sizes in bytes. */
export interface ServerConfig {
  bind: string;
  workers: number;
  engine: EngineName;
  app: string;
  dataDir: string;
  timeout: number;
  gracefulTimeout: number;
  maxRequests: number;
  maxRequestsJitter: number;
  accessLog: string;
  errorLog: string;
  serverTiming: boolean;
  maxBodySize: number;
  maxHeaderSize: number;
  limitRequestLine: number;
  limitRequestFields: number;
  headerTimeout: number;
  requestTimeout: number;
  keepAlive: number;
  sendTimeout: number;
}

type ServeResolution = Resolution<typeof SERVE_COMMAND.options>;

/** The pool's configuration from a resolution of SERVE_COMMAND; throws ConfigError. */
export function serverConfigOf(resolution: ServeResolution): ServerConfig {
  const v = resolution.values;
  const config: ServerConfig = {
    bind: v.listen,
    workers: v.workers,
    engine: v.engine,
    app: v.app,
    dataDir: v.dataDir,
    timeout: v.timeout / 1000,
    gracefulTimeout: v.gracefulTimeout / 1000,
    maxRequests: v.maxRequests,
    maxRequestsJitter: v.maxRequestsJitter,
    accessLog: v.accessLog,
    errorLog: v.errorLog,
    serverTiming: v.serverTiming,
    maxBodySize: v.maxBodySize,
    maxHeaderSize: v.maxHeaderSize,
    limitRequestLine: v.limitRequestLine,
    limitRequestFields: v.limitRequestFields,
    headerTimeout: v.headerTimeout / 1000,
    requestTimeout: v.requestTimeout / 1000,
    keepAlive: v.keepAliveTimeout / 1000,
    sendTimeout: v.sendTimeout / 1000,
  };
  const bind = parseAddress(config.bind, { unix: true, portZero: true });
  if (!config.app.includes('#')) throw new ConfigError('--app', 'module.ts#export or module.ts#factory()', config.app);
  return config;
}

/** Parse argv and the environment (and the config file they name) into the pool's configuration. */
export function loadServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return serverConfigOf(resolveOptions(SERVE_COMMAND, parseCommandLine(SERVE_COMMAND, argv), env));
}

/** Re-read the file and the environment with the same command line (HUP). */
export function reloadServerConfig(commandLine: CommandLine, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return serverConfigOf(resolveOptions(SERVE_COMMAND, commandLine, env));
}

/** The effective configuration, one `--flag = value` per line, for the start-up log. */
export function describeConfig(config: ServerConfig): string[] {
  const seconds = (s: number) => formatDuration(Math.round(s * 1000));
  const rows: [string, string][] = [
    ['listen', config.bind],
    ['workers', String(config.workers)],
    ['engine', config.engine],
    ['app', config.app],
    ['data-dir', config.dataDir],
    ['timeout', seconds(config.timeout)],
    ['graceful-timeout', seconds(config.gracefulTimeout)],
    ['max-requests', String(config.maxRequests)],
    ['max-requests-jitter', String(config.maxRequestsJitter)],
    ['access-log', config.accessLog],
    ['error-log', config.errorLog],
    ['server-timing', String(config.serverTiming)],
    ['max-body-size', formatSize(config.maxBodySize)],
    ['max-header-size', formatSize(config.maxHeaderSize)],
    ['limit-request-line', formatSize(config.limitRequestLine)],
    ['limit-request-fields', String(config.limitRequestFields)],
    ['header-timeout', seconds(config.headerTimeout)],
    ['request-timeout', seconds(config.requestTimeout)],
    ['keep-alive-timeout', seconds(config.keepAlive)],
    ['send-timeout', seconds(config.sendTimeout)],
  ];
  return rows.map(([flag, value]) => `  --${flag.padEnd(21)} ${value}`);
}
