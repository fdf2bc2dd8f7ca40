/** The stack's options: flags win over environment variables, which win over the defaults. */
import { DEFAULT_APP_SPEC } from '../server/app-loader.ts';

/** Everything `npm start` can be told. */
export interface StackOptions {
  host: string;
  port: number;
  dataDir: string;
  engine: 'uws' | 'http';
  frontEngine: 'uws' | 'http';
  workers: number | undefined;
  app: string;
  gracefulTimeoutMs: number;
  /** TLS on the front: certificate, key and optional chain files ('' for none). */
  tlsCert: string;
  tlsKey: string;
  tlsChain: string;
  /** HOST:PORT of the plain-HTTP listener that redirects to HTTPS ('' for none). */
  redirectHttp: string;
  /** Strict-Transport-Security: off, seconds, or a header value. */
  hsts: string;
  /** Compression of responses by the front: on or off, and the gzip level. */
  compress: string;
  gzipLevel: string;
  help: boolean;
}

/** `npm start -- --help`. */
export const STACK_HELP = `Usage: npm start -- [options]     (npm run stack -- [options]: the same, from the TypeScript sources)

Runs the production stack: the front (static files + reverse proxy) in front of the worker-pool
app server, hosting the demo app with JWT auth and the SQLite user store.

Options (environment variable in brackets):
  --host HOST              address the front listens on [HOST] (default 127.0.0.1)
  --port PORT              port the front listens on [PORT] (default 8000)
  --data-dir DIR           database, signing key and sockets [DATA_DIR] (default ./data)
  --engine uws|http        app server engine [ENGINE] (default uws)
  --front-engine uws|http  front's client-side engine [FRONT_ENGINE] (default: same as --engine)
  --workers N              app server workers [WORKERS] (default: one per core)
  --app SPEC               app to host [APP] (default ${DEFAULT_APP_SPEC})
  --graceful-timeout S     seconds each layer gets to finish in-flight requests [GRACEFUL_TIMEOUT] (default 30)
  --tls-cert FILE          PEM certificate: the front speaks HTTPS (re-read on SIGHUP to the front) [TLS_CERT]
  --tls-key FILE           PEM private key of the certificate [TLS_KEY]
  --tls-chain FILE         PEM intermediate certificates, if not already in --tls-cert [TLS_CHAIN]
  --redirect-http H:P      plain-HTTP listener answering 301 to HTTPS [REDIRECT_HTTP] (default: none)
  --hsts off|SECONDS       Strict-Transport-Security on HTTPS responses [HSTS] (default off)
  --compress on|off        gzip/brotli responses for clients that accept it [COMPRESS] (default on)
  --gzip-level 1-9         gzip level [GZIP_LEVEL] (default 6)
  --help                   this text`;

const FLAGS: Record<string, keyof StackOptions> = {
  '--host': 'host',
  '--port': 'port',
  '--data-dir': 'dataDir',
  '--engine': 'engine',
  '--front-engine': 'frontEngine',
  '--workers': 'workers',
  '--app': 'app',
  '--graceful-timeout': 'gracefulTimeoutMs',
  '--tls-cert': 'tlsCert',
  '--tls-key': 'tlsKey',
  '--tls-chain': 'tlsChain',
  '--redirect-http': 'redirectHttp',
  '--hsts': 'hsts',
  '--compress': 'compress',
  '--gzip-level': 'gzipLevel',
};

function engine(name: string, value: string): 'uws' | 'http' {
  if (value !== 'uws' && value !== 'http') throw new Error(`${name} must be "uws" or "http", not ${JSON.stringify(value)}`);
  return value;
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return n;
}

/** Parse argv and the environment; throws an Error with a clear message on anything unknown or malformed. */
export function parseStackOptions(argv: string[], env: NodeJS.ProcessEnv): StackOptions {
  const given: Partial<Record<keyof StackOptions, string>> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const key = FLAGS[arg];
    if (key === undefined) throw new Error(`unknown option ${JSON.stringify(arg)}`);
    value ??= argv[++i];
    if (value === undefined) throw new Error(`option ${arg} needs a value`);
    given[key] = value;
  }
  const pick = (key: keyof StackOptions, envName: string): string | undefined => given[key] ?? (env[envName] || undefined);
  const engineName = engine('--engine', pick('engine', 'ENGINE') ?? 'uws');
  const workers = pick('workers', 'WORKERS');
  return {
    host: pick('host', 'HOST') ?? '127.0.0.1',
    port: integer('--port', pick('port', 'PORT') ?? '8000', 1, 65535),
    dataDir: pick('dataDir', 'DATA_DIR') ?? 'data',
    engine: engineName,
    frontEngine: engine('--front-engine', pick('frontEngine', 'FRONT_ENGINE') ?? engineName),
    workers: workers === undefined ? undefined : integer('--workers', workers, 1, 256),
    app: pick('app', 'APP') ?? DEFAULT_APP_SPEC,
    gracefulTimeoutMs: integer('--graceful-timeout', pick('gracefulTimeoutMs', 'GRACEFUL_TIMEOUT') ?? '30', 0, 3600) * 1000,
    tlsCert: pick('tlsCert', 'TLS_CERT') ?? '',
    tlsKey: pick('tlsKey', 'TLS_KEY') ?? '',
    tlsChain: pick('tlsChain', 'TLS_CHAIN') ?? '',
    redirectHttp: pick('redirectHttp', 'REDIRECT_HTTP') ?? '',
    hsts: pick('hsts', 'HSTS') ?? 'off',
    compress: pick('compress', 'COMPRESS') ?? 'on',
    gzipLevel: pick('gzipLevel', 'GZIP_LEVEL') ?? '6',
    help,
  };
}
