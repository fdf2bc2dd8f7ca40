/**
 * `npm run build` for tests, once per change of the sources however many test files need dist/:
 * under a lock (test files run in parallel, and a process starting from dist/ while tsc rewrites
 * it could load a half-written file), and skipped when dist/ is newer than every source.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUILD_ARGV, DIST, PROJECT_ROOT } from '../../server/launch.ts';

const SOURCE_DIRS = ['options', 'wire', 'app', 'server', 'proxy', 'stack'];
const STAMP = join(DIST, '.build-stamp');
const LOCK = join(tmpdir(), `layerstack-build-${createHash('sha256').update(PROJECT_ROOT).digest('hex').slice(0, 12)}.lock`);

function newestSource(): number {
  let newest = 0;
  const visit = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) visit(join(PROJECT_ROOT, dir));
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) newest = Math.max(newest, statSync(join(PROJECT_ROOT, file)).mtimeMs);
  return newest;
}

async function lock(): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than any build could take was left by a killed test run.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 240_000) rmdirSync(LOCK);
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`the build lock ${LOCK} was held for 5 minutes`);
      await sleep(200);
    }
  }
}

let built = false;

/** Make dist/ current (tsc -p tsconfig.build.json), unless this process or another already did. */
export async function build(): Promise<void> {
  if (built) return;
  await lock();
  try {
    if (!existsSync(STAMP) || statSync(STAMP).mtimeMs < newestSource()) {
      const started = new Date();
      const result = spawnSync(process.execPath, [...BUILD_ARGV], { encoding: 'utf8', cwd: PROJECT_ROOT });
      if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}${result.stderr}`);
      // Stamped with the start time: a source saved during the build makes the next call build again.
      writeFileSync(STAMP, `${started.toISOString()}\n`);
      utimesSync(STAMP, started, started);
    }
    built = true;
  } finally {
    rmdirSync(LOCK);
  }
}
