/**
 * What the store's command-line tools share: their options (the data directory, in the shared
 * vocabulary), opening the store in it, and turning failures into one line on stderr and an exit
 * status (1 for errors, 2 for usage and configuration) instead of a stack trace.
 */
import { ConfigError, environmentOf, exitOnConfigError, optionsOrExit, type Command, type OptionTable, type ValuesOf } from '../../options/index.ts';
import { checkDataDir, DATA_DIR_OPTION } from './data-dir.ts';
import { PasswordInputError } from './password-input.ts';
import { STORE_OPTIONS } from './store-options.ts';
import { openConfiguredStore } from './open.ts';
import { StoreStartError, StoreUnavailableError } from './store-error.ts';
import type { Store } from './store.ts';
import { UsernameError } from './users.ts';

/** A failure the user can fix; printed without a stack trace. */
export class CommandError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}

/** A store command: its own options plus --data-dir, and its positional arguments. */
export function storeCommand<T extends OptionTable>(
  name: string,
  summary: string,
  positionals: Command<T>['positionals'],
  options: T,
): Command<T & StoreLocationOptions> {
  return { name, summary, positionals, options: { ...options, dataDir: DATA_DIR_OPTION, ...STORE_OPTIONS } };
}

/** The options that say where the store is. */
type StoreLocationOptions = { dataDir: typeof DATA_DIR_OPTION } & typeof STORE_OPTIONS;

/** Run a command against the store (DATABASE_URL, else the data directory), then close it; sets process.exitCode. */
export async function runCommand<T extends OptionTable>(
  command: Command<T & StoreLocationOptions>,
  body: (store: Store, args: readonly string[], options: ValuesOf<T>) => Promise<string>,
): Promise<void> {
  const { resolution } = optionsOrExit(command, process.argv.slice(2), process.env, (r) => {
    const where = r.values as ValuesOf<StoreLocationOptions>;
    if (where.databaseUrl === undefined) checkDataDir(where.dataDir);
    return r;
  });
  let store: Store | undefined;
  try {
    const where = resolution.values as ValuesOf<StoreLocationOptions>;
    store = await openConfiguredStore({ databaseUrl: where.databaseUrl, dataDir: where.dataDir, env: environmentOf(STORE_OPTIONS, where) });
    const message = await body(store, resolution.positionals, resolution.values as ValuesOf<T>);
    process.stdout.write(`${message}\n`);
  } catch (error) {
    if (error instanceof ConfigError) {
      await store?.close();
      exitOnConfigError(command, error);
    }
    const known = error instanceof CommandError || error instanceof UsernameError || error instanceof PasswordInputError || error instanceof StoreStartError;
    const message = error instanceof StoreUnavailableError ? error.logLine : known ? error.message : error instanceof Error ? error.stack : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = error instanceof CommandError ? error.exitCode : 1;
  } finally {
    await store?.close();
  }
}
