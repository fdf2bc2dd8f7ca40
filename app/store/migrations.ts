/**
 * The schema, as an ordered list of migrations. Each one runs once, in order, inside the same
 * IMMEDIATE transaction that records it in `schema_version`, so several worker processes
 * starting together on a fresh database cannot both apply it: the second waits for the write
 * lock, then sees the migration recorded and skips it.
 *
 * To change the schema, append a migration; never edit one that has shipped.
 */
import type { Database } from 'better-sqlite3';

/** One schema step. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every migration, oldest first. Times are epoch seconds, except login_attempts (milliseconds). */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users',
    // Django's auth_user, minus what this server does not use (names, e-mail, staff flags).
    sql: `
      CREATE TABLE users (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        username    TEXT    NOT NULL UNIQUE,
        password    TEXT    NOT NULL,
        is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
        date_joined INTEGER NOT NULL,
        last_login  INTEGER
      ) STRICT;`,
  },
  {
    version: 2,
    name: 'token_blacklist',
    // simplejwt's token_blacklist app: every refresh token issued is "outstanding"; logging out
    // or rotating it adds a "blacklisted" row pointing at it.
    sql: `
      CREATE TABLE outstanding_tokens (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        jti        TEXT    NOT NULL UNIQUE,
        user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
        token      TEXT    NOT NULL,
        created_at INTEGER,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX outstanding_tokens_expires_at ON outstanding_tokens (expires_at);
      CREATE INDEX outstanding_tokens_user_id ON outstanding_tokens (user_id);
      CREATE TABLE blacklisted_tokens (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        token_id       INTEGER NOT NULL UNIQUE REFERENCES outstanding_tokens (id) ON DELETE CASCADE,
        blacklisted_at INTEGER NOT NULL
      ) STRICT;`,
  },
  {
    version: 3,
    name: 'login_attempts',
    // Login throttling state, shared by every worker process through the database.
    sql: `
      CREATE TABLE login_attempts (
        key             TEXT    PRIMARY KEY,
        failures        INTEGER NOT NULL,
        last_attempt_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX login_attempts_last_attempt_at ON login_attempts (last_attempt_at);`,
  },
];

/** Apply every migration `db` has not seen yet; returns the versions applied now. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as { version: number | null };
    const current = row.version ?? 0;
    const newest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
    if (current > newest) {
      throw new Error(`database schema is at version ${current}, newer than this code knows (${newest}): run the newer server, or restore a backup`);
    }
    const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Math.floor(Date.now() / 1000));
      applied.push(migration.version);
    }
    return applied;
  });
  return run.immediate();
}

/** The schema version a database is at (0 for a new one). */
export function schemaVersion(db: Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (table === undefined) return 0;
  return (db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as { version: number | null }).version ?? 0;
}
