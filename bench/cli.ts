/**
 * `npm run bench -- [options]`: parse the command line, run the bench, print the tables, say
 * where the reports went. Exit codes: 0 all valid; 1 a run had errors or non-2xx responses, or a
 * configuration failed to start; 2 bad input (unknown option or name, unreachable target, port
 * in use, missing tool); 130 interrupted. Never a stack trace for a mistake of the caller's.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionsOrExit } from '../options/index.ts';
import { BENCH_COMMAND, parseOptions } from './options.ts';
import { PortInUseError } from './ports.ts';
import { markdownReport, scenarioTables } from './report/markdown.ts';
import { updateResultsFile } from './report/results-file.ts';
import { BenchInputError, Interrupted, runBench } from './run.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);

const { checked: options } = optionsOrExit(BENCH_COMMAND, argv, process.env, () => parseOptions(argv, process.env));

const controller = new AbortController();
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, stopping the configurations…\n`);
    controller.abort();
  });
}

try {
  const outcome = await runBench(options, root, argv, controller.signal);
  const r = outcome.results;
  process.stdout.write(`\n${scenarioTables(r).join('\n')}\n`);
  const goals = r.goals.filter((g) => g.status !== 'not measured');
  if (goals.length) {
    process.stdout.write('Goals measured in this run:\n');
    for (const g of goals) process.stdout.write(`  [${g.status.toUpperCase()}] ${g.goal}: ${g.measured}${g.note ? ` (${g.note})` : ''}\n`);
    process.stdout.write('\n');
  }
  for (const note of r.meta.notes) process.stdout.write(`Note: ${note}\n`);
  if (r.conclusion.length) {
    process.stdout.write(`\nProduction (front + ${r.meta.workers} app server workers) vs development (the dev server) on this machine, loader ${r.meta.loader}:\n`);
    for (const line of r.conclusion) process.stdout.write(`  [${line.verdict === 'better' ? 'production better' : line.verdict === 'worse' ? 'production WORSE' : line.verdict}] ${line.text}.\n`);
    process.stdout.write('\n');
  }
  for (const f of Object.values(outcome.files)) {
    const shown = relative(process.cwd(), f);
    process.stdout.write(`wrote ${shown.startsWith('..') ? f : shown}\n`);
  }
  if (options.updateResults) {
    updateResultsFile(`${root}bench/RESULTS.md`, markdownReport(r));
    process.stdout.write('wrote this run into bench/RESULTS.md\n');
  }
  if (outcome.invalid) {
    process.stderr.write('\nbench: INVALID RESULTS: some runs had errors or non-2xx responses, or a scenario failed its check request (see above and the report).\n');
  }
  for (const f of outcome.startFailures) process.stderr.write(`bench: configuration ${f.name} failed to start: ${f.reason}\n`);
  process.exit(outcome.invalid || outcome.startFailures.length ? 1 : 0);
} catch (error) {
  if (interrupted || error instanceof Interrupted) {
    process.stderr.write('bench: interrupted; every configuration was stopped.\n');
    process.exit(130);
  }
  if (error instanceof BenchInputError || error instanceof PortInUseError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
