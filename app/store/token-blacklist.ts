/**
 * simplejwt's token_blacklist app: an "outstanding" row for every refresh token issued, and a
 * "blacklisted" row for each one that was logged out or rotated away. Only refresh tokens are
 * ever blacklisted; access tokens stay valid until they expire (5 minutes by default), exactly
 * as with simplejwt.
 *
 * blacklist() is a compare-and-set: it reports whether *this* call blacklisted the token. The
 * refresh view uses that to close simplejwt's rotation race, where two concurrent refreshes of the
 * same token (in one process or in two) could both be accepted and both yield a new token.
 */
import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { RotationOutcome, TokenRecord, TokenRepository } from './store.ts';
import { fromSqliteError } from './store-error.ts';

export type { TokenRecord } from './store.ts';

/** The outstanding and blacklisted token tables (SQLite; postgres/token-blacklist.ts is the other). */
export class TokenBlacklist implements TokenRepository {
  readonly #file: string;
  readonly #insertOutstanding: Statement<[string, number | null, string, number | null, number]>;
  readonly #isBlacklisted: Statement<[string], { one: number }>;
  readonly #insertBlacklisted: Statement<[number, string]>;
  readonly #blacklistUser: Statement<[number, number]>;
  readonly #purge: Statement<[number]>;
  readonly #counts: Statement<[], { outstanding: number; blacklisted: number }>;
  readonly #blacklist: Transaction<(record: TokenRecord, now: number) => boolean>;
  readonly #userActive: Statement<[number], { is_active: number }>;
  readonly #rotate: Transaction<(old: TokenRecord, next: TokenRecord, now: number) => RotationOutcome>;

  constructor(db: Database, file: string = db.name) {
    this.#file = file;
    this.#insertOutstanding = db.prepare(
      // The user may have been deleted since the token was issued: record it unowned then.
      'INSERT OR IGNORE INTO outstanding_tokens (jti, user_id, token, created_at, expires_at) ' +
        'VALUES (?, (SELECT id FROM users WHERE id = ?), ?, ?, ?)',
    );
    this.#isBlacklisted = db.prepare(
      'SELECT 1 AS one FROM blacklisted_tokens b JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = ?',
    );
    this.#insertBlacklisted = db.prepare(
      'INSERT OR IGNORE INTO blacklisted_tokens (token_id, blacklisted_at) SELECT id, ? FROM outstanding_tokens WHERE jti = ?',
    );
    this.#blacklistUser = db.prepare(
      'INSERT OR IGNORE INTO blacklisted_tokens (token_id, blacklisted_at) SELECT id, ? FROM outstanding_tokens WHERE user_id = ?',
    );
    this.#purge = db.prepare('DELETE FROM outstanding_tokens WHERE expires_at <= ?');
    this.#counts = db.prepare(
      'SELECT (SELECT COUNT(*) FROM outstanding_tokens) AS outstanding, (SELECT COUNT(*) FROM blacklisted_tokens) AS blacklisted',
    );
    // simplejwt's get_or_create of the outstanding row, then of the blacklisted row, as one unit.
    this.#blacklist = db.transaction((record: TokenRecord, now: number): boolean => {
      this.#record(record);
      return this.#insertBlacklisted.run(now, record.jti).changes === 1;
    });
    this.#userActive = db.prepare('SELECT is_active FROM users WHERE id = ?');
    this.#rotate = db.transaction((old: TokenRecord, next: TokenRecord, now: number): RotationOutcome => {
      if (this.#isBlacklisted.get(old.jti) !== undefined) return 'blacklisted';
      if (old.userId === null || this.#userActive.get(old.userId)?.is_active !== 1) return 'no-active-user';
      this.#record(old);
      if (this.#insertBlacklisted.run(now, old.jti).changes !== 1) return 'blacklisted';
      this.#record(next);
      return 'rotated';
    });
  }

  /** Rotate `old` into `next` in one IMMEDIATE transaction (see TokenRepository.rotate). */
  rotate(old: TokenRecord, next: TokenRecord, now: number): RotationOutcome {
    try {
      return this.#rotate.immediate(old, next, now);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Record an issued refresh token (a no-op if its jti is already recorded). */
  recordOutstanding(record: TokenRecord): void {
    try {
      this.#record(record);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  #record(record: TokenRecord): void {
    // Tokens signed elsewhere may carry fractional NumericDates; the columns hold whole seconds.
    const createdAt = record.createdAt === undefined || record.createdAt === null ? null : Math.floor(record.createdAt);
    this.#insertOutstanding.run(record.jti, record.userId, record.token, createdAt, Math.ceil(record.expiresAt));
  }

  /** Whether the token with this jti has been blacklisted. */
  isBlacklisted(jti: string): boolean {
    try {
      return this.#isBlacklisted.get(jti) !== undefined;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Blacklist a token at `now` (epoch seconds); true if this call did it, false if it already was. */
  blacklist(record: TokenRecord, now: number): boolean {
    try {
      return this.#blacklist.immediate(record, now);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Blacklist every outstanding token of a user (after a password change); returns how many. */
  blacklistAllForUser(userId: number, now: number): number {
    try {
      return this.#blacklistUser.run(now, userId).changes;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /**
   * Delete tokens that expired at or before `now` (epoch seconds), with their blacklist rows:
   * an expired token is refused on its `exp` alone, so its rows are no longer needed
   * (simplejwt's flushexpiredtokens). Returns how many outstanding rows went.
   */
  purgeExpired(now: number): number {
    try {
      return this.#purge.run(now).changes;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Row counts, for operators and tests. */
  counts(): { outstanding: number; blacklisted: number } {
    try {
      return this.#counts.get()!;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }
}
