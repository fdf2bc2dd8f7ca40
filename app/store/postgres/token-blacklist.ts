/**
 * simplejwt's token_blacklist tables on Postgres. blacklist() is one statement: the outstanding
 * row's get-or-create (an upsert that locks the row), then the blacklisted row's insert, which
 * only one of any number of concurrent callers, on any host, can make. That caller wins the
 * rotation; the others learn the token was already blacklisted.
 */
import type pg from 'pg';
import type { RotationOutcome, TokenRecord, TokenRepository } from '../store.ts';
import { fromPgError } from './connection.ts';

// The outstanding row is found, or inserted when the token was never recorded (simplejwt's
// get_or_create); a row that exists is not touched (no dead tuple per call). The unique index on
// blacklisted_tokens.token_id is the compare-and-set: of concurrent callers, one inserts, the
// others wait for it and then find the conflict.
const BLACKLIST = `
  WITH ins AS (
    INSERT INTO outstanding_tokens (jti, user_id, token, created_at, expires_at)
    SELECT $1, (SELECT id FROM users WHERE id = $2), $3, $4, $5
    WHERE NOT EXISTS (SELECT 1 FROM outstanding_tokens WHERE jti = $1)
    ON CONFLICT (jti) DO NOTHING
    RETURNING id
  ),
  o AS (SELECT id FROM ins UNION ALL SELECT id FROM outstanding_tokens WHERE jti = $1)
  INSERT INTO blacklisted_tokens (token_id, blacklisted_at) SELECT id, $6 FROM o LIMIT 1
  ON CONFLICT (token_id) DO NOTHING
  RETURNING id`;

// The whole rotation in one statement (one round trip): the user must be active; the old token's
// outstanding row is found (or inserted), and blacklisted by whichever concurrent caller gets
// there first (the unique token_id index); only that caller's new token is recorded.
const ROTATE = `
  WITH u AS (SELECT is_active FROM users WHERE id = $2),
  ins AS (
    INSERT INTO outstanding_tokens (jti, user_id, token, created_at, expires_at)
    SELECT $1, $2, $3, $4, $5
    WHERE EXISTS (SELECT 1 FROM u WHERE is_active) AND NOT EXISTS (SELECT 1 FROM outstanding_tokens WHERE jti = $1)
    ON CONFLICT (jti) DO NOTHING
    RETURNING id
  ),
  o AS (SELECT id FROM ins UNION ALL SELECT id FROM outstanding_tokens WHERE jti = $1 AND EXISTS (SELECT 1 FROM u WHERE is_active)),
  b AS (
    INSERT INTO blacklisted_tokens (token_id, blacklisted_at) SELECT id, $6 FROM o LIMIT 1
    ON CONFLICT (token_id) DO NOTHING
    RETURNING id
  ),
  n AS (
    INSERT INTO outstanding_tokens (jti, user_id, token, created_at, expires_at)
    SELECT $7, $2, $8, $9, $10 FROM b
    RETURNING id
  )
  SELECT COALESCE((SELECT is_active FROM u), false) AS active, (SELECT COUNT(*) FROM n)::integer AS rotated`;

export class PostgresTokenBlacklist implements TokenRepository {
  readonly #pool: pg.Pool;
  readonly #target: string;

  constructor(pool: pg.Pool, target: string) {
    this.#pool = pool;
    this.#target = target;
  }

  async recordOutstanding(record: TokenRecord): Promise<void> {
    await this.#query(
      'tokens_record',
      // The user may have been deleted since the token was issued: record it unowned then.
      'INSERT INTO outstanding_tokens (jti, user_id, token, created_at, expires_at) VALUES ($1, (SELECT id FROM users WHERE id = $2), $3, $4, $5) ON CONFLICT (jti) DO NOTHING',
      recordValues(record),
    );
  }

  async isBlacklisted(jti: string): Promise<boolean> {
    const result = await this.#query('tokens_is_blacklisted', 'SELECT 1 FROM blacklisted_tokens b JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = $1', [jti]);
    return result.rowCount === 1;
  }

  async blacklist(record: TokenRecord, now: number): Promise<boolean> {
    const result = await this.#query('tokens_blacklist', BLACKLIST, [...recordValues(record), now]);
    return result.rowCount === 1;
  }

  async rotate(old: TokenRecord, next: TokenRecord, now: number): Promise<RotationOutcome> {
    const result = await this.#query<{ active: boolean; rotated: number }>('tokens_rotate', ROTATE, [...recordValues(old), now, ...recordValues(next).filter((_, i) => i !== 1)]);
    const row = result.rows[0]!;
    if (row.rotated === 1) return 'rotated';
    if (!row.active) {
      // simplejwt checks the blacklist before the user: a blacklisted token says so first.
      return (await this.isBlacklisted(old.jti)) ? 'blacklisted' : 'no-active-user';
    }
    return 'blacklisted';
  }

  async blacklistAllForUser(userId: number, now: number): Promise<number> {
    const result = await this.#query(
      'tokens_blacklist_user',
      'INSERT INTO blacklisted_tokens (token_id, blacklisted_at) SELECT id, $1 FROM outstanding_tokens WHERE user_id = $2 ON CONFLICT (token_id) DO NOTHING',
      [now, userId],
    );
    return result.rowCount ?? 0;
  }

  async purgeExpired(now: number): Promise<number> {
    return (await this.#query('tokens_purge', 'DELETE FROM outstanding_tokens WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }

  async counts(): Promise<{ outstanding: number; blacklisted: number }> {
    const result = await this.#query<{ outstanding: number; blacklisted: number }>(
      'tokens_counts',
      'SELECT (SELECT COUNT(*) FROM outstanding_tokens)::integer AS outstanding, (SELECT COUNT(*) FROM blacklisted_tokens)::integer AS blacklisted',
      [],
    );
    return result.rows[0]!;
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>({ name, text, values });
    } catch (error) {
      throw fromPgError(error, this.#target);
    }
  }
}

function recordValues(record: TokenRecord): unknown[] {
  // Tokens signed elsewhere may carry fractional NumericDates; the columns hold whole seconds.
  const createdAt = record.createdAt === undefined || record.createdAt === null ? null : Math.floor(record.createdAt);
  return [record.jti, record.userId, record.token, createdAt, Math.ceil(record.expiresAt)];
}
