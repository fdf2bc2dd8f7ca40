/**
 * The front's configuration: the options of proxy/options.ts mapped to what the front core runs
 * with (static mounts, upstream addresses, timeouts in milliseconds), plus the checks that involve
 * several options, the warnings about legal but risky settings, and the start-up description.
 * Parsing, precedence and `--help` belong to the option system (options/).
 */
import { resolve } from 'node:path';
import { ConfigError, formatDuration, parseCommandLine, type Resolution, resolveOptions } from '../options/index.ts';
import { DEFAULT_LIMITS, shortestAppKeepAliveMs, UWS_IDLE_TIMEOUT_MS } from '../wire/limits.ts';
import { FRONT_MAX_HEADER_FIELDS, FRONT_MAX_REQUEST_LINE } from './front/core.ts';
import type { ClientSettings, FrontSettings } from './front/core.ts';
import type { CompressionSettings } from './compression/policy.ts';
import { DEFAULT_FILE_CACHE_OPTIONS } from './static/file-cache.ts';
import { tlsOf } from './tls/tls-flags.ts';
import type { TlsCredentials } from './tls/credentials.ts';
import type { FileCacheOptions } from './static/file-cache.ts';
import type { StaticMount } from './static/static-files.ts';
import type { BalanceStrategy } from './upstream/balancer.ts';
import { TrustedClients } from './upstream/trust.ts';
import { formatAddress, type ParsedAddress, parseAddress } from '../options/grammar.ts';
import { FRONT_OPTIONS, IMMUTABLE, PROXY_COMMAND } from './options.ts';

export { IMMUTABLE };

/** The front's complete, validated configuration. */
export interface FrontConfig {
  listen: { host: string; port: number };
  engine: 'net' | 'http';
  /** Processes serving (--processes); above 1, cli.ts runs a master (front-processes.ts). */
  processes: number;
  upstreams: ParsedAddress[];
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
  /** Add the front's Server-Timing entries to proxied responses. */
  serverTiming: boolean;
  /** Where refusals, upstream failures and reload errors go: `-` (stderr) or a file (cli.ts opens it). */
  errorLog: string;
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

type FrontResolution = Resolution<typeof FRONT_OPTIONS>;

/** `HOST:PORT` (already checked by the option system) as host and port. */
function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}

/** `off`, a max-age in seconds, or a whole Strict-Transport-Security value (RFC 6797 §6.1). */
function hstsOf(value: string): string | null {
  const v = value.trim();
  if (v === 'off' || v === '') return null;
  if (/^\d+$/.test(v)) return `max-age=${v}`;
  if (/^max-age=\d+(?:\s*;\s*(?:includeSubDomains|preload))*$/i.test(v)) return v;
  throw new ConfigError('--hsts', 'off, a max-age in seconds, or "max-age=N; includeSubDomains"', value);
}

/** Split `PREFIX=VALUE`; the prefix gets its leading and trailing slash. */
function prefixed(flag: string, entry: string): [string, string] {
  const eq = entry.indexOf('=');
  if (eq <= 0 || eq === entry.length - 1 || !entry.startsWith('/')) throw new ConfigError(flag, 'PREFIX=VALUE with a URL prefix starting with "/", e.g. /static/=./static', entry);
  let prefix = entry.slice(0, eq);
  if (!prefix.endsWith('/')) prefix += '/';
  return [prefix, entry.slice(eq + 1)];
}

