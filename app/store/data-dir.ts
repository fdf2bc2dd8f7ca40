/**
 * The data directory (--data-dir, LAYERSTACK_DATA_DIR or DATA_DIR; default ./data): where the
 * SQLite database and the generated signing key live. It holds secrets, so it is created private
 * to the server's user. Every command that uses it declares the same option (DATA_DIR_OPTION) and
 * checks it with dataDirProblem before starting anything, so an unusable directory is one line
 * naming the path, not a stack trace from a worker.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, resolveArgv, text } from '../../options/index.ts';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';

/** The one declaration of the data directory option, shared by every command that uses it. */
export const DATA_DIR_OPTION = text({
  metavar: 'DIR',
  env: ['LAYERSTACK_DATA_DIR', 'DATA_DIR'],
  default: DEFAULT_DATA_DIR,
  help: 'Directory of the database, the signing key and the private sockets; created (mode 0700) if missing.',
});

/** The accepted form, as ConfigError states it. */
const USABLE = 'a directory this user can create or write';

/** The absolute data directory named by the environment (LAYERSTACK_DATA_DIR, then DATA_DIR), or ./data. */
export function resolveDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return resolve(resolveArgv({ name: 'data directory', summary: '', options: { dataDir: DATA_DIR_OPTION } }, [], env).values.dataDir);
}

/**
 * Why `dir` cannot serve as the data directory (null: it can), without creating anything: it must
 * be a writable directory, or not exist yet below a writable directory.
 */
export function dataDirProblem(dir: string): string | null {
  let at = resolve(dir);
  while (!existsSync(at)) {
    const parent = dirname(at);
    if (parent === at) return 'no existing parent folder';
    at = parent;
  }
  try {
    if (!statSync(at).isDirectory()) return `${at} is not a directory`;
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (error) {
    return `${at} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  return null;
}

/** Throw a ConfigError naming `option` and the path when the data directory is unusable. */
export function checkDataDir(dir: string, option = '--data-dir'): void {
  const problem = dataDirProblem(dir);
  if (problem !== null) throw new ConfigError(`${option} ${resolve(dir)}`, `${USABLE}; ${problem}`);
}

/** Create the data directory (and parents) with mode 0700 if it does not exist yet; returns it. */
export function prepareDataDir(dir: string): string {
  // One level at a time rather than mkdir's recursive mode, which on Node 20 can spin forever
  // under a pseudo file system such as /proc instead of failing.
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) missing.unshift(at);
  try {
    for (const level of missing) mkdirSync(level, { mode: 0o700 });
  } catch (error) {
    throw new ConfigError(`data directory ${resolve(dir)}`, `${USABLE} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return dir;
}
