/**
 * Counters of recent login attempts, by key ("user:<name>", "addr:<ip>"), kept in the database
 * so that every worker process sees the same counts: with N workers, an in-memory counter would
 * let an attacker make N times as many guesses. The policy lives in app/auth/login-throttle.ts.
 */
import type { Database, Statement, Transaction } from 'better-sqlite3';

/** One key's counter; lastAttemptAt is epoch milliseconds. */
export interface AttemptCounter {
  readonly failures: number;
  readonly lastAttemptAt: number;
}

/** The login_attempts table. */
export class LoginAttempts {
  readonly #atomically: Transaction<(fn: () => unknown) => unknown>;
  readonly #get: Statement<[string], { failures: number; last_attempt_at: number }>;
  readonly #put: Statement<[string, number, number]>;
  readonly #delete: Statement<[string]>;
  readonly #purge: Statement<[number]>;

  constructor(db: Database) {
    this.#atomically = db.transaction((fn: () => unknown) => fn());
    this.#get = db.prepare('SELECT failures, last_attempt_at FROM login_attempts WHERE key = ?');
    this.#put = db.prepare(
      'INSERT INTO login_attempts (key, failures, last_attempt_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_attempt_at = excluded.last_attempt_at',
    );
    this.#delete = db.prepare('DELETE FROM login_attempts WHERE key = ?');
    this.#purge = db.prepare('DELETE FROM login_attempts WHERE last_attempt_at < ?');
  }

  /** The counter for `key`, or undefined if it has none. */
  get(key: string): AttemptCounter | undefined {
    const row = this.#get.get(key);
    return row === undefined ? undefined : { failures: row.failures, lastAttemptAt: row.last_attempt_at };
  }

  /** Set the counter for `key`. */
  put(key: string, counter: AttemptCounter): void {
    this.#put.run(key, counter.failures, counter.lastAttemptAt);
  }

  /** Forget `key`. */
  delete(key: string): void {
    this.#delete.run(key);
  }

  /** Run `fn` under the database write lock, so a read-modify-write is atomic across processes. */
  atomically<T>(fn: () => T): T {
    return this.#atomically.immediate(fn) as T;
  }

  /** Delete counters whose last attempt is older than `before` (epoch ms); returns how many. */
  purge(before: number): number {
    return this.#purge.run(before).changes;
  }
}
