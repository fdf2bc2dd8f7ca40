/**
 * A whole bench run, in the order a careful person would do it by hand: check the inputs (names,
 * targets, ports, tools) before starting anything; create the benchmark user; start every
 * configuration side by side; try each scenario once on each (one request, must be 2xx); then
 * rounds of measured windows in a rotated order; stop everything; summarise and write reports.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { authSession, createBenchUser, LoginRouteMissing, type Credentials } from './auth.ts';
import { CONFIGURATIONS, configurationNamed, type Configuration } from './configurations.ts';
import { CPU_COUNT, ownProcessGroup, sampleGroups } from './cpu.ts';
import { checkGoals } from './goals.ts';
import { probe, probeFailure } from './http-probe.ts';
import { missingRequirement, startConfiguration, stopConfiguration, StartError, type RunningConfiguration } from './launcher.ts';
import { autocannonLoader } from './loaders/autocannon.ts';
import type { Loader, LoadPlan } from './loaders/load-plan.ts';
import { wrkLoader } from './loaders/wrk.ts';
import { measure, warmUp, type MeasureContext } from './measure.ts';
import type { BenchOptions } from './options.ts';
import type { Participant } from './participants.ts';
import { PortAllocator } from './ports.ts';
import { Progress } from './progress.ts';
import { htmlReport } from './report/html.ts';
import { markdownReport } from './report/markdown.ts';
import { ms, rate, us } from './report/format.ts';
import { summarise, type Applicability, type BenchResults, type ConfigurationInfo, type RunRecord } from './results.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { rotated } from './stats.ts';

/** Bad input found before anything was started (unreachable target, port in use, missing tool). */
export class BenchInputError extends Error {}

/** The configurations a quick run uses when --configurations is not given (those that exist). */
export const QUICK_CONFIGS = ['dev', 'stack-uws', 'app-uws-N', 'bare-uws'];

/** What a finished run hands back. */
export interface BenchOutcome {
  results: BenchResults;
  files: { json: string; markdown: string; html: string };
  /** Configurations that failed to start (the run went on without them). */
  startFailures: string[];
  invalid: boolean;
}

function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

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

function describeRun(r: RunRecord): string {
  const bad = r.invalid ? `  INVALID: ${r.errors} errors, ${r.non2xx} non-2xx` : '';
  const cpu = Number.isFinite(r.cpuUsPerRequest) ? `  ${r.serverCpuEstimated ? '≈' : ''}${us(r.cpuUsPerRequest)} µs CPU/req` : '';
  return `${rate(r.rps).padStart(7)} req/s  p50 ${ms(r.latencyMs.p50)} ms  p99 ${ms(r.latencyMs.p99)} ms${cpu}${r.contaminated ? '  (disturbed)' : ''}${bad}`;
}

