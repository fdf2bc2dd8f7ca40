/**
 * Login-throttle counters on Postgres, shared by every worker on every host. update() locks the
 * keys' rows for the transaction (inserting absent ones first, so that there is a row to lock),
 * in key order so that two updates of overlapping keys cannot deadlock.
 */
import type pg from 'pg';
import type { AttemptCounter, AttemptDecision, AttemptRepository } from '../store.ts';
import { fromPgError } from './connection.ts';
import { inTransaction } from './transaction.ts';

export class PostgresLoginAttempts implements AttemptRepository {
  readonly #pool: pg.Pool;
  readonly #target: string;

  constructor(pool: pg.Pool, target: string) {
    this.#pool = pool;
    this.#target = target;
  }

  async get(key: string): Promise<AttemptCounter | undefined> {
    try {
      const { rows } = await this.#pool.query<{ failures: number; last_attempt_at: number }>({
        name: 'attempts_get',
        text: 'SELECT failures, last_attempt_at FROM login_attempts WHERE key = $1',
        values: [key],
      });
      const row = rows[0];
      return row === undefined ? undefined : { failures: row.failures, lastAttemptAt: row.last_attempt_at };
    } catch (error) {
      throw fromPgError(error, this.#target);
    }
  }

  update<T>(keys: readonly string[], decide: (counters: readonly (AttemptCounter | undefined)[]) => AttemptDecision<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    return inTransaction(this.#pool, this.#target, async (client) => {
      // A zero counter behaves as no counter; inserting it gives the row lock something to hold.
      await client.query({
        name: 'attempts_ensure',
        text: 'INSERT INTO login_attempts (key, failures, last_attempt_at) SELECT k, 0, 0 FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (key) DO NOTHING',
        values: [sorted],
      });
      const { rows } = await client.query<{ key: string; failures: number; last_attempt_at: number }>({
        name: 'attempts_lock',
        text: 'SELECT key, failures, last_attempt_at FROM login_attempts WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE',
        values: [sorted],
      });
      const found = new Map(rows.map((row) => [row.key, row]));
      const decision = decide(
        keys.map((key) => {
          const row = found.get(key);
          return row === undefined || (row.failures === 0 && row.last_attempt_at === 0) ? undefined : { failures: row.failures, lastAttemptAt: row.last_attempt_at };
        }),
      );
      const puts: string[] = [];
      const failures: number[] = [];
      const times: number[] = [];
      const deletes: string[] = sorted.filter((key) => {
        const row = found.get(key);
        return row !== undefined && row.failures === 0 && row.last_attempt_at === 0 && !decision.writes.has(key);
      });
      for (const [key, counter] of decision.writes) {
        if (counter === null) deletes.push(key);
        else {
          puts.push(key);
          failures.push(counter.failures);
          times.push(counter.lastAttemptAt);
        }
      }
      if (puts.length > 0) {
        await client.query({
          name: 'attempts_put',
          text: 'UPDATE login_attempts AS a SET failures = v.f, last_attempt_at = v.t FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS v(k, f, t) WHERE a.key = v.k',
          values: [puts, failures, times],
        });
      }
      if (deletes.length > 0) await client.query({ name: 'attempts_delete', text: 'DELETE FROM login_attempts WHERE key = ANY($1::text[])', values: [deletes] });
      return decision.result;
    });
  }

  async purge(before: number): Promise<number> {
    try {
      return (await this.#pool.query('DELETE FROM login_attempts WHERE last_attempt_at < $1', [before])).rowCount ?? 0;
    } catch (error) {
      throw fromPgError(error, this.#target);
    }
  }
}
