/**
 * Counters of recent login attempts, by key ("pair:<name>@<ip>", "addr:<ip>"), kept in the
 * database so that every worker process sees the same counts: with N workers, an in-memory
 * counter would let an attacker make N times as many guesses. The policy lives in
 * app/auth/login-throttle.ts; this is the SQLite table (postgres/login-attempts.ts the other).
 */
import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { AttemptCounter, AttemptDecision, AttemptRepository } from './store.ts';
import { fromSqliteError } from './store-error.ts';

export type { AttemptCounter } from './store.ts';

/** The login_attempts table. */
export class LoginAttempts implements AttemptRepository {
  readonly #file: string;
  readonly #atomically: Transaction<(fn: () => unknown) => unknown>;
  readonly #get: Statement<[string], { failures: number; last_attempt_at: number }>;
  readonly #put: Statement<[string, number, number]>;
  readonly #delete: Statement<[string]>;
  readonly #purge: Statement<[number]>;

  constructor(db: Database, file: string = db.name) {
    this.#file = file;
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
    try {
      const row = this.#get.get(key);
      return row === undefined ? undefined : { failures: row.failures, lastAttemptAt: row.last_attempt_at };
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Set the counter for `key` (outside update(): for tests and tools). */
  put(key: string, counter: AttemptCounter): void {
    try {
      this.#put.run(key, counter.failures, counter.lastAttemptAt);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Read, decide and write under the database write lock (an IMMEDIATE transaction). */
  update<T>(keys: readonly string[], decide: (counters: readonly (AttemptCounter | undefined)[]) => AttemptDecision<T>): T {
    try {
      return this.#atomically.immediate(() => {
        const decision = decide(keys.map((key) => this.get(key)));
        for (const [key, counter] of decision.writes) {
          if (counter === null) this.#delete.run(key);
          else this.#put.run(key, counter.failures, counter.lastAttemptAt);
        }
        return decision.result;
      }) as T;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Delete counters whose last attempt is older than `before` (epoch ms); returns how many. */
  purge(before: number): number {
    try {
      return this.#purge.run(before).changes;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }
}
