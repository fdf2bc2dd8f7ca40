/**
 * Opening the SQLite database: WAL (readers never wait for the writer, and several worker
 * processes can share the file), a busy timeout (a writer waits for another process's write
 * instead of failing), foreign keys on (SQLite's default is off), then the migrations.
 */
import Database from 'better-sqlite3';
import { migrate } from './migrations.ts';

/** How long a connection waits for another process's write lock before giving up, in ms. */
export const BUSY_TIMEOUT_MS = 5000;

/** Open (creating if needed) and migrate the database at `file`. */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL loses at most the last transactions on power loss, never integrity;
    // a lost logout is re-done by the user, a per-request fsync would cost every login.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
