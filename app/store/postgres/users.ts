/**
 * The users table on Postgres. byId() is the per-request lookup (when the user cache misses or is
 * off), so it is batched: the ids asked for during one turn of the event loop (every request read
 * in one poll of the sockets) go in one query (`id = ANY($1)`) at the end of that turn; while a
 * query is in flight, the ids asked meanwhile wait for the next. At low load that adds nothing;
 * under load one round trip answers many requests. Every answer still comes from a query sent
 * after the request asked, so a deactivation is seen exactly as without batching.
 */
import type pg from 'pg';
import type { UserRepository } from '../store.ts';
import { UsernameError, usernameProblem, type User, type UserIdentity, type UserWithPassword } from '../users.ts';
import { fromPgError } from './connection.ts';
import { inTransaction } from './transaction.ts';

/** The advisory lock key createIfNone() takes, so two hosts' first start creates one admin. */
const CREATE_IF_NONE_LOCK = '7101';

/** Lookups waiting for the next batch. */
interface Waiting {
  readonly id: number;
  resolve(user: UserIdentity | undefined): void;
  reject(error: unknown): void;
}

/** Most ids in one batched lookup. */
const MAX_BATCH = 256;

export class PostgresUsers implements UserRepository {
  readonly #pool: pg.Pool;
  readonly #target: string;
  readonly #maxInFlight: number;
  #inFlight = 0;
  #scheduled = false;
  #waiting: Waiting[] = [];
  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    if (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) this.#flush();
  };

  constructor(pool: pg.Pool, target: string, maxInFlight = 1) {
    this.#pool = pool;
    this.#target = target;
    this.#maxInFlight = maxInFlight;
  }

  byId(id: number): Promise<UserIdentity | undefined> {
    // The column is a 32-bit integer: a larger id (from a token signed elsewhere) names no user,
    // and must not fail the batch it would have joined.
    if (!(id >= -2147483648 && id <= 2147483647)) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ id, resolve, reject });
      // Sent at the end of this turn of the event loop, not at once: every request read in the
      // same turn (one poll of the sockets) joins the same query.
      if (this.#inFlight < this.#maxInFlight && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushScheduled);
      }
    });
  }

  #flush(): void {
    const batch = this.#waiting.length <= MAX_BATCH ? this.#waiting : this.#waiting.slice(0, MAX_BATCH);
    this.#waiting = this.#waiting.length <= MAX_BATCH ? [] : this.#waiting.slice(MAX_BATCH);
    this.#inFlight++;
    const ids = [...new Set(batch.map((w) => w.id))];
    this.#pool
      .query<[number, string, boolean]>({ name: 'users_by_ids', text: 'SELECT id, username, is_active FROM users WHERE id = ANY($1::integer[])', values: [ids], rowMode: 'array' })
      .then(
        ({ rows }) => {
          const found = new Map<number, UserIdentity>();
          for (const row of rows) found.set(row[0], { id: row[0], username: row[1], isActive: row[2] });
          for (const w of batch) w.resolve(found.get(w.id));
        },
        (error: unknown) => {
          const typed = fromPgError(error, this.#target);
          for (const w of batch) w.reject(typed);
        },
      )
      .finally(() => {
        this.#inFlight--;
        if (this.#waiting.length > 0 && !this.#scheduled) {
          this.#scheduled = true;
          setImmediate(this.#flushScheduled);
        }
      });
  }

  async byUsername(username: string): Promise<UserWithPassword | undefined> {
    const rows = await this.#query<{ id: number; username: string; is_active: boolean; password: string; date_joined: number; last_login: number | null }>(
      'users_by_username',
      'SELECT id, username, is_active, password, date_joined, last_login FROM users WHERE username = $1',
      [username],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { id: row.id, username: row.username, isActive: row.is_active, password: row.password, dateJoined: row.date_joined, lastLogin: row.last_login };
  }

  async create(username: string, passwordHash: string, options: { isActive?: boolean; now?: number } = {}, via: pg.Pool | pg.PoolClient = this.#pool): Promise<User> {
    const problem = usernameProblem(username);
    if (problem !== null) throw new UsernameError(problem);
    const now = options.now ?? Math.floor(Date.now() / 1000);
    const isActive = options.isActive ?? true;
    try {
      const { rows } = await via.query<{ id: number }>('INSERT INTO users (username, password, is_active, date_joined) VALUES ($1, $2, $3, $4) RETURNING id', [
        username,
        passwordHash,
        isActive,
        now,
      ]);
      return { id: rows[0]!.id, username, isActive, dateJoined: now, lastLogin: null };
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new UsernameError(`A user with the username "${username}" already exists.`);
      throw fromPgError(error, this.#target);
    }
  }

  createIfNone(username: string, passwordHash: string): Promise<User | null> {
    return inTransaction(this.#pool, this.#target, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [CREATE_IF_NONE_LOCK]);
      const { rows } = await client.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any');
      return rows[0]!.any ? null : this.create(username, passwordHash, {}, client);
    });
  }

  async setPassword(id: number, passwordHash: string): Promise<boolean> {
    return (await this.#run('UPDATE users SET password = $1 WHERE id = $2', [passwordHash, id])) === 1;
  }

  async setActive(id: number, isActive: boolean): Promise<boolean> {
    return (await this.#run('UPDATE users SET is_active = $1 WHERE id = $2', [isActive, id])) === 1;
  }

  async recordLogin(id: number, when: number): Promise<void> {
    await this.#run('UPDATE users SET last_login = $1 WHERE id = $2', [when, id]);
  }

  async count(): Promise<number> {
    const rows = await this.#query<{ n: number }>('users_count', 'SELECT COUNT(*)::integer AS n FROM users', []);
    return rows[0]!.n;
  }

  async #query<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query<R>({ name, text, values })).rows;
    } catch (error) {
      throw fromPgError(error, this.#target);
    }
  }

  async #run(text: string, values: unknown[]): Promise<number> {
    try {
      return (await this.#pool.query(text, values)).rowCount ?? 0;
    } catch (error) {
      throw fromPgError(error, this.#target);
    }
  }
}
