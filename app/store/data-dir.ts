/**
 * The data directory (DATA_DIR, default ./data): where the SQLite database and the generated
 * signing key live. It holds secrets, so it is created private to the server's user.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';

/** The absolute data directory named by DATA_DIR in `env`, or ./data. */
export function resolveDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.DATA_DIR;
  return resolve(configured === undefined || configured === '' ? DEFAULT_DATA_DIR : configured);
}

/** Create the data directory (and parents) with mode 0700 if it does not exist yet; returns it. */
export function prepareDataDir(dir: string): string {
  // One level at a time rather than mkdir's recursive mode, which on Node 20 can spin forever
  // under a pseudo file system such as /proc instead of failing.
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) missing.unshift(at);
  for (const level of missing) mkdirSync(level, { mode: 0o700 });
  return dir;
}
