/**
 * The front's configuration: one table of options, read from (lowest to highest precedence)
 * defaults, an optional JSON file (`--config front.json`), environment variables (`FRONT_*`) and
 * command-line flags. Every option has the same name everywhere:
 *
 *   flag `--read-timeout 30s`  ·  env `FRONT_READ_TIMEOUT=30s`  ·  JSON `{"read-timeout": "30s"}`
 *
 * Repeatable options (upstream, static, cache-control, trusted) take several flags, a `;`-separated
 * env value, or a JSON array; a higher layer replaces a lower one's list. Durations need a unit
 * (`500ms`, `60s`, `2m`; plain numbers are milliseconds only in JSON), sizes may have one (`512k`,
 * `1m`). Unknown options, in any layer, are an error: a typo must not silently fall back to a default.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_LIMITS, shortestAppKeepAliveMs, UWS_IDLE_TIMEOUT_MS } from '../server/limits.ts';
import type { ClientSettings, FrontSettings } from './front/core.ts';
import { DEFAULT_COMPRESS_TYPES } from './compression/policy.ts';
import type { CompressionSettings } from './compression/policy.ts';
import { DEFAULT_FILE_CACHE_OPTIONS } from './static/file-cache.ts';
import { loadTlsCredentials, TlsCredentialsError } from './tls/credentials.ts';
import type { TlsCredentials } from './tls/credentials.ts';
import type { FileCacheOptions } from './static/file-cache.ts';
import type { StaticMount } from './static/static-files.ts';
import type { BalanceStrategy } from './upstream/balancer.ts';
import { TrustedClients } from './upstream/trust.ts';
import { addressLabel, parseUpstreamAddress } from './upstream/upstream.ts';
import type { UpstreamAddress } from './upstream/upstream.ts';

/** The front's complete, validated configuration. */
export interface FrontConfig {
  listen: { host: string; port: number };
  engine: 'http' | 'uws';
  upstreams: UpstreamAddress[];
  balance: BalanceStrategy;
  statics: StaticMount[];
  client: ClientSettings;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
  upstreamKeepalive: number;
  maxFails: number;
  failTimeoutMs: number;
  trusted: string[];
  accessLog: string;
  cache: FileCacheOptions;
  shutdownTimeoutMs: number;
  /** Certificate and key (read and checked) when the front speaks TLS, else null. */
  tls: TlsCredentials | null;
  /** Where a plain-HTTP listener answers every request with a redirect to HTTPS, or null. */
  redirectHttp: { host: string; port: number } | null;
  /** Strict-Transport-Security value for TLS responses, or null. */
  hsts: string | null;
  compression: CompressionSettings;
  /** The JSON file the configuration came from, if any (SIGHUP re-reads it). */
  configFile: string | null;
}

/** A configuration problem, reported to the user as is. */
export class ConfigError extends Error {}

type Kind = 'string' | 'list' | 'duration' | 'size' | 'count' | 'switch';

interface OptionSpec {
  kind: Kind;
  value: string;
  help: string;
  choices?: readonly string[];
}

