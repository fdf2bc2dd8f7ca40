/**
 * The scenarios: one request shape each, chosen so that each layer's job shows. ping is the
 * floor (no work at all), hello/verify/refresh/login walk the JWT path from cheap to CPU-bound,
 * the static files show the front, and cpu shows what extra workers buy.
 */
import type { AuthSession } from './auth.ts';
import type { TokenChain } from './loaders/load-plan.ts';

/** What a configuration must serve for a scenario to make sense on it. */
export type Capability = 'ping' | 'app' | 'auth' | 'static' | 'faults' | 'tls' | 'gzip';

/** The request a scenario sends, ready for a loader (path relative to the configuration's base URL). */
export interface ScenarioRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  chain?: TokenChain;
}

/** A benchmark scenario. */
export interface Scenario {
  /** Stable name, used with --scenario and in result files. */
  name: string;
  /** What the reader sees in tables, e.g. "GET /api/ping/". */
  title: string;
  needs: Capability;
  /** Default path (an external target may serve it elsewhere: --target-path NAME=/path). */
  path: string;
  /** Shortest measured window that means anything for this scenario, in seconds (overrides a shorter --duration). */
  minSeconds?: number;
  /** Connections to use, given the --connections option (login is CPU-bound: few connections). */
  connections(options: { connections: number; loginConnections: number }): number;
  /**
   * Build the request. Auth scenarios get a logged-in session; `connections` says how many
   * single-use tokens a chain needs.
   */
  request(path: string, session: AuthSession | undefined, connections: number): Promise<ScenarioRequest>;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;
const sameConnections = (o: { connections: number }) => o.connections;

function needSession(session: AuthSession | undefined, scenario: string): AuthSession {
  if (session === undefined) throw new Error(`scenario ${scenario} needs a logged-in session`);
  return session;
}

function get(name: string, title: string, needs: Capability, path: string): Scenario {
  return {
    name,
    title,
    needs,
    path,
    connections: sameConnections,
    request: async (p) => ({ method: 'GET', path: p, headers: {} }),
  };
}

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  get('ping', 'GET /api/ping/', 'ping', '/api/ping/'),
  {
    name: 'hello',
    title: 'GET /api/hello/ (Bearer token)',
    needs: 'auth',
    path: '/api/hello/',
    connections: sameConnections,
    async request(path, session) {
      // A fresh access token per run: a long run outlives the default 5-minute lifetime.
      const { access } = await needSession(session, 'hello').login();
      return { method: 'GET', path, headers: { authorization: `Bearer ${access}`, accept: 'application/json' } };
    },
  },
  {
    name: 'verify',
    title: 'POST /api/token/verify/',
    needs: 'auth',
    path: '/api/token/verify/',
    connections: sameConnections,
    async request(path, session) {
      const { access } = await needSession(session, 'verify').login();
      return { method: 'POST', path, headers: { ...JSON_HEADERS }, body: JSON.stringify({ token: access }) };
    },
  },
  {
    name: 'refresh',
    title: 'POST /api/token/refresh/ (rotation)',
    needs: 'auth',
    path: '/api/token/refresh/',
    connections: sameConnections,
    async request(path, session, connections) {
      // Rotation makes each refresh token single-use: every connection starts with its own
      // token and then chains the one each response brings.
      // A few spare tokens: wrk builds one request more than it has connections when it starts.
      const tokens = await needSession(session, 'refresh').refreshTokens(connections + 2);
      return {
        method: 'POST',
        path,
        headers: { ...JSON_HEADERS },
        chain: { tokens, before: '{"refresh":"', after: '"}', responseField: 'refresh' },
      };
    },
  },
  {
    name: 'login',
    title: 'POST /api/token/ (login, password hash)',
    needs: 'auth',
    path: '/api/token/',
    connections: (o) => o.loginConnections,
    async request(path, session) {
      const { username, password } = needSession(session, 'login').credentials;
      return { method: 'POST', path, headers: { ...JSON_HEADERS }, body: JSON.stringify({ username, password }) };
    },
  },
  get('static-1k', 'static 1 KB (hello.txt)', 'static', '/static/hello.txt'),
  get('static-100k', 'static 100 KB (bundle.js)', 'static', '/static/bundle.js'),
  get('static-1m', 'static 1 MB (blob.bin)', 'static', '/static/blob.bin'),
  {
    ...get('cpu', 'GET /api/cpu/ (~5 ms CPU)', 'app', '/api/cpu/'),
    // A few requests in flight per core are enough to keep every worker busy; 64 queued 5 ms
    // requests would only measure the queue (and on a busy machine none would finish in a short window).
    connections: (o) => Math.min(o.connections, 16),
    minSeconds: 2,
  },
  {
    // Every request on a new connection: over TLS, a full handshake per request (issue 13).
    ...get('tls-handshake', 'GET /api/ping/, new TLS connection each (Connection: close)', 'tls', '/api/ping/'),
    connections: (o) => Math.min(o.connections, 16),
    request: async (p) => ({ method: 'GET', path: p, headers: { connection: 'close' } }),
  },
  {
    ...get('json-gzip', 'GET 20 KB JSON, gzip (Accept-Encoding: gzip)', 'gzip', '/api/json/'),
    request: async (p) => ({ method: 'GET', path: p, headers: { 'accept-encoding': 'gzip' } }),
  },
];

/** Look a scenario up by name. */
export function scenarioNamed(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
