/**
 * Connecting to Postgres: DATABASE_URL checked before anything is attempted, one bounded pool per
 * process (each worker has its own), timeouts everywhere a request could otherwise hang, and the
 * mapping of driver and server errors onto the store's typed failures.
 *
 * The driver is `pg` (node-postgres). Measured against `postgres` (porsager) on the per-request
 * lookup, one query at a time it costs less client CPU per query (44–51 µs against 58–64 µs) and
 * less time (80 against 95–111 µs); 16 at a time the two are even (26–30 against 27–29 µs CPU).
 * See docs/scaling.md.
 */
import pg from 'pg';
import { StoreStartError, StoreUnavailableError, type StoreFailureKind } from '../store-error.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT_MS, storeSettingsFromEnv, type SynchronousCommit } from '../store-options.ts';

/** Pool and timeout settings, each with its default. */
export interface PostgresOptions {
  /**
   * Connections per process (--database-pool-size). Default 10: enough concurrent commits for the
   * server to group their WAL flushes; 2 hosts × 2 workers × 10 stays far below Postgres's 100.
   */
  readonly poolSize?: number;
  /** Server-side statement_timeout in ms (--database-statement-timeout). Default 5000; a request then gets 503. */
  readonly statementTimeoutMs?: number;
  /**
   * How long to wait for a connection, new or from a full pool, in ms (--database-connect-timeout).
   * Default 5000. At start this bounds "the host does not answer"; later, a request waits at
   * most this long before its 503.
   */
  readonly connectTimeoutMs?: number;
  /**
   * synchronous_commit of every connection (--database-synchronous-commit). Default: the
   * server's setting (on, as Postgres ships: a commit is answered once its WAL is flushed). 'off'
   * answers before the flush (Postgres flushes within 3 × wal_writer_delay, 0.6 s by default): a
   * crash of the database can lose those acknowledged writes but never corrupts anything, which
   * is what the SQLite store's synchronous=NORMAL gives. Unset, nothing is sent: a connection
   * pooler that refuses startup options (PgBouncer's default) still lets the app in.
   */
  readonly synchronousCommit?: SynchronousCommit;
}

export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT_MS };

/** What DATABASE_URL says, checked. */
export interface DatabaseUrl {
  readonly url: string;
  /** host:port/database, without the password: what logs and messages show. */
  readonly target: string;
}

/** Check a postgres:// URL; throws StoreStartError('bad-url') with what is wrong. */
export function parseDatabaseUrl(raw: string): DatabaseUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StoreStartError('bad-url', `DATABASE_URL is not a URL (expected postgres://user:password@host:port/database)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new StoreStartError('bad-url', `DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  if (url.hostname === '') throw new StoreStartError('bad-url', 'DATABASE_URL names no host (expected postgres://user:password@host:port/database)');
  if (url.port !== '' && !(Number(url.port) >= 1 && Number(url.port) <= 65535)) throw new StoreStartError('bad-url', `DATABASE_URL has an invalid port ${url.port}`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw new StoreStartError('bad-url', 'DATABASE_URL names no database (expected postgres://user:password@host:port/database)');
  return { url: raw, target: `${url.hostname}:${url.port === '' ? 5432 : url.port}/${database}` };
}

/** Options from the environment (app/store/store-options.ts: the pool size and the two timeouts). */
export function postgresOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): PostgresOptions {
  const settings = storeSettingsFromEnv(env);
  return {
    poolSize: settings.databasePoolSize,
    statementTimeoutMs: settings.databaseStatementTimeout,
    connectTimeoutMs: settings.databaseConnectTimeout,
    synchronousCommit: settings.databaseSynchronousCommit,
  };
}

// bigint columns (epoch milliseconds, token ids) as numbers: every value we store is < 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** A pool for `url`; its idle-connection errors are reported, never thrown (a restart of the server must not kill the process). */
export function createPool(url: DatabaseUrl, options: PostgresOptions = {}, onIdleError: (error: Error) => void = () => {}): pg.Pool {
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  // synchronous_commit goes in the startup packet's `options`, merged with any `options` the URL
  // carries (pg would let the URL's replace ours). The level is one of SYNCHRONOUS_COMMIT_LEVELS,
  // checked by the option's grammar.
  const link = new URL(url.url);
  const urlOptions = link.searchParams.get('options');
  link.searchParams.delete('options');
  const pool = new pg.Pool({
    connectionString: urlOptions === null ? url.url : link.toString(),
    options: [urlOptions, options.synchronousCommit === undefined ? null : `-c synchronous_commit=${options.synchronousCommit}`].filter((o) => o !== null && o !== '').join(' ') || undefined,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeout,
    // The client-side bound for a link that went silent (no RST): the server's timeout cannot fire then.
    query_timeout: statementTimeout + 2000,
    idle_in_transaction_session_timeout: statementTimeout * 2,
    keepAlive: true,
    application_name: 'layerstack',
    types,
  });
  pool.on('error', onIdleError);
  return pool;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTDOWN', 'ENETDOWN']);

/** The kind of a run-time failure, or undefined when the error is not the database's fault. */
function failureKind(error: unknown): StoreFailureKind | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return 'unavailable';
    if (code === '57014') return 'timeout'; // query_canceled: statement_timeout
    if (code === '25006') return 'read-only'; // read_only_sql_transaction (a hot standby, default_transaction_read_only)
    if (code === '53100') return 'full'; // disk_full
    if (code.startsWith('08') || code.startsWith('57P') || code.startsWith('53') || code === '58030') return 'unavailable';
  }
  if (/timeout exceeded when trying to connect|Query read timeout|connection timeout/i.test(message)) return 'timeout';
  if (/Connection terminated|not queryable|Client was closed|Cannot use a pool after calling end/i.test(message)) return 'unavailable';
  return undefined;
}

/** The typed failure for a pg error at run time, or the error itself when it is a bug. */
export function fromPgError(error: unknown, target: string): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const kind = failureKind(error);
  if (kind === undefined) return error;
  const code = (error as { code?: unknown }).code;
  return new StoreUnavailableError(kind, target, (error as Error).message, typeof code === 'string' ? code : undefined, { cause: error });
}

/** The one-line reason opening the store at `target` failed. */
export function startFailure(error: unknown, target: string): StoreStartError {
  if (error instanceof StoreStartError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') return new StoreStartError('auth', `cannot log in to Postgres at ${target}: ${message}`, { cause: error });
  if (code === '3D000') return new StoreStartError('unreachable', `Postgres at ${target}: ${message}`, { cause: error });
  if (failureKind(error) !== undefined || (typeof code === 'string' && code.startsWith('E'))) {
    return new StoreStartError('unreachable', `cannot reach Postgres at ${target}: ${message}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}`, { cause: error });
  }
  return new StoreStartError('migration', `cannot prepare the database at ${target}: ${message}`, { cause: error });
}
