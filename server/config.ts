/**
 * The worker pool's settings, Gunicorn-style: one table of options, each readable from a
 * command-line flag, an environment variable and a JSON config file. Later sources win:
 * defaults < config file < environment < flags. The same table prints `--help` and the
 * effective configuration at start, so the three can never disagree.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DEFAULT_APP_SPEC } from './app-loader.ts';
import { ENGINE_NAMES, type EngineName } from './engines/engine.ts';
import { parseAddress } from '../wire/address.ts';
import { LISTEN_ADDRESS } from './listen-address.ts';
import { DEFAULT_LIMITS, type Limits } from '../wire/limits.ts';

/** Every setting of the pool, after parsing. Durations are in seconds, sizes in bytes. */
export interface ServerConfig {
  bind: string;
  workers: number;
  engine: EngineName;
  app: string;
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
}

type Kind = 'string' | 'int' | 'seconds' | 'bool' | 'engine';

/** One option: where it comes from and what it means. */
interface OptionSpec {
  key: keyof ServerConfig;
  flag: string;
  short?: string;
  kind: Kind;
  default: () => ServerConfig[keyof ServerConfig];
  help: string;
  /** Extra environment names accepted (Gunicorn/Heroku conventions). */
  aliases?: string[];
}

const seconds = (ms: number) => ms / 1000;

/** The option table: the single source for parsing, --help and the printed configuration. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'bind', flag: 'bind', short: 'b', kind: 'string', default: () => '127.0.0.1:8001', help: 'Address to listen on: HOST:PORT (port 0 picks a free one) or unix:PATH.' },
  { key: 'workers', flag: 'workers', short: 'w', kind: 'int', default: () => availableParallelism(), aliases: ['WEB_CONCURRENCY'], help: 'Number of worker processes (default: number of cores).' },
  { key: 'engine', flag: 'engine', short: 'k', kind: 'engine', default: () => 'http', help: `HTTP engine of each worker: ${ENGINE_NAMES.join(' | ')} (node:http or uWebSockets.js).` },
  { key: 'app', flag: 'app', kind: 'string', default: () => DEFAULT_APP_SPEC, help: 'The app to host: module.ts#export or module.ts#factory().' },
  { key: 'timeout', flag: 'timeout', short: 't', kind: 'seconds', default: () => 30, help: 'Seconds a worker may go without a heartbeat (event loop blocked) before it is killed and replaced; 0 disables.' },
  { key: 'gracefulTimeout', flag: 'graceful-timeout', kind: 'seconds', default: () => 30, help: 'Seconds a stopping worker gets to finish in-flight requests before it is killed.' },
  { key: 'maxRequests', flag: 'max-requests', kind: 'int', default: () => 0, help: 'Retire a worker gracefully after this many requests (0: never), limiting the damage of leaks.' },
  { key: 'maxRequestsJitter', flag: 'max-requests-jitter', kind: 'int', default: () => 0, help: 'Add a random 0..N to each worker\'s --max-requests, so workers do not all retire at once.' },
  { key: 'accessLog', flag: 'access-log', kind: 'string', default: () => '-', help: 'Access log: - (stdout), a file path, or off.' },
  { key: 'errorLog', flag: 'error-log', kind: 'string', default: () => '-', help: 'Error log: - (stderr) or a file path.' },
  { key: 'serverTiming', flag: 'server-timing', kind: 'bool', default: () => false, help: 'Add `Server-Timing: app;dur=<ms>` to every response (time spent in the app).' },
  { key: 'maxBodySize', flag: 'max-body-size', kind: 'int', default: () => DEFAULT_LIMITS.maxBodySize, help: 'Largest request body in bytes; larger bodies get 413.' },
  { key: 'maxHeaderSize', flag: 'max-header-size', kind: 'int', default: () => DEFAULT_LIMITS.maxHeaderSize, help: 'Largest request head (request line + header fields) in bytes; larger gets 431.' },
  { key: 'limitRequestLine', flag: 'limit-request-line', kind: 'int', default: () => DEFAULT_LIMITS.maxRequestLine, help: 'Longest request-target in bytes; longer gets 414.' },
  { key: 'limitRequestFields', flag: 'limit-request-fields', kind: 'int', default: () => DEFAULT_LIMITS.maxHeaderCount, help: 'Most header fields in a request; more gets 431 (uWS stops at about 50 by itself).' },
  { key: 'headerTimeout', flag: 'header-timeout', kind: 'seconds', default: () => seconds(DEFAULT_LIMITS.headerTimeout), help: 'Seconds a client has to send the request head (slowloris guard; uWS: fixed 10 s).' },
  { key: 'requestTimeout', flag: 'request-timeout', kind: 'seconds', default: () => seconds(DEFAULT_LIMITS.requestTimeout), help: 'Seconds a client has to send the whole request (node:http engine).' },
  { key: 'keepAlive', flag: 'keep-alive', kind: 'seconds', default: () => seconds(DEFAULT_LIMITS.keepAliveTimeout), help: 'Seconds an idle keep-alive connection stays open; keep it above the front\'s upstream idle timeout (uWS: fixed 10 s).' },
];

/** Environment variable for an option: LAYERSTACK_ + the flag in upper snake case. */
export function envName(spec: OptionSpec): string {
  return `LAYERSTACK_${spec.flag.toUpperCase().replaceAll('-', '_')}`;
}