/** Shorthand for `--cache-control PREFIX=immutable`: a year, never revalidated (hashed file names). */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Every option, its default (as text) and what it means; `--help` prints this table. */
export const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  config: { kind: 'string', value: '', help: 'JSON file with any of these options (keys as the flag names)' },
  listen: { kind: 'string', value: '127.0.0.1:8000', help: 'HOST:PORT the front listens on' },
  engine: { kind: 'string', value: 'http', choices: ['http', 'uws'], help: 'client side: node:http, or uWebSockets.js (fastest; HTTP/1.1 only)' },
  upstream: { kind: 'list', value: '', help: 'app server HOST:PORT or unix:/path.sock (repeatable)' },
  balance: { kind: 'string', value: 'round-robin', choices: ['round-robin', 'least-conn'], help: 'how requests are spread over upstreams' },
  static: { kind: 'list', value: '', help: 'PREFIX=FOLDER static mapping, e.g. /static/=./static (repeatable)' },
  'cache-control': { kind: 'list', value: '', help: `PREFIX=VALUE Cache-Control for a static mapping; "immutable" = "${IMMUTABLE}" (repeatable)` },
  index: { kind: 'string', value: 'index.html', help: 'index file for folder URLs ("off": none); folders are never listed' },
  precompressed: { kind: 'switch', value: 'on', help: 'serve FILE.br / FILE.gz to clients that accept them (on|off)' },
  'max-body-size': { kind: 'size', value: '1m', help: 'largest request body, else 413 (client_max_body_size)' },
  'max-header-size': { kind: 'size', value: '16k', help: 'largest request head, else 431 (http engine)' },
  'client-header-timeout': { kind: 'duration', value: '30s', help: 'time to receive a request head, else 408' },
  'client-body-timeout': { kind: 'duration', value: '60s', help: 'time between two reads of a request body, else 408' },
  'keepalive-timeout': { kind: 'duration', value: '75s', help: 'idle client keep-alive connections close after this' },
  'send-timeout': { kind: 'duration', value: '60s', help: 'a client that reads nothing for this long is cut' },
  'connect-timeout': { kind: 'duration', value: '5s', help: 'time to connect to an upstream, else next upstream / 504' },
  'read-timeout': { kind: 'duration', value: '60s', help: 'time between two reads from an upstream, else 504' },
  'upstream-idle-timeout': { kind: 'duration', value: '4s', help: "idle upstream connections close after this; keep it BELOW the app server's keep-alive timeout" },
  'upstream-keepalive': { kind: 'count', value: '64', help: 'idle connections kept open per upstream' },
  'max-fails': { kind: 'count', value: '1', help: 'failures within fail-timeout that take an upstream out (0: never)' },
  'fail-timeout': { kind: 'duration', value: '10s', help: 'failure window, and how long a failed upstream rests' },
  trusted: { kind: 'list', value: '', help: 'client IP or CIDR trusted for X-Forwarded-Proto/-Host and X-Request-Id (repeatable)' },
  'access-log': { kind: 'string', value: '-', help: 'access log: "-" stdout, "off", or a file path' },
  'cache-max-file-size': { kind: 'size', value: '1m', help: 'static files up to this size are served from memory' },
  'cache-max-bytes': { kind: 'size', value: '64m', help: 'memory for cached static files in total' },
  'cache-revalidate': { kind: 'duration', value: '1s', help: 'a cached file is checked for changes at most this often' },
  'shutdown-timeout': { kind: 'duration', value: '30s', help: 'graceful shutdown waits this long for in-flight requests' },
  'tls-cert': { kind: 'string', value: '', help: 'PEM certificate (leaf first, chain may follow): the front speaks HTTPS; re-read on SIGHUP' },
  'tls-key': { kind: 'string', value: '', help: 'PEM private key of --tls-cert (unencrypted); re-read on SIGHUP' },
  'tls-chain': { kind: 'string', value: '', help: 'PEM intermediate certificates sent after the leaf (if not already in --tls-cert)' },
  'redirect-http': { kind: 'string', value: '', help: 'HOST:PORT of a plain-HTTP listener that answers 301 to the same URL over HTTPS (needs --tls-cert)' },
  hsts: { kind: 'string', value: 'off', help: 'Strict-Transport-Security on TLS responses: "off", max-age seconds (31536000), or the whole header value' },
  compress: { kind: 'switch', value: 'on', help: 'gzip/brotli proxied responses and cached static files for clients that accept it (on|off)' },
  'compress-types': { kind: 'list', value: '', help: `media types compressed, "type/*" allowed (repeatable; default ${DEFAULT_COMPRESS_TYPES.slice(0, 4).join(', ')}, … JSON, JS, SVG, XML)` },
  'compress-min-length': { kind: 'size', value: '1k', help: 'smallest response body compressed (when its length is known)' },
  'gzip-level': { kind: 'count', value: '6', help: 'gzip level 1-9 (Nginx gzip_comp_level)' },
  'brotli-level': { kind: 'count', value: '4', help: 'brotli quality 0-11 for responses compressed on the fly' },
};

type Raw = Map<string, string | string[] | number | boolean>;

function envName(option: string): string {
  return 'FRONT_' + option.toUpperCase().replaceAll('-', '_');
}

const ENV_NAMES = new Map(Object.keys(OPTIONS).map((name) => [envName(name), name]));

/** Read flags: `--name value`, `--name=value`; repeatable options accumulate. */
function fromArgv(argv: readonly string[]): Raw {
  const raw: Raw = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (options look like --name value; see --help)`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = OPTIONS[name];
    if (spec === undefined) throw new ConfigError(`unknown option --${name} (see --help)`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new ConfigError(`option --${name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.kind === 'list') {
      const list = (raw.get(name) as string[] | undefined) ?? [];
      list.push(value);
      raw.set(name, list);
    } else raw.set(name, value);
  }
  return raw;
}

