/**
 * The data directory (DATA_DIR, default ./data): where the SQLite database and the generated
 * signing key live. It holds secrets, so it is created private to the server's user.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';

/** The absolute data directory named by DATA_DIR in `env`, or ./data. */
export function resolveDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.DATA_DIR;
  return resolve(configured === undefined || configured === '' ? DEFAULT_DATA_DIR : configured);
}

/** Create the data directory (and parents) with mode 0700 if it does not exist yet; returns it. */
export function prepareDataDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
