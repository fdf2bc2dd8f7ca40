/**
 * The one typed failure of a store at run time: the database cannot be reached, or cannot be
 * written (a read-only or full disk under SQLite; a lost connection, a statement timeout or a
 * read-only server under Postgres). Views answer it with 503 and a JSON body instead of a 500,
 * and requests that need no store (a valid access token with its user cached) keep being served.
 *
 * StoreStartError is the failure of opening a store (bad DATABASE_URL, wrong password, an
 * unreachable host, a schema newer than the code): one line for the operator, then exit.
 */

/** What went wrong, in categories an operator acts on differently. */
export type StoreFailureKind =
  /** The database server (or file) cannot be reached right now; it may come back. */
  | 'unavailable'
  /** The store can be read but not written (read-only file system or server, permissions). */
  | 'read-only'
  /** No space left where the store writes. */
  | 'full'
  /** A statement ran past the statement timeout, or no connection came free in time. */
  | 'timeout';

/** A store operation that failed for a reason outside the request's control. */
export class StoreUnavailableError extends Error {
  readonly kind: StoreFailureKind;
  /** The database file or the server's host:port/database, for the error log. */
  readonly target: string;
  /** The driver's code (SQLITE_FULL, ECONNREFUSED, 57014…), when it gave one. */
  readonly code: string | undefined;

  constructor(kind: StoreFailureKind, target: string, reason: string, code?: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'StoreUnavailableError';
    this.kind = kind;
    this.target = target;
    this.code = code;
  }

  /** What a client is told (no file names or host names: those go to the error log). */
  get publicDetail(): string {
    switch (this.kind) {
      case 'read-only':
      case 'full':
        return 'The store cannot be written right now; try again later.';
      case 'timeout':
        return 'The store did not answer in time; try again later.';
      default:
        return 'The store is unavailable right now; try again later.';
    }
  }

  /** One error-log line naming the file or server. */
  get logLine(): string {
    return `store ${this.kind}: ${this.target}: ${this.message}${this.code === undefined ? '' : ` (${this.code})`}`;
  }
}

/** Opening a store failed; `message` is the one line to print before exiting non-zero. */
export class StoreStartError extends Error {
  readonly reason: 'bad-url' | 'unreachable' | 'auth' | 'newer-schema' | 'migration' | 'unsupported';

  constructor(reason: StoreStartError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreStartError';
    this.reason = reason;
  }
}

/** SQLite result codes that mean "the file cannot be used", mapped to a kind; others are bugs. */
const SQLITE_KINDS: Readonly<Record<string, StoreFailureKind>> = {
  SQLITE_READONLY: 'read-only',
  SQLITE_READONLY_DBMOVED: 'read-only',
  SQLITE_READONLY_DIRECTORY: 'read-only',
  SQLITE_READONLY_RECOVERY: 'read-only',
  SQLITE_READONLY_CANTINIT: 'read-only',
  SQLITE_READONLY_CANTLOCK: 'read-only',
  SQLITE_READONLY_ROLLBACK: 'read-only',
  SQLITE_PERM: 'read-only',
  SQLITE_FULL: 'full',
  SQLITE_IOERR: 'unavailable',
  SQLITE_CANTOPEN: 'unavailable',
  SQLITE_BUSY: 'timeout',
  SQLITE_BUSY_SNAPSHOT: 'timeout',
  SQLITE_BUSY_TIMEOUT: 'timeout',
  SQLITE_LOCKED: 'timeout',
};

/** I/O errors on the way out: the file can no longer be written (EROFS, EIO, quota). */
const WRITE_IOERRS = new Set(['SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_TRUNCATE', 'SQLITE_IOERR_SHMSIZE', 'SQLITE_IOERR_DIR_FSYNC']);

/** The typed failure for a SQLite error on `file`, or the error itself when it is not one. */
export function fromSqliteError(error: unknown, file: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  const kind = SQLITE_KINDS[code] ?? (code.startsWith('SQLITE_IOERR') ? (WRITE_IOERRS.has(code) ? 'read-only' : 'unavailable') : undefined);
  if (kind === undefined) return error;
  // ENOSPC surfaces as SQLITE_FULL; EROFS/EACCES as SQLITE_READONLY or an IOERR variant.
  return new StoreUnavailableError(kind, file, (error as Error).message, code, { cause: error });
}