function fromEnv(env: NodeJS.ProcessEnv): Raw {
  const raw: Raw = new Map();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('FRONT_') || value === undefined) continue;
    const name = ENV_NAMES.get(key);
    if (name === undefined) throw new ConfigError(`unknown environment variable ${key} (front options are ${[...ENV_NAMES.keys()].slice(0, 3).join(', ')}, …; see --help)`);
    raw.set(name, OPTIONS[name]!.kind === 'list' ? value.split(';').map((v) => v.trim()).filter((v) => v !== '') : value);
  }
  return raw;
}

function fromFile(file: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config file ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: expected a JSON object`);
  const raw: Raw = new Map();
  const base = dirname(file);
  for (const [name, value] of Object.entries(parsed)) {
    const spec = OPTIONS[name];
    if (spec === undefined || name === 'config') throw new ConfigError(`config file ${file}: unknown option ${JSON.stringify(name)}`);
    if (spec.kind === 'list') {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) throw new ConfigError(`config file ${file}: "${name}" must be a string or a list of strings`);
      // Static folders in a file are relative to the file, not to wherever the front was started.
      raw.set(name, name === 'static' ? list.map((entry: string) => relativeTo(base, entry)) : list);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') raw.set(name, value);
    else throw new ConfigError(`config file ${file}: "${name}" must be a string or a number`);
  }
  return raw;
}

function relativeTo(base: string, entry: string): string {
  const eq = entry.indexOf('=');
  return eq === -1 ? entry : entry.slice(0, eq + 1) + resolve(base, entry.slice(eq + 1));
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const UNITS_BYTES: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function duration(name: string, value: string | number | boolean): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value.trim()) : null;
  if (match === null) throw new ConfigError(`${name}: expected a duration with a unit like 500ms, 30s or 2m, got ${JSON.stringify(value)}`);
  return Number(match[1]) * UNITS_MS[match[2]!]!;
}

function size(name: string, value: string | number | boolean): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const match = typeof value === 'string' ? /^(\d+)\s*([kmg]?)b?$/i.exec(value.trim()) : null;
  if (match === null) throw new ConfigError(`${name}: expected a size like 1048576, 512k or 1m, got ${JSON.stringify(value)}`);
  return Number(match[1]) * UNITS_BYTES[match[2]!.toLowerCase()]!;
}

function count(name: string, value: string | number | boolean): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name}: expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}

function text(name: string, value: string | number | boolean): string {
  const s = String(value);
  const choices = OPTIONS[name]!.choices;
  if (choices !== undefined && !choices.includes(s)) throw new ConfigError(`${name}: expected one of ${choices.join(', ')}, got ${JSON.stringify(s)}`);
  return s;
}

function onOff(name: string, value: string | number | boolean): boolean {
  if (value === true || value === 'on' || value === 'true') return true;
  if (value === false || value === 'off' || value === 'false') return false;
  throw new ConfigError(`${name}: expected on or off, got ${JSON.stringify(value)}`);
}

/** Read and check the certificate and key (both or neither); a problem is a ConfigError. */
function tlsOf(cert: string, key: string, chain: string): TlsCredentials | null {
  if (cert === '' && key === '') {
    if (chain !== '') throw new ConfigError('tls-chain needs --tls-cert and --tls-key');
    return null;
  }
  if (cert === '' || key === '') throw new ConfigError(`${cert === '' ? 'tls-key' : 'tls-cert'} needs ${cert === '' ? '--tls-cert' : '--tls-key'} too`);
  try {
    return loadTlsCredentials({ cert: resolve(cert), key: resolve(key), chain: chain === '' ? null : resolve(chain) });
  } catch (error) {
    if (error instanceof TlsCredentialsError) throw new ConfigError(error.message);
    throw error;
  }
}

/** `off`, a max-age in seconds, or a whole Strict-Transport-Security value (RFC 6797 §6.1). */
function hstsOf(value: string): string | null {
  const v = value.trim();
  if (v === 'off' || v === '') return null;
  if (/^\d+$/.test(v)) return `max-age=${v}`;
  if (/^max-age=\d+(?:\s*;\s*(?:includeSubDomains|preload))*$/i.test(v)) return v;
  throw new ConfigError(`hsts: expected off, a max-age in seconds, or "max-age=N; includeSubDomains", got ${JSON.stringify(value)}`);
}

function parseListen(value: string, option = 'listen'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : -1;
  if (match === null || port > 65535) throw new ConfigError(`${option}: expected HOST:PORT like 127.0.0.1:8000, got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2]!, port };
}

