/**
 * Where the user store lives and how the app talks to Postgres, declared once with the option
 * system: the commands that run the app (npm start, serve, dev, the store tools) take them as
 * options and hand them to the app through the environment, where the app reads them with the
 * same declarations. DATABASE_URL is the conventional name; the rest carry the project's prefix.
 */
import { duration, integer, oneOf, resolveArgv, text } from '../../options/index.ts';

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Postgres's synchronous_commit levels (https://www.postgresql.org/docs/current/runtime-config-wal.html). */
export const SYNCHRONOUS_COMMIT_LEVELS = ['on', 'off', 'local', 'remote_write', 'remote_apply'] as const;
export type SynchronousCommit = (typeof SYNCHRONOUS_COMMIT_LEVELS)[number];

export const STORE_OPTIONS = {
  databaseUrl: text({
    metavar: 'URL',
    secret: true,
    env: ['LAYERSTACK_DATABASE_URL', 'DATABASE_URL'],
    default: undefined,
    defaultText: 'none (SQLite)',
    help: 'postgres://user:password@host:port/database: keep the users and the token blacklist in Postgres, shared by several app hosts (then set SIGNING_KEY too).',
  }),
  databasePoolSize: integer({ min: 1, max: 1000, default: DEFAULT_POOL_SIZE, help: 'Postgres connections per process: enough concurrent commits for the server to group their WAL flushes.' }),
  databaseStatementTimeout: duration({
    min: 1,
    default: DEFAULT_STATEMENT_TIMEOUT_MS,
    help: 'Postgres statement_timeout of each query.',
    trips: '503 Service Unavailable with a JSON body',
  }),
  databaseConnectTimeout: duration({
    min: 1,
    default: DEFAULT_CONNECT_TIMEOUT_MS,
    help: 'Time to wait for a Postgres connection, new or from a full pool.',
    trips: '503 Service Unavailable with a JSON body',
  }),
  // Durability is a choice made in the open, never by a changed default: unset, the server's own
  // setting holds (on, as Postgres ships); `off` is what the SQLite store's WAL +
  // synchronous=NORMAL does (see docs/scaling.md).
  databaseSynchronousCommit: oneOf(SYNCHRONOUS_COMMIT_LEVELS, {
    default: undefined,
    defaultText: "the server's (on)",
    help: 'Postgres synchronous_commit of the app\'s connections. on: a write (a login, a rotation, a logout) is answered once its WAL is on disk. off: answered before the flush, like the SQLite store (WAL, synchronous=NORMAL): a database crash can lose the writes of its last ~0.6 s, never integrity; a lost rotation lets the old refresh token be used once more.',
  }),
};

/** The store settings from an environment (what the commands hand to the app); throws ConfigError. */
export function storeSettingsFromEnv(env: Readonly<Record<string, string | undefined>>) {
  return resolveArgv({ name: 'the store settings', summary: '', options: STORE_OPTIONS }, [], env).values;
}
