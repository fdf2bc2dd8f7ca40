/**
 * The store interface the auth stack is written against, and the embedded implementation of it.
 *
 * Two implementations: SQLite (the default: one file in the data directory, auth.sqlite3, every
 * worker process opening its own connection, WAL letting them read concurrently and take turns
 * to write) and Postgres (app/store/postgres/, chosen with DATABASE_URL, shared by several app
 * hosts). openConfiguredStore() in open.ts picks one.
 *
 * Methods return `Awaitable<T>`: SQLite answers synchronously (better-sqlite3), so the per-request
 * user lookup costs no promise on the embedded store; Postgres answers with promises. Callers
 * `await` everywhere except on the hot path (JwtAuthentication), which checks.
 *
 * Failures of the database itself (unreachable, read-only, full, timed out) are thrown as
 * StoreUnavailableError (store-error.ts); everything else is a bug.
 */
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { openDatabase } from './db.ts';
import { prepareDataDir } from './data-dir.ts';
import { LoginAttempts } from './login-attempts.ts';
import { fromSqliteError } from './store-error.ts';
import { TokenBlacklist } from './token-blacklist.ts';
import { UserStore } from './users.ts';
import type { User, UserIdentity, UserWithPassword } from './users.ts';

/** A value now, or later. */
export type Awaitable<T> = T | Promise<T>;

/** A token as the blacklist records it; times are epoch seconds. */
export interface TokenRecord {
  readonly jti: string;
  readonly userId: number | null;
  readonly token: string;
  readonly expiresAt: number;
  readonly createdAt?: number | null;
}

/** One login-throttle key's counter; lastAttemptAt is epoch milliseconds. */
export interface AttemptCounter {
  readonly failures: number;
  readonly lastAttemptAt: number;
}

/** What an attempt-counter update decided: its result, and the counters to write (null = delete). */
export interface AttemptDecision<T> {
  readonly result: T;
  readonly writes: ReadonlyMap<string, AttemptCounter | null>;
}

/** Users: Django's auth_user reduced to what token authentication needs. */
export interface UserRepository {
  /** The user with this id, or undefined. Hot path: one indexed lookup. */
  byId(id: number): Awaitable<UserIdentity | undefined>;
  /** The user with this exact (case-sensitive) username, password hash included. */
  byUsername(username: string): Awaitable<UserWithPassword | undefined>;
  /** Add a user; throws UsernameError for an invalid or taken username. `now` is epoch seconds. */
  create(username: string, passwordHash: string, options?: { isActive?: boolean; now?: number }): Awaitable<User>;
  /** Create the user only if there is none at all, atomically across processes and hosts; null if some existed. */
  createIfNone(username: string, passwordHash: string): Awaitable<User | null>;
  /** Replace a password hash; false if there is no such user. */
  setPassword(id: number, passwordHash: string): Awaitable<boolean>;
  /** Activate or deactivate a user; false if there is no such user. */
  setActive(id: number, isActive: boolean): Awaitable<boolean>;
  /** Record a successful login at `when` (epoch seconds). */
  recordLogin(id: number, when: number): Awaitable<void>;
  /** How many users exist. */
  count(): Awaitable<number>;
}

/** What rotate() did: the new token replaced the old, or nothing changed and why. */
export type RotationOutcome = 'rotated' | 'blacklisted' | 'no-active-user';

/** simplejwt's token_blacklist app: outstanding and blacklisted refresh tokens. */
export interface TokenRepository {
  /** Record an issued refresh token (a no-op if its jti is already recorded). */
  recordOutstanding(record: TokenRecord): Awaitable<void>;
  /** Whether the token with this jti has been blacklisted. */
  isBlacklisted(jti: string): Awaitable<boolean>;
  /** Blacklist a token at `now` (epoch s): a compare-and-set, true only for the one call that did it. */
  blacklist(record: TokenRecord, now: number): Awaitable<boolean>;
  /**
   * A refresh with rotation and blacklist-after-rotation, as one atomic step (one round trip on
   * Postgres): if `old` is blacklisted → 'blacklisted'; else if its user (old.userId) is missing
   * or inactive → 'no-active-user'; else blacklist `old` (compare-and-set: a concurrent rotation
   * that got there first makes this 'blacklisted') and record `next` as outstanding → 'rotated'.
   */
  rotate(old: TokenRecord, next: TokenRecord, now: number): Awaitable<RotationOutcome>;
  /** Blacklist every outstanding token of a user; returns how many were newly blacklisted. */
  blacklistAllForUser(userId: number, now: number): Awaitable<number>;
  /** Delete tokens that expired at or before `now` (epoch s) with their blacklist rows; returns how many. */
  purgeExpired(now: number): Awaitable<number>;
  /** Row counts, for operators and tests. */
  counts(): Awaitable<{ outstanding: number; blacklisted: number }>;
}

/** Login-throttle counters by key, shared by every worker (and host). */
export interface AttemptRepository {
  /**
   * Read the counters of `keys`, let `decide` (synchronous, pure) choose what to write, and write
   * it, atomically with respect to every other update of the same keys anywhere.
   */
  update<T>(keys: readonly string[], decide: (counters: readonly (AttemptCounter | undefined)[]) => AttemptDecision<T>): Awaitable<T>;
  /** The counter for `key`, or undefined. */
  get(key: string): Awaitable<AttemptCounter | undefined>;
  /** Delete counters whose last attempt is before `before` (epoch ms); returns how many. */
  purge(before: number): Awaitable<number>;
}

/** An open store. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** The database file, or the server as host:port/database (no password), for logs. */
  readonly target: string;
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly loginAttempts: AttemptRepository;
  /** Close the connection(s) (idempotent). */
  close(): Promise<void>;
}

/** File name of the database inside the data directory. */
export const DATABASE_FILE = 'auth.sqlite3';

/** The embedded store. */
export interface SqliteStore extends Store {
  readonly kind: 'sqlite';
  /** Absolute path of the database file. */
  readonly file: string;
  readonly db: Database;
  readonly users: UserStore;
  readonly tokens: TokenBlacklist;
  readonly loginAttempts: LoginAttempts;
  /** Close synchronously (idempotent). */
  closeSync(): void;
}

/** Open (creating and migrating as needed) the SQLite store in `dataDir`. */
export function openStore(dataDir: string): SqliteStore {
  const file = join(prepareDataDir(dataDir), DATABASE_FILE);
  let db: Database;
  try {
    db = openDatabase(file);
  } catch (error) {
    throw fromSqliteError(error, file);
  }
  const closeSync = (): void => {
    if (db.open) db.close();
  };
  return {
    kind: 'sqlite',
    target: file,
    file,
    db,
    users: new UserStore(db, file),
    tokens: new TokenBlacklist(db, file),
    loginAttempts: new LoginAttempts(db, file),
    closeSync,
    close: async () => closeSync(),
  };
}