/** Split `PREFIX=VALUE`; the prefix gets its leading and trailing slash. */
function prefixed(option: string, entry: string): [string, string] {
  const eq = entry.indexOf('=');
  if (eq <= 0 || eq === entry.length - 1) throw new ConfigError(`${option}: expected PREFIX=VALUE like /static/=./static, got ${JSON.stringify(entry)}`);
  let prefix = entry.slice(0, eq);
  if (!prefix.startsWith('/')) throw new ConfigError(`${option}: the URL prefix must start with "/", got ${JSON.stringify(prefix)}`);
  if (!prefix.endsWith('/')) prefix += '/';
  return [prefix, entry.slice(eq + 1)];
}

/**
 * Build the configuration from flags, environment and (if named by either) a JSON file.
 * Throws ConfigError with a message for the user on any problem.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): FrontConfig {
  const flags = fromArgv(argv);
  const environment = fromEnv(env);
  const configPath = (flags.get('config') ?? environment.get('config')) as string | undefined;
  const file = configPath !== undefined && configPath !== '' ? resolve(configPath) : null;
  const layers = [file === null ? new Map() : fromFile(file), environment, flags];
  const get = (name: string): string | string[] | number | boolean => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const value = layers[i]!.get(name);
      if (value !== undefined) return value;
    }
    const spec = OPTIONS[name]!;
    return spec.kind === 'list' ? [] : spec.value;
  };
  const list = (name: string): string[] => get(name) as string[];
  return buildConfig(
    (name) => get(name) as string | number | boolean,
    list,
    file,
  );
}

function buildConfig(get: (name: string) => string | number | boolean, list: (name: string) => string[], file: string | null): FrontConfig {
  const index = text('index', get('index'));
  const precompressed = onOff('precompressed', get('precompressed'));
  const statics: StaticMount[] = [];
  for (const entry of list('static')) {
    const [prefix, folder] = prefixed('static', entry);
    if (statics.some((s) => s.prefix === prefix)) throw new ConfigError(`static: prefix ${prefix} is mapped twice`);
    statics.push({ prefix, root: resolve(folder), cacheControl: null, index: index === 'off' ? null : index, precompressed });
  }
  for (const entry of list('cache-control')) {
    const [prefix, value] = prefixed('cache-control', entry);
    const mount = statics.find((s) => s.prefix === prefix);
    if (mount === undefined) throw new ConfigError(`cache-control: ${prefix} is not a static prefix (have: ${statics.map((s) => s.prefix).join(', ') || 'none'})`);
    mount.cacheControl = value === 'immutable' ? IMMUTABLE : value;
  }
  const upstreams: UpstreamAddress[] = [];
  for (const spec of list('upstream')) {
    try {
      upstreams.push(parseUpstreamAddress(spec));
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  if (statics.length === 0 && upstreams.length === 0) throw new ConfigError('nothing to serve: give at least one --static PREFIX=FOLDER or --upstream HOST:PORT');
  const trusted = list('trusted');
  try {
    new TrustedClients(trusted);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const cache: FileCacheOptions = {
    maxFileSize: size('cache-max-file-size', get('cache-max-file-size')),
    maxBytes: size('cache-max-bytes', get('cache-max-bytes')),
    maxEntries: DEFAULT_FILE_CACHE_OPTIONS.maxEntries,
    revalidateMs: duration('cache-revalidate', get('cache-revalidate')),
  };
  if (cache.maxFileSize > cache.maxBytes) throw new ConfigError('cache-max-file-size must not exceed cache-max-bytes');
  const headerTimeoutMs = duration('client-header-timeout', get('client-header-timeout'));
  if (headerTimeoutMs <= 0) throw new ConfigError('client-header-timeout must be above 0 (it is the slowloris guard)');
  const connectTimeoutMs = duration('connect-timeout', get('connect-timeout'));
  // Unlike the read and idle timeouts, 0 cannot mean "none": a SYN that is never answered would hold the request forever.
  if (connectTimeoutMs <= 0) throw new ConfigError('connect-timeout must be above 0');
  const tls = tlsOf(text('tls-cert', get('tls-cert')), text('tls-key', get('tls-key')), text('tls-chain', get('tls-chain')));
  const redirect = text('redirect-http', get('redirect-http'));
  if (redirect !== '' && tls === null) throw new ConfigError('redirect-http needs --tls-cert and --tls-key (it redirects to the HTTPS listener)');
  const gzipLevel = count('gzip-level', get('gzip-level'));
  if (gzipLevel < 1 || gzipLevel > 9) throw new ConfigError(`gzip-level: expected 1 to 9, got ${gzipLevel}`);
  const brotliLevel = count('brotli-level', get('brotli-level'));
  if (brotliLevel > 11) throw new ConfigError(`brotli-level: expected 0 to 11, got ${brotliLevel}`);
  const types = list('compress-types').map((t) => t.trim().toLowerCase());
  for (const type of types) if (!/^[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+)$/.test(type)) throw new ConfigError(`compress-types: expected a media type like text/html or text/*, got ${JSON.stringify(type)}`);
  return {
    listen: parseListen(text('listen', get('listen'))),
    engine: text('engine', get('engine')) as 'http' | 'uws',
    upstreams,
    balance: text('balance', get('balance')) as BalanceStrategy,
    statics,
    client: {
      maxBodySize: size('max-body-size', get('max-body-size')),
      maxHeaderSize: size('max-header-size', get('max-header-size')),
      headerTimeoutMs,
      bodyTimeoutMs: duration('client-body-timeout', get('client-body-timeout')),
      keepAliveTimeoutMs: duration('keepalive-timeout', get('keepalive-timeout')),
      sendTimeoutMs: duration('send-timeout', get('send-timeout')),
    },
    connectTimeoutMs,
    readTimeoutMs: duration('read-timeout', get('read-timeout')),
    upstreamIdleTimeoutMs: duration('upstream-idle-timeout', get('upstream-idle-timeout')),
    upstreamKeepalive: count('upstream-keepalive', get('upstream-keepalive')),
    maxFails: count('max-fails', get('max-fails')),
    failTimeoutMs: duration('fail-timeout', get('fail-timeout')),
    trusted,
    accessLog: text('access-log', get('access-log')),
    cache,
    shutdownTimeoutMs: duration('shutdown-timeout', get('shutdown-timeout')),
    tls,
    redirectHttp: redirect === '' ? null : parseListen(redirect, 'redirect-http'),
    hsts: hstsOf(text('hsts', get('hsts'))),
    compression: {
      enabled: onOff('compress', get('compress')),
      types: types.length > 0 ? types : DEFAULT_COMPRESS_TYPES,
      minLength: size('compress-min-length', get('compress-min-length')),
      gzipLevel,
      brotliLevel,
    },
    configFile: file,
  };
}

/** A configuration from defaults plus `overrides` given as option names → values (tests, embedding). */
export function configFrom(overrides: Record<string, string | number | boolean | string[]>): FrontConfig {
  for (const name of Object.keys(overrides)) if (OPTIONS[name] === undefined || name === 'config') throw new ConfigError(`unknown option ${JSON.stringify(name)}`);
  const get = (name: string): string | number | boolean => (overrides[name] as string | number | boolean | undefined) ?? OPTIONS[name]!.value;
  const list = (name: string): string[] => {
    const value = overrides[name];
    return value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
  };
  return buildConfig(get, list, null);
}

