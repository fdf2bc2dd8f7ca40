/**
 * The Postgres store: the same interface as the SQLite one, for several app hosts sharing one
 * database. Opening it checks DATABASE_URL, connects (bounded by the connect timeout), logs in
 * and migrates under an advisory lock; any failure there is one StoreStartError line. Later,
 * a lost server makes the requests that need it fail with StoreUnavailableError (503), and the
 * pool opens new connections by itself once the server is back.
 */
import type { Store } from '../store.ts';
import { createPool, parseDatabaseUrl, startFailure, type PostgresOptions } from './connection.ts';
import { PostgresLoginAttempts } from './login-attempts.ts';
import { migratePostgres } from './migrations.ts';
import { PostgresTokenBlacklist } from './token-blacklist.ts';
import { PostgresUsers } from './users.ts';

/** An open Postgres store. */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
  readonly users: PostgresUsers;
  readonly tokens: PostgresTokenBlacklist;
  readonly loginAttempts: PostgresLoginAttempts;
}

/** Connect to `databaseUrl` and migrate it; throws StoreStartError with one line on failure. */
export async function openPostgresStore(
  databaseUrl: string,
  options: PostgresOptions & { onIdleError?: (error: Error) => void } = {},
): Promise<PostgresStore> {
  const url = parseDatabaseUrl(databaseUrl);
  const pool = createPool(url, options, options.onIdleError);
  try {
    await migratePostgres(pool, url.target);
  } catch (error) {
    await pool.end().catch(() => {});
    throw startFailure(error, url.target);
  }
  let closing: Promise<void> | null = null;
  return {
    kind: 'postgres',
    target: url.target,
    users: new PostgresUsers(pool, url.target),
    tokens: new PostgresTokenBlacklist(pool, url.target),
    loginAttempts: new PostgresLoginAttempts(pool, url.target),
    close() {
      closing ??= pool.end().catch(() => {});
      return closing;
    },
  };
}
