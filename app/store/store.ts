/**
 * The embedded store: one SQLite file in the data directory (auth.sqlite3) holding users, the
 * refresh-token blacklist and the login throttle's counters. Every worker process opens its own
 * connection to the same file; WAL lets them read concurrently and take turns to write.
 */
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { openDatabase } from './db.ts';
import { prepareDataDir } from './data-dir.ts';
import { LoginAttempts } from './login-attempts.ts';
import { TokenBlacklist } from './token-blacklist.ts';
import { UserStore } from './users.ts';

/** File name of the database inside the data directory. */
export const DATABASE_FILE = 'auth.sqlite3';

/** An open store. */
export interface Store {
  /** Absolute path of the database file. */
  readonly file: string;
  readonly db: Database;
  readonly users: UserStore;
  readonly tokens: TokenBlacklist;
  readonly loginAttempts: LoginAttempts;
  /** Close the connection (idempotent). */
  close(): void;
}

/** Open (creating and migrating as needed) the store in `dataDir`. */
export function openStore(dataDir: string): Store {
  const file = join(prepareDataDir(dataDir), DATABASE_FILE);
  const db = openDatabase(file);
  return {
    file,
    db,
    users: new UserStore(db),
    tokens: new TokenBlacklist(db),
    loginAttempts: new LoginAttempts(db),
    close() {
      if (db.open) db.close();
    },
  };
}