/** The runtime settings the front core takes. */
export function settingsOf(config: FrontConfig): FrontSettings {
  return {
    client: config.client,
    statics: config.statics,
    upstreams: config.upstreams,
    proxy: {
      strategy: config.balance,
      connectTimeoutMs: config.connectTimeoutMs,
      readTimeoutMs: config.readTimeoutMs,
      sendTimeoutMs: config.client.sendTimeoutMs,
      idleTimeoutMs: config.upstreamIdleTimeoutMs,
      keepalive: config.upstreamKeepalive,
      health: { maxFails: config.maxFails, failTimeoutMs: config.failTimeoutMs },
    },
    forwarding: {
      trusted: new TrustedClients(config.trusted),
      scheme: config.tls !== null ? 'https' : 'http',
      fallbackHost: `${config.listen.host}:${config.listen.port}`,
    },
    accessLog: config.accessLog,
    compression: config.compression,
    tls: config.tls,
    hsts: config.hsts,
  };
}

/** Warnings about settings that are legal but likely wrong. */
export function warningsFor(config: FrontConfig): string[] {
  const warnings: string[] = [];
  const appKeepAlive = shortestAppKeepAliveMs();
  if (config.upstreams.length > 0 && config.upstreamIdleTimeoutMs >= appKeepAlive) {
    warnings.push(
      `upstream-idle-timeout ${seconds(config.upstreamIdleTimeoutMs)} is not below the app server's shortest keep-alive timeout ` +
        `(${seconds(appKeepAlive)}, uWebSockets.js's fixed idle timeout): the app server may close a pooled connection just as the front reuses it → sporadic 502s`,
    );
  }
  return warnings;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function bytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** The configuration as printed at start and on reload. */
export function describeConfig(config: FrontConfig, port = config.listen.port): string {
  const scheme = config.tls !== null ? 'https' : 'http';
  const lines = [`front: listening on ${scheme}://${config.listen.host}:${port} (engine ${config.engine})${config.configFile ? `, config ${config.configFile}` : ''}`];
  if (config.tls !== null) {
    const t = config.tls;
    lines.push(`  tls      ${t.files.cert} (subject ${t.subject}; issuer ${t.issuer}; valid to ${t.validTo}), TLS 1.2-1.3, HSTS ${config.hsts ?? 'off'}`);
    if (config.redirectHttp !== null) lines.push(`  redirect http://${config.redirectHttp.host}:${config.redirectHttp.port} → https (301)`);
  }
  const z = config.compression;
  lines.push(z.enabled ? `  compress gzip level ${z.gzipLevel}, brotli ${z.brotliLevel}, bodies ≥ ${bytes(z.minLength)}, ${z.types.length} media types` : '  compress off');
  for (const s of config.statics) {
    lines.push(`  static   ${s.prefix} → ${s.root} (cache-control: ${s.cacheControl ?? 'none'}, index: ${s.index ?? 'off'}, precompressed: ${s.precompressed ? 'on' : 'off'})`);
  }
  if (config.upstreams.length > 0) {
    lines.push(`  proxy    → ${config.upstreams.map(addressLabel).join(', ')} (${config.balance}, keepalive ${config.upstreamKeepalive}, max-fails ${config.maxFails}, fail-timeout ${seconds(config.failTimeoutMs)})`);
    lines.push(`  upstream connect ${seconds(config.connectTimeoutMs)}, read ${seconds(config.readTimeoutMs)}, idle ${seconds(config.upstreamIdleTimeoutMs)} (app server keep-alive: ${seconds(DEFAULT_LIMITS.keepAliveTimeout)} on node:http, ${seconds(UWS_IDLE_TIMEOUT_MS)} on uWS)`);
  } else lines.push('  proxy    off (no --upstream): other paths answer 404');
  const c = config.client;
  lines.push(`  client   body ≤ ${bytes(c.maxBodySize)}, head ≤ ${bytes(c.maxHeaderSize)}; timeouts header ${seconds(c.headerTimeoutMs)}, body ${seconds(c.bodyTimeoutMs)}, keep-alive ${seconds(c.keepAliveTimeoutMs)}, send ${seconds(c.sendTimeoutMs)}`);
  lines.push(`  cache    files ≤ ${bytes(config.cache.maxFileSize)} in memory, ${bytes(config.cache.maxBytes)} total, re-checked every ${seconds(config.cache.revalidateMs)}`);
  lines.push(`  trusted  ${config.trusted.length > 0 ? config.trusted.join(', ') : 'none'}; access log ${config.accessLog}; shutdown timeout ${seconds(config.shutdownTimeoutMs)}`);
  for (const warning of warningsFor(config)) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}

/** The `--help` text. */
export function helpText(): string {
  const lines = ['Usage: npm run proxy -- [options]', '', 'Static mappings are matched first, then everything else goes to the upstreams.', ''];
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const def = spec.value === '' ? '' : ` (default ${spec.value})`;
    lines.push(`  --${name.padEnd(22)} ${spec.help}${def}`);
    lines.push(`  ${''.padEnd(24)} env ${envName(name)}`);
  }
  lines.push('', 'Signals: SIGTERM/SIGINT graceful shutdown, SIGHUP reload (re-reads flags, env and the config file).');
  return lines.join('\n');
}
