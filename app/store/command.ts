/**
 * What the store's command-line tools share: opening the store named by DATA_DIR, and turning
 * failures into a message on stderr and an exit status (1 for errors, 2 for usage) instead of a
 * stack trace.
 */
import { resolveDataDir } from './data-dir.ts';
import { openConfiguredStore } from './open.ts';
import { PasswordInputError } from './password-input.ts';
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

/** Run a command against the store (DATABASE_URL, else DATA_DIR), then close it; sets process.exitCode. */
export async function runCommand(body: (store: Store, args: string[]) => Promise<string>): Promise<void> {
  let store: Store | undefined;
  try {
    store = await openConfiguredStore({ databaseUrl: process.env.DATABASE_URL, dataDir: resolveDataDir() });
    const message = await body(store, process.argv.slice(2));
    process.stdout.write(`${message}\n`);
  } catch (error) {
    const known = error instanceof CommandError || error instanceof UsernameError || error instanceof PasswordInputError || error instanceof StoreStartError;
    const message = error instanceof StoreUnavailableError ? error.logLine : known ? error.message : error instanceof Error ? error.stack : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = error instanceof CommandError ? error.exitCode : 1;
  } finally {
    await store?.close();
  }
}
