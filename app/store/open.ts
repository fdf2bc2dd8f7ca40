/**
 * Which store to open: Postgres when DATABASE_URL is set (postgres://…), else the embedded SQLite
 * file in the data directory.
 *
 * The Postgres store and its driver (`pg`, about 13 MB of resident memory once loaded) are imported
 * only when DATABASE_URL is set: every worker and the stack's preparation step open a store, and
 * most installations run SQLite. The import happens once, when the store is opened at start,
 * never on a request.
 */
import { StoreStartError } from './store-error.ts';
import { openStore, type Store } from './store.ts';

/** Where the store lives. */
export interface StoreLocation {
  /** postgres://user:password@host:port/database; empty or absent for SQLite. */
  readonly databaseUrl?: string;
  /** The data directory of the SQLite file. */
  readonly dataDir: string;
  /** The pool size and timeouts (app/store/store-options.ts). Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Told about a pooled Postgres connection that failed while idle (the pool replaces it). */
  readonly onIdleError?: (error: Error) => void;
}

/** Open the configured store; a failure to open is a StoreStartError (one line to print). */
export async function openConfiguredStore(location: StoreLocation): Promise<Store> {
  const url = location.databaseUrl;
  if (url !== undefined && url !== '') {
    const [{ postgresOptionsFromEnv }, { openPostgresStore }] = await Promise.all([import('./postgres/connection.ts'), import('./postgres/store.ts')]);
    return openPostgresStore(url, { ...postgresOptionsFromEnv(location.env ?? process.env), onIdleError: location.onIdleError });
  }
  try {
    return openStore(location.dataDir);
  } catch (error) {
    if (error instanceof Error && 'kind' in error) throw new StoreStartError('unreachable', `cannot open the database: ${error.message}`, { cause: error });
    if (error instanceof Error && /newer than this code/.test(error.message)) throw new StoreStartError('newer-schema', error.message, { cause: error });
    throw error;
  }
}
