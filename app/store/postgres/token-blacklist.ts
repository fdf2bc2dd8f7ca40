/**
 * simplejwt's token_blacklist tables on Postgres. blacklist() is one statement: the outstanding
 * row's get-or-create (an upsert that locks the row), then the blacklisted row's insert, which
 * only one of any number of concurrent callers, on any host, can make. That caller wins the
 * rotation; the others learn the token was already blacklisted. rotate() does the same for the
 * refreshes that arrive together, in one statement for all of them (see ROTATE_MANY).
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

// Rotations, many in one statement (one round trip, one commit and one WAL flush for all the
// refreshes that arrive together): for each request whose user is active, the old token's
// outstanding row is found (or inserted), and blacklisted by whichever caller gets there first
// (the unique token_id index: on this host, in this batch, or on another host); only that
// caller's new token is recorded. A token asked twice in one batch is tried once, for its first
// request (DISTINCT ON); the later one loses, as it would to a concurrent statement. Inserts go in
// jti order, so two batches that meet on two tokens lock them in the same order (no deadlock).
// Every lookup in a table is a per-row subquery on its unique index, never a join: a prepared
// statement's plan, made when the tables were small, must not become a hash join that scans
// outstanding_tokens (measured: the database's CPU per rotation then grew with the table).
const ROTATE_MANY = `
  WITH req AS (
    SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::bigint[], $10::bigint[])
      WITH ORDINALITY AS r(jti, user_id, token, created_at, expires_at, now, next_jti, next_token, next_created_at, next_expires_at, n)
  ),
  act AS (
    SELECT DISTINCT ON (r.jti) r.* FROM req r WHERE (SELECT u.is_active FROM users u WHERE u.id = r.user_id) ORDER BY r.jti, r.n
  ),
  ins AS (
    INSERT INTO outstanding_tokens (jti, user_id, token, created_at, expires_at)
    SELECT a.jti, a.user_id, a.token, a.created_at, a.expires_at FROM act a
    WHERE (SELECT t.id FROM outstanding_tokens t WHERE t.jti = a.jti) IS NULL
    ORDER BY a.jti
    ON CONFLICT (jti) DO NOTHING
    RETURNING id, jti
  ),
  o AS (
    SELECT * FROM (
      SELECT a.jti, a.user_id, a.now, a.next_jti, a.next_token, a.next_created_at, a.next_expires_at,
        COALESCE((SELECT t.id FROM outstanding_tokens t WHERE t.jti = a.jti), (SELECT i.id FROM ins i WHERE i.jti = a.jti)) AS id
      FROM act a
    ) found WHERE id IS NOT NULL
  ),
  b AS (
    INSERT INTO blacklisted_tokens (token_id, blacklisted_at)
    SELECT o.id, o.now FROM o ORDER BY o.jti
    ON CONFLICT (token_id) DO NOTHING
    RETURNING token_id
  ),
  nx AS (
    INSERT INTO outstanding_tokens (jti, user_id, token, created_at, expires_at)
    SELECT o.next_jti, o.user_id, o.next_token, o.next_created_at, o.next_expires_at FROM o JOIN b ON b.token_id = o.id
    RETURNING jti
  )
  SELECT COALESCE((SELECT u.is_active FROM users u WHERE u.id = r.user_id), false) AS active, EXISTS (SELECT 1 FROM nx WHERE nx.jti = r.next_jti) AS rotated
  FROM req r
  ORDER BY r.n`;

/** A rotation waiting for the next batch. */
interface WaitingRotation {
  readonly old: TokenRecord;
  readonly next: TokenRecord;
  readonly now: number;
  resolve(outcome: { active: boolean; rotated: boolean }): void;
  reject(error: unknown): void;
}

/** Most rotations in one statement. */
const MAX_ROTATIONS = 128;

/**
 * Batches sent at once. Two: one batch commits (waits for its WAL flush) while the next is
 * collected and sent, so a slow flush does not idle the host.
 */
const ROTATIONS_IN_FLIGHT = 2;

export class PostgresTokenBlacklist implements TokenRepository {
  readonly #pool: pg.Pool;
  readonly #target: string;
  #rotations: WaitingRotation[] = [];
  #rotationsInFlight = 0;
  #rotationScheduled = false;
  readonly #flushScheduledRotations = (): void => {
    this.#rotationScheduled = false;
    if (this.#rotations.length > 0 && this.#rotationsInFlight < ROTATIONS_IN_FLIGHT) this.#flushRotations();
  };

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
    const row = await new Promise<{ active: boolean; rotated: boolean }>((resolve, reject) => {
      this.#rotations.push({ old, next, now, resolve, reject });
      // Sent at the end of this turn of the event loop: every refresh read in the same turn joins.
      if (this.#rotationsInFlight < ROTATIONS_IN_FLIGHT && !this.#rotationScheduled) {
        this.#rotationScheduled = true;
        setImmediate(this.#flushScheduledRotations);
      }
    });
    if (row.rotated) return 'rotated';
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

  #flushRotations(): void {
    const batch = this.#rotations.length <= MAX_ROTATIONS ? this.#rotations : this.#rotations.slice(0, MAX_ROTATIONS);
    this.#rotations = this.#rotations.length <= MAX_ROTATIONS ? [] : this.#rotations.slice(MAX_ROTATIONS);
    this.#rotationsInFlight++;
    const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
    for (const { old, next, now } of batch) {
      const [jti, userId, token, createdAt, expiresAt] = recordValues(old);
      const [nextJti, , nextToken, nextCreatedAt, nextExpiresAt] = recordValues(next);
      const row = [jti, userId, token, createdAt, expiresAt, now, nextJti, nextToken, nextCreatedAt, nextExpiresAt];
      for (let i = 0; i < row.length; i++) columns[i]!.push(row[i]);
    }
    this.#pool
      .query<[boolean, boolean]>({ name: 'tokens_rotate_many', text: ROTATE_MANY, values: columns, rowMode: 'array' })
      .then(
        ({ rows }) => {
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve({ active: rows[i]![0], rotated: rows[i]![1] });
        },
        (error: unknown) => {
          const typed = fromPgError(error, this.#target);
          for (const w of batch) w.reject(typed);
        },
      )
      .finally(() => {
        this.#rotationsInFlight--;
        if (this.#rotations.length > 0 && !this.#rotationScheduled) {
          this.#rotationScheduled = true;
          setImmediate(this.#flushScheduledRotations);
        }
      });
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
