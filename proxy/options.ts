/**
 * The front's options (`npm run proxy`), declared once: Nginx's settings under the project's one
 * vocabulary (see options/). Each limit and timeout says what a client sees when it trips; `npm
 * run nginx-config` writes its directives from these same declarations.
 */
import { resolve } from 'node:path';
import {
  ACCESS_LOG_OPTION,
  ERROR_LOG_OPTION,
  address,
  boolean,
  type Command,
  duration,
  GRACEFUL_TIMEOUT_OPTION,
  integer,
  list,
  listenOption,
  oneOf,
  parseAddress,
  Rejected,
  size,
  text,
} from '../options/index.ts';
import { DEFAULT_COMPRESS_TYPES } from './compression/policy.ts';

/** The front's client-side engines. */
export const FRONT_ENGINE_NAMES = ['net', 'http'] as const;

/** The front's production engine, the same in every command that runs the front. */
export const DEFAULT_FRONT_ENGINE = 'net';

export const FRONT_ENGINE_OPTION = oneOf(FRONT_ENGINE_NAMES, {
  flag: 'front-engine',
  default: DEFAULT_FRONT_ENGINE,
  help: 'The front\'s client side: net (the project\'s own HTTP/1.1 server, wire/http1, over node:net: HTTP/1.0, pipelining in order, every malformed or oversized request answered with its status — 400, 408, 413, 414 past an 8190-byte request line, 431 past 40 header fields or the head size, 501, 505 — then closed) or http (node:http writes the responses; requests are read by the same parser in front of llhttp, so both answer every request alike; see test/corpus-front.test.ts).',
});

/** Most front processes (--processes): far more than any machine has cores. */
export const MAX_FRONT_PROCESSES = 256;

/** How many processes accept and serve (Nginx's worker_processes); npm start passes its own. */
export const FRONT_PROCESSES_OPTION = integer({
  min: 1,
  max: MAX_FRONT_PROCESSES,
  default: 1,
  help: 'Processes that accept and serve connections (Nginx worker_processes). Above 1 a master supervises them: it replaces one that dies, and its TERM/INT/HUP reach them all. Each has its own upstream pools, health counts and file cache. A new value needs a restart.',
});

/** Shorthand for `--cache-control PREFIX=immutable`: a year, never revalidated (hashed file names). */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

const UPSTREAM_FORM = 'HOST:PORT, [IPv6]:PORT or unix:/absolute/path.sock';

function upstreamItem(item: string): string {
  try {
    parseAddress(item, { unix: true });
  } catch {
    throw new Rejected(`upstream addresses: ${UPSTREAM_FORM}`);
  }
  return item;
}

function mediaType(item: string): string {
  const type = item.toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+)$/.test(type)) throw new Rejected('media types like text/html or text/*');
  return type;
}

/** Static folders in a config file are relative to the file, not to wherever the front started. */
function staticRelativeTo(entries: string[], dir: string): string[] {
  return entries.map((entry) => {
    const eq = entry.indexOf('=');
    return eq === -1 ? entry : entry.slice(0, eq + 1) + resolve(dir, entry.slice(eq + 1));
  });
}

