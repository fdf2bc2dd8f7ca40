/**
 * The users table on Postgres. byId() is the per-request lookup (when the user cache misses): a
 * named prepared statement, rows as arrays.
 */
import type pg from 'pg';
import type { UserRepository } from '../store.ts';
import { UsernameError, usernameProblem, type User, type UserIdentity, type UserWithPassword } from '../users.ts';
import { fromPgError } from './connection.ts';
import { inTransaction } from './transaction.ts';

/** The advisory lock key createIfNone() takes, so two hosts' first start creates one admin. */
const CREATE_IF_NONE_LOCK = '7101';

export class PostgresUsers implements UserRepository {
  readonly #pool: pg.Pool;
  readonly #target: string;

  constructor(pool: pg.Pool, target: string) {
    this.#pool = pool;
    this.#target = target;
  }

  async byId(id: number): Promise<UserIdentity | undefined> {
    let rows: unknown[][];
    try {
      ({ rows } = await this.#pool.query({ name: 'users_by_id', text: 'SELECT username, is_active FROM users WHERE id = $1', values: [id], rowMode: 'array' }));
    } catch (error) {
      throw fromPgError(error, this.#target);
    }
    const row = rows[0];
    return row === undefined ? undefined : { id, username: row[0] as string, isActive: row[1] as boolean };
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
