/**
 * What the stack does once before any worker starts: make sure the data directory is usable,
 * migrate the database, create the signing key and the first admin user. Doing it here, in one
 * process, means the admin password is printed once and no two workers race to create anything.
 *
 * The supervisor runs this in a short-lived child process (stack/prepare-cli.ts) rather than in
 * itself: opening the store loads SQLite's native module (or the Postgres driver) and the store's
 * and auth's code, and a process keeps every module it once loaded. Without them the supervisor,
 * which lives as long as the stack, idles about 6 MB smaller (bench/RESULTS.md, "Idle memory").
 */
import { accessSync, constants, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSettings } from '../app/auth/settings.ts';
import { loadOrCreateSigningKey } from '../app/auth/signing-key.ts';
import { prepareDataDir as createDataDir } from '../app/store/data-dir.ts';
import { ensureAdmin } from '../app/store/ensure-admin.ts';
import { openConfiguredStore } from '../app/store/open.ts';
import { storeSettingsFromEnv } from '../app/store/store-options.ts';

/** Check that `dataDir` can be created and written; throws with a message saying what to fix. */
export function checkWritable(dataDir: string): void {
  try {
    createDataDir(dataDir);
    accessSync(dataDir, constants.W_OK);
    const probe = join(dataDir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (error) {
    throw new Error(`the data directory ${dataDir} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); set DATA_DIR to a writable folder`);
  }
}

/** Prepare `dataDir` for the app server; `print` shows the first-start admin password. */
export async function prepareDataDir(dataDir: string, print: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  checkWritable(dataDir);
  // Unknown or malformed SIMPLE_JWT_* settings stop the stack here, before any worker starts.
  const settings = resolveSettings({}, env);
  const databaseUrl = storeSettingsFromEnv(env).databaseUrl ?? '';
  if (databaseUrl !== '' && settings.SIGNING_KEY === null) {
    throw new Error('with DATABASE_URL set, set SIGNING_KEY too: every app host sharing the database must sign and verify with the same key');
  }
  // Verify-only (JWK_URL): no store and no key of its own to prepare.
  if (settings.JWK_URL !== null) return;
  if (settings.SIGNING_KEY === null) loadOrCreateSigningKey(dataDir, settings.ALGORITHM);
  const store = await openConfiguredStore({ databaseUrl, dataDir, env });
  try {
    await ensureAdmin(store, print);
  } finally {
    await store.close();
  }
}