/** Run the bench as `options` say. `root` is the project folder. */
export async function runBench(options: BenchOptions, root: string, argv: readonly string[], signal: AbortSignal): Promise<BenchOutcome> {
  const startedAt = new Date();
  const progress = new Progress();
  const log = (text: string) => progress.line(text);

  // 1. Inputs, before anything starts.
  const loader: Loader = options.loader === 'wrk' ? wrkLoader : autocannonLoader;
  if (options.loader === 'wrk' && !hasProgram('wrk')) throw new BenchInputError('--loader wrk: wrk is not installed (Debian: apt-get install wrk)');
  const wanted = options.configs ?? (options.quick ? QUICK_CONFIGS : CONFIGURATIONS.map((c) => c.name));
  const unavailable: { name: string; reason: string }[] = [];
  const chosen: Configuration[] = [];
  for (const name of wanted) {
    const config = configurationNamed(name)!;
    const missing = missingRequirement(config, root, hasProgram);
    if (missing) {
      unavailable.push({ name, reason: missing });
      log(`${options.configs ? 'WARNING: ' : ''}configuration ${name} not run: ${missing}`);
    } else chosen.push(config);
  }
  if (chosen.length === 0 && options.targets.length === 0) {
    throw new BenchInputError(`none of the configurations can run (${unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ')})`);
  }
  for (const t of options.targets) {
    const path = options.targetPaths.ping ?? '/api/ping/';
    try {
      await probe(t.baseUrl + path, { timeoutMs: 5000 });
    } catch (error) {
      throw new BenchInputError(`--target ${t.name}: ${t.baseUrl} is unreachable (${probeFailure(error)}); start it first`);
    }
  }
  const scenarios: Scenario[] = SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const baseline = options.baseline ?? (chosen.some((c) => c.name === 'dev') ? 'dev' : (chosen[0]?.name ?? options.targets[0]!.name));
  const ports = new PortAllocator(options.portBase);
  const portsOf = new Map<string, Record<string, number>>();
  for (const config of chosen) {
    const p: Record<string, number> = {};
    for (const role of config.portRoles) p[role] = await ports.take(`${config.name} (${role})`);
    portsOf.set(config.name, p);
  }

  // 2. A private data folder, signing key and user shared by every started configuration.
  const runRoot = mkdtempSync(join(tmpdir(), 'bench-run-'));
  const dataDir = join(runRoot, 'data');
  mkdirSync(dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, SIGNING_KEY: randomBytes(32).toString('hex') };
  const wantsAuth = scenarios.some((s) => s.needs === 'auth');
  let credentials: Credentials | undefined;
  let noUserReason = 'no auth scenario selected';
  if (wantsAuth && chosen.some((c) => c.capabilities.includes('auth'))) {
    try {
      credentials = await createBenchUser(root, dataDir, env);
    } catch (error) {
      noUserReason = `cannot create the benchmark user: ${(error as Error).message}`;
      log(`auth scenarios skipped on the started configurations: ${noUserReason}`);
    }
  }

  const running: RunningConfiguration[] = [];
  const participants: Participant[] = [];
  const startFailures: string[] = [];
  const infos: ConfigurationInfo[] = [];
  try {
    // 3. Start everything side by side.
    for (const config of chosen) {
      log(`starting ${config.name}: ${config.title}`);
      try {
        const r = await startConfiguration(
          config,
          { root, runDir: join(runRoot, config.name), ports: portsOf.get(config.name)!, workers: options.workers, staticRoot: resolve(root, 'app/static') },
          env,
        );
        running.push(r);
        participants.push({
          name: config.name,
          title: config.title,
          kind: config.kind,
          baseUrl: r.baseUrl,
          capabilities: config.capabilities,
          running: r,
          session: credentials ? authSession(r.baseUrl, credentials) : undefined,
          noSessionReason: noUserReason,
          paths: {},
        });
      } catch (error) {
        if (!(error instanceof StartError)) throw error;
        startFailures.push(config.name);
        unavailable.push({ name: config.name, reason: `failed to start: ${error.message.split('\n')[0]}` });
        log(`FAILED to start ${error.message}`);
      }
      if (signal.aborted) throw new Error('interrupted');
    }
    for (const t of options.targets) {
      participants.push({
        name: t.name,
        title: `external target ${t.baseUrl}`,
        kind: 'target',
        baseUrl: t.baseUrl,
        capabilities: ['ping', 'app', 'auth', 'static'],
        running: undefined,
        session: options.user !== undefined ? authSession(t.baseUrl, { username: options.user, password: options.password! }, options.targetPaths.login) : undefined,
        noSessionReason: 'no --user/--password given for external targets',
        paths: options.targetPaths,
      });
    }
    for (const p of participants) {
      const idleRss: ConfigurationInfo['idleRss'] = [];
      if (p.running) {
        const samples = sampleGroups(p.running.layers.map((l) => l.pgid));
        for (const l of p.running.layers) {
          for (const [pid, bytes] of Object.entries(samples.get(l.pgid)?.members ?? {})) idleRss.push({ layer: l.layer, pid: Number(pid), bytes });
        }
      }
      infos.push({
        name: p.name,
        title: p.title,
        kind: p.kind,
        baseUrl: p.baseUrl,
        commands: p.running?.layers.map((l) => ({ layer: l.layer, argv: l.argv.map((a) => (a === process.execPath ? 'node' : a)) })) ?? [],
        idleRss,
      });
    }

    // 4. One request of each scenario on each participant before any load.
    const applicability: Applicability[] = [];
    for (const scenario of scenarios) {
      for (const p of participants) {
        const path = p.paths[scenario.name] ?? scenario.path;
        const entry: Applicability = { config: p.name, scenario: scenario.name, status: 'measured', reason: '', path };
        applicability.push(entry);
        if (!p.capabilities.includes(scenario.needs)) {
          entry.status = 'skipped';
          entry.reason = `not served here (it serves only: ${p.capabilities.join(', ')})`;
          continue;
        }
        if (scenario.needs === 'auth' && p.session === undefined) {
          entry.status = 'skipped';
          entry.reason = p.noSessionReason;
          continue;
        }
        try {
          const req = await scenario.request(path, p.session, 1);
          const body = req.chain ? req.chain.before + req.chain.tokens[0] + req.chain.after : req.body;
          const res = await probe(p.baseUrl + req.path, { method: req.method, headers: req.headers, body, timeoutMs: 10_000 });
          if (res.status < 200 || res.status >= 300) {
            throw new Error(`${req.method} ${req.path} answered ${res.status}: ${res.body.slice(0, 160).replace(/\s+/g, ' ')}`);
          }
        } catch (error) {
          // An external target may simply not have the route: skip it. Our own configurations
          // declare what they serve, so a failure there is a bug to report loudly.
          entry.status = p.running && !(error instanceof LoginRouteMissing) ? 'failed' : 'skipped';
          entry.reason = error instanceof LoginRouteMissing ? error.message : `check request failed: ${probeFailure(error)}`;
          log(`${entry.status === 'failed' ? 'FAILED' : 'skipped'}: ${scenario.name} × ${p.name}: ${entry.reason}`);
        }
      }
    }

    // 5. Rounds.
    const ourGroups = new Set<number>([ownProcessGroup(), ...running.flatMap((r) => r.layers.map((l) => l.pgid))]);
    const ctx: MeasureContext = {
      loader,
      quiet: { maxBusyPercent: options.quietMaxPercent, windowMs: options.quietWindowMs, maxWaitMs: options.quietWaitSeconds * 1000 },
      retries: options.retries,
      foreignMaxPercent: options.foreignMaxPercent,
      ourGroups,
      signal,
      log,
    };
    const runs: RunRecord[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of scenarios) {
        const here = participants.filter((p) => applicability.some((a) => a.config === p.name && a.scenario === scenario.name && a.status === 'measured'));
        for (const p of rotated(here, round)) {
          if (signal.aborted) throw new Error('interrupted');
          const connections = scenario.connections(options);
          const plan = async (seconds: number): Promise<LoadPlan> => {
            const req = await scenario.request(p.paths[scenario.name] ?? scenario.path, p.session, connections);
            return { url: p.baseUrl + req.path, method: req.method, headers: req.headers, body: req.body, chain: req.chain, connections, pipelining: options.pipelining, durationSeconds: seconds };
          };
          const label = `[round ${round + 1}/${options.rounds}] ${scenario.name} × ${p.name}`;
          if (round === 0 && options.warmupSeconds > 0) {
            await warmUp(ctx, await plan(options.warmupSeconds), (t, n) => progress.update(`${label} warm-up`, t, options.warmupSeconds, n));
          }
          const record = await measure(ctx, p, scenario.name, round, () => plan(options.durationSeconds), (t, n) => progress.update(label, t, options.durationSeconds, n));
          runs.push(record);
          log(`${label.padEnd(44)} ${describeRun(record)}`);
        }
      }
    }

    // 6. Results.
    const finishedAt = new Date();
    const partial: Omit<BenchResults, 'goals'> = {
      meta: {
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        command: `npm run bench --${argv.length ? ' ' + argv.join(' ') : ''}`,
        loader: loader.name,
        connections: options.connections,
        loginConnections: options.loginConnections,
        pipelining: options.pipelining,
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
        rounds: options.rounds,
        workers: options.workers,
        baseline,
        cpuCount: CPU_COUNT,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        versions: {
          node: process.version,
          kernel: release(),
          autocannon: packageVersion(root, 'autocannon'),
          'uWebSockets.js': packageVersion(root, 'uWebSockets.js'),
          wrk: hasProgram('wrk') ? firstLine('wrk', ['-v']) : 'not installed',
          nginx: hasProgram('nginx') ? firstLine('nginx', ['-v']) : 'not installed',
        },
        notes: [
          ...(options.loader === 'autocannon' ? ['autocannon runs inside the bench process and needs about a core for itself on this machine: req/s of fast servers measure autocannon too; compare µs CPU/req, or use --loader wrk.'] : []),
          ...(options.quick ? ['--quick: one short round, a first look only; do not quote these numbers.'] : []),
          ...(runs.some((r) => r.notQuiet) ? ['Some runs started before the box was quiet (see notQuiet in the JSON).'] : []),
        ],
      },
      configurations: infos,
      unavailable,
      scenarios: scenarios.map((s) => ({ name: s.name, title: s.title })),
      applicability,
      runs,
      summaries: summarise(runs, options.rounds, baseline),
    };
    const results: BenchResults = { ...partial, goals: checkGoals(partial, runs) };
    const outDir = resolve(root, options.outDir);
    mkdirSync(outDir, { recursive: true });
    const base = join(outDir, `bench-${stamp(startedAt)}`);
    const files = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
    writeFileSync(files.json, JSON.stringify(results, null, 1));
    writeFileSync(files.markdown, markdownReport(results));
    writeFileSync(files.html, htmlReport(results));
    const invalid = results.summaries.some((s) => s.invalid) || applicability.some((a) => a.status === 'failed');
    return { results, files, startFailures, invalid };
  } finally {
    await Promise.all(running.map((r) => stopConfiguration(r)));
    rmSync(runRoot, { recursive: true, force: true });
  }
}