/** A user's mistake in the configuration: printed as is, exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseValue(spec: OptionSpec, raw: unknown, source: string): ServerConfig[keyof ServerConfig] {
  const where = `${source}: ${JSON.stringify(raw)}`;
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${spec.flag} must be a non-empty string (${where})`);
      return raw;
    case 'engine':
      if (!ENGINE_NAMES.includes(raw as EngineName)) throw new ConfigError(`${spec.flag} must be one of ${ENGINE_NAMES.join(', ')} (${where})`);
      return raw as EngineName;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes' || raw === 'on') return true;
      if (raw === 'false' || raw === '0' || raw === 'no' || raw === 'off') return false;
      throw new ConfigError(`${spec.flag} must be true or false (${where})`);
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${spec.flag} must be a whole number ≥ 0 (${where})`);
      return n;
    }
    case 'seconds': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${spec.flag} must be a number of seconds ≥ 0 (${where})`);
      return n;
    }
  }
}

const byFlag = new Map<string, OptionSpec>();
for (const spec of OPTIONS) {
  byFlag.set(spec.flag, spec);
  if (spec.short) byFlag.set(spec.short, spec);
}
const byKey = new Map<string, OptionSpec>(OPTIONS.map((s) => [s.key, s]));

/** What the command line asked for, before the other sources are merged in. */
export interface CommandLine {
  values: Partial<Record<keyof ServerConfig, unknown>>;
  configFile: string | undefined;
  help: boolean;
}

/** Parse flags: `--name value`, `--name=value`, `-b value`, `--flag`/`--no-flag` for booleans. */
export function parseArgs(argv: readonly string[]): CommandLine {
  const values: CommandLine['values'] = {};
  let configFile: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const match = /^(?:--([a-z][a-z-]*)|-([a-z]))(?:=(.*))?$/s.exec(arg);
    if (match === null) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (options start with --; see --help)`);
    let name = match[1] ?? match[2]!;
    let inline = match[3];
    if (name === 'config' || name === 'c') {
      configFile = inline ?? argv[++i];
      if (configFile === undefined) throw new ConfigError('--config needs a file path');
      continue;
    }
    let negated = false;
    if (!byFlag.has(name) && name.startsWith('no-') && byFlag.get(name.slice(3))?.kind === 'bool') {
      name = name.slice(3);
      negated = true;
    }
    const spec = byFlag.get(name);
    if (spec === undefined) throw new ConfigError(`unknown option ${arg.split('=')[0]} (see --help for the list)`);
    if (spec.kind === 'bool' && inline === undefined) {
      values[spec.key] = !negated;
      continue;
    }
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new ConfigError(`option --${spec.flag} needs a value`);
    }
    values[spec.key] = parseValue(spec, inline, `--${spec.flag}`);
  }
  return { values, configFile, help };
}

/** Merge defaults, the config file, the environment and the command line into one config. */
export function resolveConfig(commandLine: CommandLine, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config = Object.fromEntries(OPTIONS.map((spec) => [spec.key, spec.default()])) as unknown as Record<string, unknown>;
  const file = commandLine.configFile ?? env.LAYERSTACK_CONFIG;
  if (file !== undefined && file !== '') {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must hold a JSON object`);
    for (const [name, value] of Object.entries(data)) {
      const spec = byKey.get(name) ?? byFlag.get(name);
      if (spec === undefined) throw new ConfigError(`config file ${file}: unknown setting ${JSON.stringify(name)} (see --help)`);
      config[spec.key] = parseValue(spec, value, `config file ${file}, "${name}"`);
    }
  }
  for (const spec of OPTIONS) {
    for (const name of [...(spec.aliases ?? []), envName(spec)]) {
      const raw = env[name];
      if (raw !== undefined && raw !== '') config[spec.key] = parseValue(spec, raw, `environment ${name}`);
    }
  }
  Object.assign(config, commandLine.values);
  return validate(config as unknown as ServerConfig);
}

