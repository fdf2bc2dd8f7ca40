/**
 * One rotation of a data directory's signing key at a time.
 *
 * Why: a rotation reads the current key and the retired-keys file, then writes both. Two
 * rotations that overlap both read the same current key K0; the first makes K1 current, the
 * second retires K0 again and makes K2 current, and K1 is in neither file. A server reloaded
 * between the two signed tokens with K1, and no server can verify them any more: every such
 * user is logged out, and services verifying through the JWKS reject the tokens too.
 *
 * How: a lock file beside the key, holding the owner's host and pid, put in place with link(2)
 * (exactly one creator wins; the file never exists half-written). A lock whose owner is a dead process on
 * this host (a rotation killed midway) is stale and taken over; a live owner, or one on another
 * host sharing the directory (its pid cannot be checked from here), refuses the rotation with a
 * line that says whose lock it is and where it lives, so the operator can remove it by hand if
 * that rotation is known to be gone.
 */
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { KeyConfigError } from './keys.ts';

/** The lock's text: `host pid`. */
function ownerLine(): string {
  return `${hostname()} ${process.pid}\n`;
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Create the lock file at `path` with its owner line already in it, or return the owner line of
 * the lock that is there. The line is written to a file of our own first and hard-linked into
 * place (link fails with EEXIST when the lock exists), so a lock is never seen half-written.
 */
function tryCreate(path: string): string | null {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, ownerLine());
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
    return null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    // Removed by its owner between our two calls: free now.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return tryCreate(path);
    throw error;
  }
}

/**
 * Run `work` holding the lock at `path`; the lock is removed afterwards, whatever `work` did.
 * Throws KeyConfigError (one line for the operator) when another live rotation holds it.
 */
export function withRotationLock<T>(path: string, work: () => T): T {
  let owner = tryCreate(path);
  if (owner !== null) {
    const [host, pidText] = owner.split(' ');
    const pid = Number(pidText);
    const readable = host !== undefined && host !== '' && Number.isInteger(pid) && pid > 0;
    if (!readable || host !== hostname() || processAlive(pid)) {
      const who = !readable ? `a lock file of unknown owner, ${JSON.stringify(owner.slice(0, 60))}, is at ${path}` : `process ${pid}${host === hostname() ? '' : ` on host ${host}`} holds ${path}`;
      throw new KeyConfigError(`another rotation of this key is running (${who}); try again when it has finished, or remove that file if it is known to be gone`);
    }
    // Two rotations started together after a crashed one could both find it stale and both take
    // over (the second removing the first's new lock): a window of microseconds, after a crash,
    // that nothing short of a kernel lock closes (node:fs has no flock).
    removeIfThere(path);
    owner = tryCreate(path);
    // Another rotation took over the same stale lock first: it is running now.
    if (owner !== null) throw new KeyConfigError(`another rotation of this key is running (${owner} holds ${path}); try again when it has finished`);
  }
  try {
    return work();
  } finally {
    removeIfThere(path);
  }
}

function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