export const FRONT_OPTIONS = {
  listen: listenOption('127.0.0.1:8000', { portZero: true, help: 'Address the front listens on.' }),
  frontEngine: FRONT_ENGINE_OPTION,
  processes: FRONT_PROCESSES_OPTION,
  upstream: list({ metavar: 'ADDRESS', default: [], item: upstreamItem, help: `App server to proxy to: ${UPSTREAM_FORM} (repeatable; several hosts are balanced).` }),
  balance: oneOf(['round-robin', 'least-conn'], { default: 'round-robin', help: 'How requests are spread over the upstreams.' }),
  static: list({
    metavar: 'PREFIX=FOLDER',
    separator: ';',
    default: [],
    fromFile: staticRelativeTo,
    help: 'Serve FOLDER under the URL PREFIX, e.g. /static/=./static (repeatable).',
  }),
  cacheControl: list({
    metavar: 'PREFIX=VALUE',
    separator: ';',
    default: [],
    help: `Cache-Control for a static mapping; "immutable" means "${IMMUTABLE}" (repeatable).`,
  }),
  index: text({ metavar: 'FILE', default: 'index.html', help: 'Index file for folder URLs ("off": none); folders are never listed.' }),
  precompressed: boolean({ default: true, help: 'Serve FILE.br / FILE.gz to clients that accept them.' }),
  maxBodySize: size({ default: 1024 * 1024, help: 'Largest request body (client_max_body_size).', trips: '413 Content Too Large' }),
  maxHeaderSize: size({ default: 16 * 1024, help: 'Largest request head, and of the head the front forwards with its own fields added (so the app server, whose limit is the same, can read it).', trips: '431 Request Header Fields Too Large' }),
  headerTimeout: duration({ min: 1, default: 30_000, help: 'Time to receive a request head (client_header_timeout; the slowloris guard).', trips: '408 Request Timeout, then the connection closes' }),
  bodyTimeout: duration({ default: 60_000, help: 'Time between two reads of a request body (client_body_timeout).', trips: '408 Request Timeout, then the connection closes' }),
  keepAliveTimeout: duration({ default: 75_000, help: 'Idle client keep-alive connections close after this (keepalive_timeout).', trips: 'the idle connection is closed' }),
  sendTimeout: duration({ default: 60_000, help: 'A client that reads nothing of a response for this long is cut (send_timeout).', trips: 'the connection is closed' }),
  connectTimeout: duration({ min: 1, default: 5_000, help: 'Time to connect to an upstream (proxy_connect_timeout); 0 is refused: an unanswered SYN would hold the request forever.', trips: 'the next upstream is tried, else 504 Gateway Timeout' }),
  readTimeout: duration({ default: 60_000, help: 'Time between two reads from an upstream (proxy_read_timeout).', trips: '504 Gateway Timeout' }),
  upstreamIdleTimeout: duration({ default: 4_000, help: 'Idle upstream connections close after this; keep it BELOW the app server\'s --keep-alive-timeout (75 s).' }),
  upstreamKeepalive: integer({ default: 64, help: 'Idle connections kept open per upstream.' }),
  maxFails: integer({ default: 1, help: 'Failures within --fail-timeout that take an upstream out of rotation (0: never).', trips: 'requests go to the other upstreams; with none left, 502' }),
  failTimeout: duration({ default: 10_000, help: 'The failure window, and how long a failed upstream rests.' }),
  trusted: list({ metavar: 'IP|CIDR', default: [], help: 'Client trusted for X-Forwarded-Proto/-Host and X-Request-Id (repeatable).' }),
  accessLog: ACCESS_LOG_OPTION,
  errorLog: ERROR_LOG_OPTION,
  serverTiming: boolean({
    default: false,
    help: 'Append the front\'s own entries to each proxied response\'s Server-Timing: upstream;dur=<ms> (connect + wait for the response head) and proxy;dur=<ms> (the front before that). Off, as Nginx: they tell any client how long the app took; the upstream\'s own Server-Timing passes through either way.',
  }),
  cacheMaxFileSize: size({ default: 1024 * 1024, help: 'Static files up to this size are served from memory.' }),
  cacheMaxBytes: size({ default: 64 * 1024 * 1024, help: 'Memory for cached static files in total.' }),
  cacheRevalidate: duration({ default: 1_000, help: 'A cached file is checked for changes at most this often.' }),
  gracefulTimeout: GRACEFUL_TIMEOUT_OPTION,
  tlsCert: text({ metavar: 'FILE', default: undefined, help: 'PEM certificate (leaf first, chain may follow): the front speaks HTTPS; re-read on HUP.' }),
  tlsKey: text({ metavar: 'FILE', default: undefined, help: 'PEM private key of --tls-cert (unencrypted); re-read on HUP.' }),
  tlsChain: text({ metavar: 'FILE', default: undefined, help: 'PEM intermediate certificates sent after the leaf (if not already in --tls-cert).' }),
  redirectHttp: address({ portZero: true, default: undefined, help: 'A plain-HTTP listener that answers 301 to the same URL over HTTPS (needs --tls-cert).' }),
  hsts: text({ metavar: 'off|SECONDS|VALUE', default: 'off', help: 'Strict-Transport-Security on TLS responses: off, a max-age in seconds (31536000), or the whole header value.' }),
  compress: boolean({ default: true, help: 'gzip/brotli proxied responses and cached static files for clients that accept it.' }),
  compressTypes: list({
    metavar: 'TYPE',
    default: DEFAULT_COMPRESS_TYPES,
    defaultText: `${DEFAULT_COMPRESS_TYPES.slice(0, 4).join(',')}, … (JSON, JS, SVG, XML)`,
    item: mediaType,
    help: 'Media types compressed, "type/*" allowed (repeatable).',
  }),
  compressMinLength: size({ default: 1024, help: 'Smallest response body compressed (when its length is known).' }),
  gzipLevel: integer({ min: 1, max: 9, default: 6, help: 'gzip level (Nginx gzip_comp_level).' }),
  brotliLevel: integer({ min: 0, max: 11, default: 4, help: 'brotli quality for responses compressed on the fly.' }),
};

export const PROXY_COMMAND: Command<typeof FRONT_OPTIONS> = {
  name: 'npm run proxy',
  summary: 'The front: static files and a reverse proxy to the app servers, as Nginx would be. Static mappings are matched first, then everything else goes to the upstreams.',
  options: FRONT_OPTIONS,
  epilogue:
    'Signals: TERM/INT graceful shutdown (up to --graceful-timeout; a second signal exits at once), HUP reload (re-reads\n' +
    'flags, environment and the config file; a bad new configuration is reported and the running one kept).\n' +
    'Exit codes: 0 clean shutdown, 1 could not start (port in use), 2 bad configuration.',
};