function validate(config: ServerConfig): ServerConfig {
  let bind;
  try {
    bind = parseAddress(config.bind, LISTEN_ADDRESS);
  } catch (error) {
    throw new ConfigError(`--bind ${(error as Error).message}`);
  }
  if (config.workers < 1) throw new ConfigError('workers must be at least 1');
  if (bind.kind === 'unix' && config.engine === 'uws' && config.workers > 1) {
    throw new ConfigError(
      `the uws engine serves a unix socket with one worker only (--workers ${config.workers} given): uWS workers share a ` +
        'port through SO_REUSEPORT, which unix sockets do not have (a second uWS listener takes the path over). ' +
        'Bind uws workers to a loopback TCP port (e.g. --bind 127.0.0.1:8001), or use --engine http for a unix socket.',
    );
  }
  if (!config.app.includes('#')) throw new ConfigError(`app ${JSON.stringify(config.app)} must look like module.ts#export or module.ts#factory()`);
  return config;
}

/** The per-connection limits the engines enforce, from the config. */
export function limitsOf(config: ServerConfig): Limits {
  return {
    maxBodySize: config.maxBodySize,
    maxHeaderSize: config.maxHeaderSize,
    maxRequestLine: config.limitRequestLine,
    maxHeaderCount: config.limitRequestFields,
    headerTimeout: Math.round(config.headerTimeout * 1000),
    requestTimeout: Math.round(config.requestTimeout * 1000),
    keepAliveTimeout: Math.round(config.keepAlive * 1000),
  };
}

/** `--help`: every option with its flag, environment variable, default and meaning. */
export function helpText(): string {
  const lines = [
    'Usage: npm run serve -- [options]        (tsx server/pool/cli.ts [options])',
    '',
    'The worker pool: a master process that runs N worker processes hosting one app, replaces',
    'crashed and stuck workers, and reloads without dropping requests. Settings come from, in',
    'increasing priority: defaults, a JSON config file, LAYERSTACK_* environment variables, flags.',
    '',
    'Options:',
    '  -c, --config PATH   JSON file of settings, keys as below in camelCase or flag form (env LAYERSTACK_CONFIG)',
    '  -h, --help          Show this help and exit',
  ];
  for (const spec of OPTIONS) {
    const name = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.flag}${spec.kind === 'bool' ? `, --no-${spec.flag}` : ` ${spec.kind === 'seconds' ? 'SECONDS' : spec.kind === 'int' ? 'N' : 'VALUE'}`}`;
    const env = [envName(spec), ...(spec.aliases ?? [])].join(', ');
    lines.push(`  ${name}`, `      ${spec.help}`, `      default: ${JSON.stringify(spec.default())}; env: ${env}`);
  }
  lines.push(
    '',
    'Signals to the master (Gunicorn\'s): TERM, INT graceful stop (in-flight requests finish within',
    '--graceful-timeout); QUIT immediate stop; HUP graceful reload (new workers serve before old ones',
    'retire); TTIN / TTOU one worker more / fewer; USR1 reopen log files.',
    '',
    'Once every worker listens, the master prints one line on stdout for supervisors:',
    '  READY <address> pid=<master pid> workers=<pid,pid,...>',
  );
  return lines.join('\n');
}

/** The effective configuration, one `name = value` per line, for the start-up log. */
export function describeConfig(config: ServerConfig): string[] {
  return OPTIONS.map((spec) => `  ${spec.flag.padEnd(21)} = ${JSON.stringify(config[spec.key])}`);
}
