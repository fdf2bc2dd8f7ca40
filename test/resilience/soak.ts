/**
 * `npm run soak`: the resilience cases (test/resilience/*.test.ts) with the soak's counts and
 * durations (RESILIENCE_SOAK=1: longer loads, more reloads and kills, 100,000 fuzzed requests per
 * target, 10,000 idle connections, 100,000 requests for the descriptor count), one file at a time
 * so the figures are not shared with another case, then a summary table of every case's figures.
 *
 *   npm run soak                                       every case
 *   npm run soak -- test/resilience/fuzz.test.ts       some files
 *   RESILIENCE_FUZZ_SEED=123 npm run soak -- …         replay a fuzzing run
 *
 * Exit code: the test run's (0 when every case passed).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : readdirSync(join(ROOT, 'test/resilience')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/resilience/${f}`);
const dir = mkdtempSync(join(tmpdir(), 'soak-'));
const report = join(dir, 'figures.jsonl');
const started = new Date();

const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=3600000', '--test-reporter=spec', ...files], {
    cwd: ROOT,
    env: { ...process.env, RESILIENCE_SOAK: '1', RESILIENCE_REPORT: report },
    stdio: 'inherit',
    // Its own process group: a stop reaches every test file's process, whose handlers then kill
    // the stacks they started (test/resilience/harness.ts).
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

let rows: Record<string, unknown>[] = [];
try {
  rows = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
} catch {
  // no case recorded anything
}
rmSync(dir, { recursive: true, force: true });

const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
const lines = [
  '',
  `## Soak summary (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${minutes} min, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version})`,
  '',
  `Command: npm run soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  '',
  '| Case | Engine / target | Figures |',
  '|---|---|---|',
];
for (const row of rows) {
  const { case: name, engine, target, ...figures } = row;
  const text = Object.entries(figures)
    .map(([key, value]) => `${key} ${typeof value === 'string' && value.startsWith('{') ? value.replace(/"/g, '') : String(value)}`)
    .join(', ');
  lines.push(`| ${String(name)} | ${String(target ?? engine ?? '')} | ${text} |`);
}
lines.push('', code === 0 ? 'Every case passed.' : `Some cases FAILED (exit code ${code}); see the output above.`);
console.log(lines.join('\n'));
process.exit(code);
