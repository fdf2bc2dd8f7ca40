/**
 * Step 7: the run's results (metadata, summaries, goals, conclusion) and the report files
 * (JSON, Markdown, HTML) in --out.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { conclude } from '../conclusion.ts';
import { CPU_COUNT } from '../cpu.ts';
import type { FaultRecord } from '../faults/run-faults.ts';
import { checkGoals } from '../goals.ts';
import type { Loader } from '../loaders/load-plan.ts';
import type { BenchOptions } from '../options.ts';
import { htmlReport } from '../report/html.ts';
import { markdownReport } from '../report/markdown.ts';
import { summarise, type Applicability, type BenchResults, type ConfigurationInfo, type RunRecord, type TimingSample } from '../results.ts';
import type { Scenario } from '../scenarios.ts';
import type { FaultScenario } from '../faults/scenarios.ts';
import { hasProgram } from './inputs.ts';

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[:]/g, '-').replace(/\..*$/, 'Z');
}

/** The notes a reader needs to trust (or distrust) the figures of this run. */
function caveats(options: BenchOptions, loader: Loader, runs: readonly RunRecord[], faults: readonly FaultRecord[]): string[] {
  const notes: string[] = [];
  notes.push(
    `The loader (${loader.name}) runs on the same ${CPU_COUNT} cores as the servers it measures: a fast server's req/s is partly the loader's limit. ` +
      'Server CPU µs per request does not depend on the loader: compare that column when rows are close.',
  );
  const loaderBound = runs.filter((r) => r.loaderCpuPercent >= 85);
  if (loaderBound.length) {
    const pairs = [...new Set(loaderBound.map((r) => `${r.scenario} × ${r.config}`))];
    notes.push(
      `In ${loaderBound.length} window(s) the loader itself used 85% of a core or more (${pairs.slice(0, 8).join(', ')}${pairs.length > 8 ? ', …' : ''}): there the req/s figure is the loader's limit as much as the server's.`,
    );
  }
  if (loader.name === 'autocannon') notes.push('autocannon runs inside the bench process and needs about a core for itself on a small machine; with wrk installed the bench uses it instead.');
  if (options.quick) notes.push('--quick: one short round of each scenario, a first look that tells the direction and the rough size of each difference; run without --quick for figures to quote.');
  if (runs.some((r) => r.notQuiet)) notes.push('Some windows started before the machine was quiet (others were using it); see notQuiet in the JSON.');
  const disturbed = runs.filter((r) => r.contaminated).length + faults.filter((f) => f.foreignCpuPercent > options.foreignMaxPercent).length;
  if (disturbed) {
    notes.push(
      `${disturbed} measured window(s) are marked "disturbed": processes that are not the bench's used more than ${options.foreignMaxPercent}% of a core meanwhile (after ${options.retries} retries), so those figures are partly someone else's load.`,
    );
  }
  return notes;
}

/** Assemble the results of a run. */
export function assembleResults(
  args: {
    options: BenchOptions;
    argv: readonly string[];
    root: string;
    startedAt: Date;
    loader: Loader;
    loaderReason: string;
    baseline: string;
    infos: ConfigurationInfo[];
    unavailable: { name: string; reason: string }[];
    scenarios: readonly Scenario[];
    faultScenarios: readonly FaultScenario[];
    applicability: Applicability[];
    runs: RunRecord[];
    timings: TimingSample[];
    faults: FaultRecord[];
  },
): BenchResults {
  const { options, loader, runs } = args;
  const partial: Omit<BenchResults, 'goals' | 'conclusion'> = {
    meta: {
      startedAt: args.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `npm run bench --${args.argv.length ? ' ' + args.argv.join(' ') : ''}`,
      loader: loader.name,
      loaderReason: args.loaderReason,
      quick: options.quick,
      foreignMaxPercent: options.foreignMaxPercent,
      connections: options.connections,
      loginConnections: options.loginConnections,
      pipelining: options.pipelining,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      rounds: options.rounds,
      workers: options.workers,
      baseline: args.baseline,
      cpuCount: CPU_COUNT,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      versions: {
        node: process.version,
        kernel: release(),
        autocannon: packageVersion(args.root, 'autocannon'),
        'uWebSockets.js': packageVersion(args.root, 'uWebSockets.js'),
        wrk: hasProgram('wrk') ? firstLine('wrk', ['-v']) : 'not installed',
        nginx: hasProgram('nginx') ? firstLine('nginx', ['-v']) : 'not installed',
      },
      notes: caveats(options, loader, runs, args.faults),
    },
    configurations: args.infos,
    unavailable: args.unavailable,
    scenarios: [...args.scenarios.map((s) => ({ name: s.name, title: s.title })), ...args.faultScenarios.map((s) => ({ name: s.name, title: s.title }))],
    applicability: args.applicability,
    runs,
    summaries: summarise(runs, options.rounds, args.baseline),
    faults: args.faults,
    timings: args.timings,
  };
  return { ...partial, goals: checkGoals(partial, runs), conclusion: conclude(partial) };
}

/** Write the JSON, Markdown and HTML reports; returns their paths. */
export function writeReports(results: BenchResults, root: string, outDir: string, startedAt: Date): { json: string; markdown: string; html: string } {
  const dir = resolve(root, outDir);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `bench-${stamp(startedAt)}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
  writeFileSync(files.json, JSON.stringify(results, null, 1));
  writeFileSync(files.markdown, markdownReport(results));
  writeFileSync(files.html, htmlReport(results));
  return files;
}
