/**
 * `npm run bench:idle`: the idle resident memory of every process `npm start` runs, compiled.
 *
 * Builds dist/ once, then starts the stack `--starts` times (default 5) exactly as `npm start`
 * runs it after building: `node dist/stack/cli.js --listen 127.0.0.1:PORT --workers 2` with a
 * fresh data directory, waits until it answers, lets it settle, reads VmRSS of the supervisor,
 * the front, the pool master and each worker from /proc, stops it, and prints the median per role
 * against the 60 MB goal (bench/goals.ts). Linux only (/proc).
 *
 * `--root DIR` (repeatable) measures other checkouts of the project instead, each built the same
 * way, one start of each in turn, so that a before/after comparison (`git worktree add ../before
 * <commit>`) shares the same moment of a busy machine.
 *
 *   npm run bench:idle -- [--starts N] [--workers N] [--settle-ms MS] [--root DIR]...
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../server/launch.ts';
import { freePort } from '../wire/free-port.ts';
import { PROCESS_RSS_LIMIT } from './goals.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:idle: ${name} takes a positive whole number, got ${process.argv[i + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  return value;
}

const starts = flag('--starts', 5);
const workers = flag('--workers', 2);
const settleMs = flag('--settle-ms', 3000);
const roots = process.argv.flatMap((arg, i) => (arg === '--root' && process.argv[i + 1] !== undefined ? [resolve(process.argv[i + 1]!)] : []));
if (roots.length === 0) roots.push(PROJECT_ROOT);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process below `root` (children first found through /proc/PID/stat's parent field). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we listed
    }
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of parentOf) if (ppid === found[i]) found.push(pid);
  return found;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Which process of the stack `pid` is, from its command line. */
function roleOf(pid: number): string {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = argv.find((a) => a.endsWith('.js')) ?? argv.join(' ');
  if (script.endsWith('stack/cli.js')) return 'supervisor';
  if (script.endsWith('proxy/cli.js')) return 'front';
  if (script.endsWith('pool/cli.js')) return 'master';
  if (script.endsWith('pool/worker.js')) return 'worker';
  return script;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const late = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 20_000);
  await exited;
  clearTimeout(late);
}

async function measureOnce(root: string): Promise<Map<string, number[]>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'layerstack-idle-'));
  const port = await freePort();
  // Relative script path and the project root as working directory: what `npm start` runs.
  const child = spawn(process.execPath, ['dist/stack/cli.js', '--listen', `127.0.0.1:${port}`, '--workers', String(workers)], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  const cleanup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', cleanup);
  try {
    const deadline = Date.now() + 120_000;
    while (!(await answers(`http://127.0.0.1:${port}/`))) {
      if (child.exitCode !== null) throw new Error(`the stack exited with ${child.exitCode} before answering`);
      if (Date.now() > deadline) throw new Error('the stack did not answer within 120 s');
      await sleep(200);
    }
    await sleep(settleMs);
    const byRole = new Map<string, number[]>();
    for (const pid of descendants(child.pid!)) {
      const role = roleOf(pid);
      byRole.set(role, [...(byRole.get(role) ?? []), rssOf(pid)]);
    }
    return byRole;
  } finally {
    await stop(child);
    process.off('exit', cleanup);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

const results = new Map<string, Map<string, number[]>>(roots.map((root) => [root, new Map()]));
for (const root of roots) {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
for (let i = 1; i <= starts; i++) {
  for (const root of roots) {
    const once = await measureOnce(root);
    const all = results.get(root)!;
    console.log(`${roots.length > 1 ? `${root}: ` : ''}start ${i}/${starts}: ${[...once].map(([role, values]) => `${role} ${values.map(mb).join('/')}`).join(', ')} MB`);
    for (const [role, values] of once) all.set(role, [...(all.get(role) ?? []), ...values]);
  }
}
let over = false;
for (const [root, all] of results) {
  console.log(`\n${roots.length > 1 ? `${root}: ` : ''}idle RSS, median of ${starts} starts (node dist/stack/cli.js --listen 127.0.0.1:PORT --workers ${workers}, ${settleMs} ms after it first answers):`);
  for (const role of ['supervisor', 'front', 'master', 'worker', ...[...all.keys()].filter((r) => !['supervisor', 'front', 'master', 'worker'].includes(r))]) {
    const values = all.get(role);
    if (!values) continue;
    over ||= Math.max(...values) >= PROCESS_RSS_LIMIT;
    console.log(`  ${role.padEnd(10)} ${mb(median(values)).padStart(6)} MB  (min ${mb(Math.min(...values))}, max ${mb(Math.max(...values))}, ${values.length} samples)`);
  }
}
console.log(over ? `\nsome process reached ${mb(PROCESS_RSS_LIMIT)} MB` : `\nevery process stayed under ${mb(PROCESS_RSS_LIMIT)} MB`);
process.exitCode = over ? 1 : 0;
