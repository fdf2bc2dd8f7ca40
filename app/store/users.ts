/**
 * The users table: Django's auth_user reduced to what token authentication needs. Usernames are
 * case-sensitive and follow Django's rules (up to 150 letters, digits and @ . + - _).
 *
 * byId() runs on every authenticated request (simplejwt's JWTAuthentication loads the user each
 * time, so a deactivated user is locked out at once), so it is one prepared statement, prepared
 * once, returning only the three columns the request needs.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { UserRepository } from './store.ts';
import { fromSqliteError } from './store-error.ts';

/** What an authenticated request knows about its user. */
export interface UserIdentity {
  readonly id: number;
  readonly username: string;
  readonly isActive: boolean;
}

/** A user row without the password hash. */
export interface User extends UserIdentity {
  /** Epoch seconds. */
  readonly dateJoined: number;
  /** Epoch seconds of the last successful login, or null (updated only with UPDATE_LAST_LOGIN). */
  readonly lastLogin: number | null;
}

/** A user row with its password hash, for the login view and the CLIs. */
export interface UserWithPassword extends User {
  readonly password: string;
}

/** Django's username rules: at most 150 characters. */
export const USERNAME_MAX_LENGTH = 150;
const USERNAME_PATTERN = /^[\p{L}\p{N}_.@+-]+$/u;

/** A username that breaks the rules, or a taken one. */
export class UsernameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsernameError';
  }
}

/** Why `username` is not acceptable (Django's messages), or null when it is. */
export function usernameProblem(username: string): string | null {
  if (username === '') return 'The username may not be blank.';
  if (username.length > USERNAME_MAX_LENGTH) return `Ensure the username has no more than ${USERNAME_MAX_LENGTH} characters.`;
  if (!USERNAME_PATTERN.test(username)) {
    return 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.';
  }
  return null;
}

interface IdentityRow {
  id: number;
  username: string;
  is_active: number;
}

interface FullRow extends IdentityRow {
  password: string;
  date_joined: number;
  last_login: number | null;
}

/** Reads and writes users through statements prepared once (SQLite; postgres/users.ts is the other). */
export class UserStore implements UserRepository {
  readonly #db: Database;
  readonly #file: string;
  readonly #byId: Statement<[number], [string, number]>;
  readonly #byUsername: Statement<[string], FullRow>;
  readonly #insert: Statement<[string, string, number, number]>;
  readonly #setPassword: Statement<[string, number]>;
  readonly #setActive: Statement<[number, number]>;
  readonly #setLastLogin: Statement<[number, number]>;
  readonly #count: Statement<[], { n: number }>;

  constructor(db: Database, file: string = db.name) {
    this.#db = db;
    this.#file = file;
    // raw(): rows as arrays, no per-row object with named keys to build (measurably cheaper).
    this.#byId = db.prepare<[number], [string, number]>('SELECT username, is_active FROM users WHERE id = ?').raw();
    this.#byUsername = db.prepare('SELECT id, username, is_active, password, date_joined, last_login FROM users WHERE username = ?');
    this.#insert = db.prepare('INSERT INTO users (username, password, is_active, date_joined) VALUES (?, ?, ?, ?)');
    this.#setPassword = db.prepare('UPDATE users SET password = ? WHERE id = ?');
    this.#setActive = db.prepare('UPDATE users SET is_active = ? WHERE id = ?');
    this.#setLastLogin = db.prepare('UPDATE users SET last_login = ? WHERE id = ?');
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM users');
  }

  /** The user with this id, or undefined. Hot path: one indexed lookup. */
  byId(id: number): UserIdentity | undefined {
    let row: [string, number] | undefined;
    try {
      row = this.#byId.get(id);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
    return row === undefined ? undefined : { id, username: row[0], isActive: row[1] === 1 };
  }

  /** The user with this exact username, password hash included, or undefined. */
  byUsername(username: string): UserWithPassword | undefined {
    let row: FullRow | undefined;
    try {
      row = this.#byUsername.get(username);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
    if (row === undefined) return undefined;
    return {
      id: row.id,
      username: row.username,
      isActive: row.is_active === 1,
      password: row.password,
      dateJoined: row.date_joined,
      lastLogin: row.last_login,
    };
  }

  /**
   * Add a user with an already computed password hash. Throws UsernameError for an invalid or
   * taken username. `now` is epoch seconds.
   */
  create(username: string, passwordHash: string, options: { isActive?: boolean; now?: number } = {}): User {
    const problem = usernameProblem(username);
    if (problem !== null) throw new UsernameError(problem);
    const now = options.now ?? Math.floor(Date.now() / 1000);
    const isActive = options.isActive ?? true;
    try {
      const result = this.#insert.run(username, passwordHash, isActive ? 1 : 0, now);
      return { id: Number(result.lastInsertRowid), username, isActive, dateJoined: now, lastLogin: null };
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new UsernameError(`A user with the username "${username}" already exists.`);
      throw fromSqliteError(error, this.#file);
    }
  }

  /**
   * Create the user only if the table is empty, atomically across processes (for first-start
   * bootstrap); returns the user, or null if some user already existed.
   */
  createIfNone(username: string, passwordHash: string): User | null {
    const run = this.#db.transaction(() => (this.count() === 0 ? this.create(username, passwordHash) : null));
    try {
      return run.immediate();
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Replace a user's password hash; false if there is no such user. */
  setPassword(id: number, passwordHash: string): boolean {
    try {
      return this.#setPassword.run(passwordHash, id).changes === 1;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Activate or deactivate a user (an inactive user can neither log in nor use a token); false if no such user. */
  setActive(id: number, isActive: boolean): boolean {
    try {
      return this.#setActive.run(isActive ? 1 : 0, id).changes === 1;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** Record a successful login at `when` (epoch seconds). */
  recordLogin(id: number, when: number): void {
    try {
      this.#setLastLogin.run(when, id);
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }

  /** How many users exist. */
  count(): number {
    try {
      return this.#count.get()!.n;
    } catch (error) {
      throw fromSqliteError(error, this.#file);
    }
  }
}