/** The front's configuration from a resolution of PROXY_COMMAND; throws ConfigError. */
export function frontConfigOf(resolution: FrontResolution): FrontConfig {
  const v = resolution.values;
  const index = v.index === 'off' ? null : v.index;
  const statics: StaticMount[] = [];
  for (const entry of v.static) {
    const [prefix, folder] = prefixed('--static', entry);
    if (statics.some((s) => s.prefix === prefix)) throw new ConfigError('--static', `each URL prefix once (${prefix} is mapped twice)`, entry);
    statics.push({ prefix, root: resolve(folder), cacheControl: null, index, precompressed: v.precompressed });
  }
  for (const entry of v.cacheControl) {
    const [prefix, value] = prefixed('--cache-control', entry);
    const mount = statics.find((s) => s.prefix === prefix);
    if (mount === undefined) throw new ConfigError('--cache-control', `a prefix given to --static (have: ${statics.map((s) => s.prefix).join(', ') || 'none'})`, entry);
    mount.cacheControl = value === 'immutable' ? IMMUTABLE : value;
  }
  const upstreams = v.upstream.map((item) => parseAddress(item, { unix: true }));
  if (statics.length === 0 && upstreams.length === 0) throw new ConfigError('--static / --upstream', 'something to serve: at least one --static PREFIX=FOLDER or --upstream ADDRESS');
  try {
    new TrustedClients(v.trusted);
  } catch (error) {
    throw new ConfigError('--trusted', `IP addresses or CIDR ranges (${(error as Error).message})`, v.trusted.join(','));
  }
  const cache: FileCacheOptions = {
    maxFileSize: v.cacheMaxFileSize,
    maxBytes: v.cacheMaxBytes,
    maxEntries: DEFAULT_FILE_CACHE_OPTIONS.maxEntries,
    revalidateMs: v.cacheRevalidate,
  };
  if (cache.maxFileSize > cache.maxBytes) throw new ConfigError('--cache-max-file-size', `a size no larger than --cache-max-bytes (${cache.maxBytes})`, cache.maxFileSize);
  const tls = tlsOf(v.tlsCert, v.tlsKey, v.tlsChain);
  if (v.redirectHttp !== undefined && tls === null) throw new ConfigError('--redirect-http', '--tls-cert and --tls-key with it (it redirects to the HTTPS listener)');
  return {
    listen: hostPort(v.listen),
    engine: v.frontEngine,
    processes: v.processes,
    upstreams,
    balance: v.balance as BalanceStrategy,
    statics,
    client: {
      maxBodySize: v.maxBodySize,
      maxHeaderSize: v.maxHeaderSize,
      maxRequestLine: FRONT_MAX_REQUEST_LINE,
      maxHeaderFields: FRONT_MAX_HEADER_FIELDS,
      headerTimeoutMs: v.headerTimeout,
      bodyTimeoutMs: v.bodyTimeout,
      keepAliveTimeoutMs: v.keepAliveTimeout,
      sendTimeoutMs: v.sendTimeout,
    },
    connectTimeoutMs: v.connectTimeout,
    readTimeoutMs: v.readTimeout,
    upstreamIdleTimeoutMs: v.upstreamIdleTimeout,
    upstreamKeepalive: v.upstreamKeepalive,
    maxFails: v.maxFails,
    failTimeoutMs: v.failTimeout,
    trusted: v.trusted,
    accessLog: v.accessLog,
    errorLog: v.errorLog,
    serverTiming: v.serverTiming,
    cache,
    shutdownTimeoutMs: v.gracefulTimeout,
    tls,
    redirectHttp: v.redirectHttp === undefined ? null : hostPort(v.redirectHttp),
    hsts: hstsOf(v.hsts),
    compression: {
      enabled: v.compress,
      types: v.compressTypes,
      minLength: v.compressMinLength,
      gzipLevel: v.gzipLevel,
      brotliLevel: v.brotliLevel,
    },
    configFile: resolution.configFile,
  };
}

/**
 * Build the configuration from flags, environment and (if named by either) a JSON file.
 * Throws ConfigError with a message for the user on any problem.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): FrontConfig {
  return frontConfigOf(resolveOptions(PROXY_COMMAND, parseCommandLine(PROXY_COMMAND, argv), env));
}

/**
 * A configuration from defaults plus `overrides` given as flag names (or keys) → values as a
 * config file would give them (tests, embedding).
 */
export function configFrom(overrides: Record<string, string | number | boolean | string[]>): FrontConfig {
  const argv: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    const flag = name in FRONT_OPTIONS ? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) : name;
    for (const item of Array.isArray(value) ? value : [value]) argv.push(`--${flag}=${String(item)}`);
  }
  return loadConfig(argv, {});
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
      serverTiming: config.serverTiming,
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

const seconds = formatDuration;

function bytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** The configuration as printed at start and on reload. */
export function describeConfig(config: FrontConfig, port = config.listen.port): string {
  const scheme = config.tls !== null ? 'https' : 'http';
  const lines = [`front: listening on ${scheme}://${config.listen.host}:${port} (engine ${config.engine}${config.processes > 1 ? `, ${config.processes} processes` : ''})${config.configFile ? `, config ${config.configFile}` : ''}`];
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
    lines.push(`  proxy    → ${config.upstreams.map(formatAddress).join(', ')} (${config.balance}, keepalive ${config.upstreamKeepalive}, max-fails ${config.maxFails}, fail-timeout ${seconds(config.failTimeoutMs)}, server-timing ${config.serverTiming ? 'on' : 'off'})`);
    lines.push(`  upstream connect ${seconds(config.connectTimeoutMs)}, read ${seconds(config.readTimeoutMs)}, idle ${seconds(config.upstreamIdleTimeoutMs)} (app server keep-alive: ${seconds(DEFAULT_LIMITS.keepAliveTimeout)} on node:http, ${seconds(UWS_IDLE_TIMEOUT_MS)} on uWS)`);
  } else lines.push('  proxy    off (no --upstream): other paths answer 404');
  const c = config.client;
  lines.push(`  client   body ≤ ${bytes(c.maxBodySize)}, head ≤ ${bytes(c.maxHeaderSize)}; timeouts header ${seconds(c.headerTimeoutMs)}, body ${seconds(c.bodyTimeoutMs)}, keep-alive ${seconds(c.keepAliveTimeoutMs)}, send ${seconds(c.sendTimeoutMs)}`);
  lines.push(`  cache    files ≤ ${bytes(config.cache.maxFileSize)} in memory, ${bytes(config.cache.maxBytes)} total, re-checked every ${seconds(config.cache.revalidateMs)}`);
  lines.push(`  trusted  ${config.trusted.length > 0 ? config.trusted.join(', ') : 'none'}; access log ${config.accessLog}; error log ${config.errorLog}; shutdown timeout ${seconds(config.shutdownTimeoutMs)}`);
  for (const warning of warningsFor(config)) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
