/**
 * Step 2: what every configuration shares, made before any of them starts: the compiled
 * JavaScript (the production configurations run what `npm start` runs), a private data folder
 * with its signing key, and the benchmark user.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_ARGV } from '../../server/launch.ts';
import { createBenchUser, type Credentials } from '../auth.ts';
import type { Configuration } from '../configurations.ts';
import type { Scenario } from '../scenarios.ts';

/** A configuration that could not be prepared for (the build failed): the run goes on without it. */
export class PrepareError extends Error {}

/** The shared state of a run. */
export interface Prepared {
  runRoot: string;
  env: NodeJS.ProcessEnv;
  credentials: Credentials | undefined;
  /** Why there is no user (auth scenarios are skipped then). */
  noUserReason: string;
}

/** `npm run build` (tsc into dist/), once, when a chosen configuration runs compiled. */
export function buildIfNeeded(chosen: readonly Configuration[], root: string): string | undefined {
  if (!chosen.some((c) => c.compiled)) return undefined;
  const r = spawnSync(process.execPath, [...BUILD_ARGV], { cwd: root, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return `npm run build failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(0, 3).join(' | ')}`;
}

/** Make the run's folder, environment and user. */
export async function prepareRun(chosen: readonly Configuration[], scenarios: readonly Scenario[], root: string, log: (text: string) => void): Promise<Prepared> {
  const runRoot = mkdtempSync(join(tmpdir(), 'bench-run-'));
  const dataDir = join(runRoot, 'data');
  mkdirSync(dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, SIGNING_KEY: randomBytes(32).toString('hex') };
  let credentials: Credentials | undefined;
  let noUserReason = 'no auth scenario selected';
  if (scenarios.some((s) => s.needs === 'auth') && chosen.some((c) => c.capabilities.includes('auth'))) {
    try {
      credentials = await createBenchUser(root, dataDir, env);
    } catch (error) {
      noUserReason = `cannot create the benchmark user: ${(error as Error).message}`;
      log(`auth scenarios skipped on the started configurations: ${noUserReason}`);
    }
  }
  return { runRoot, env, credentials, noUserReason };
}
