/**
 * The bench's command line, declared with the option system (options/) like every command:
 * parsing, `--help`, and a ConfigError naming the option and the accepted form for every
 * mistake. `--quick` changes the defaults of the options not given explicitly.
 */
import { type Command, ConfigError, duration, integer, list, oneOf, parseCommandLine, boolean, resolveOptions, text } from '../options/index.ts';
import { WORKERS_OPTION } from '../server/options.ts';
import { CONFIGURATIONS } from './configurations.ts';
import { FAULT_SCENARIOS } from './faults/scenarios.ts';
import { SCENARIOS } from './scenarios.ts';

/** An external base URL to measure with the same scenarios (--target name=URL). */
export interface ExternalTarget {
  name: string;
  baseUrl: string;
}

/** Everything a bench run is told. */
export interface BenchOptions {
  configs: string[] | undefined;
  scenarios: string[];
  targets: ExternalTarget[];
  /** Paths of scenarios on external targets that serve them elsewhere. */
  targetPaths: Record<string, string>;
  user: string | undefined;
  password: string | undefined;
  baseline: string | undefined;
  loader: 'auto' | 'autocannon' | 'wrk';
  connections: number;
  loginConnections: number;
  durationSeconds: number;
  warmupSeconds: number;
  pipelining: number;
  rounds: number;
  workers: number;
  quick: boolean;
  outDir: string;
  portBase: number | undefined;
  quietMaxPercent: number;
  quietWindowMs: number;
  quietWaitSeconds: number;
  /** Redo a run this many times when other processes used the box meanwhile. */
  retries: number;
  /** Foreign CPU (percent of one core) above which a run counts as contaminated. */
  foreignMaxPercent: number;
  /** Also put this run's report into bench/RESULTS.md between its markers. */
  updateResults: boolean;
}

const CONFIGURATION_NAMES = CONFIGURATIONS.map((c) => c.name);
/** Every scenario name: the throughput scenarios, then the fault scenarios. */
export const SCENARIO_NAMES: readonly string[] = [...SCENARIOS.map((s) => s.name), ...FAULT_SCENARIOS.map((s) => s.name)];

/** What a quick run measures when --scenario is not given: a short version of every scenario but the JWT-heavy ones. */
export const QUICK_SCENARIOS: readonly string[] = ['ping', 'hello', 'static-1k', 'static-100k', 'static-1m', 'cpu', ...FAULT_SCENARIOS.map((s) => s.name)];

const OPTIONS = {
  configurations: list({ choices: CONFIGURATION_NAMES, default: undefined, defaultText: 'every one whose parts exist', help: 'Configurations to measure.' }),
  scenario: list({
    choices: [...SCENARIO_NAMES],
    default: [...SCENARIO_NAMES],
    defaultText: 'all',
    help: `Scenarios to run. Throughput: ${SCENARIOS.map((s) => s.name).join(', ')}. Faults (on dev, stack-net, app-net-N): ${FAULT_SCENARIOS.map((s) => s.name).join(', ')}.`,
  }),
  target: list({ metavar: 'NAME=URL', default: [], help: 'Also measure an external base URL (repeatable), e.g. django=http://127.0.0.1:8100.' }),
  targetPath: list({ metavar: 'SCENARIO=/path', default: [], help: 'Where an external target serves a scenario (repeatable), e.g. static-100k=/static/lib-100k.js.' }),
  user: text({ metavar: 'NAME', default: undefined, help: 'User for the auth scenarios on external targets (with --password).' }),
  password: text({ default: undefined, help: 'Password for the auth scenarios on external targets (with --user).' }),
  baseline: text({ metavar: 'NAME', default: undefined, defaultText: 'dev, else the first', help: 'Configuration the ratios are taken against.' }),
  loader: oneOf(['auto', 'autocannon', 'wrk'], { default: 'auto', help: 'Load generator: auto (wrk when installed, else autocannon), wrk (light), or autocannon (in-process, heavier).' }),
  connections: integer({ min: 1, default: 64, help: 'Concurrent connections.' }),
  loginConnections: integer({ min: 1, default: 4, help: 'Connections of the login scenario (hashing is CPU-bound).' }),
  duration: duration({ short: 'd', min: 1000, default: 10_000, help: 'Measured time of each run.' }),
  warmup: duration({ default: 2_000, help: 'Warm-up before the first measured run of each pair.' }),
  pipelining: integer({ short: 'p', min: 1, default: 1, help: 'Pipelined requests per connection (autocannon only).' }),
  rounds: integer({ min: 1, default: 3, help: 'Rounds (the order of configurations rotates per round).' }),
  workers: { ...WORKERS_OPTION, help: 'Workers of the "-N" configurations.' },
  quick: boolean({
    default: false,
    help: 'The whole story in about a minute: 1 round of 1 s per throughput scenario and 3.5 s per fault scenario (slow clients 6 s, crash 7 s, deploy 7.5 s) on dev, stack-net, app-net-1 and nginx-proxy, ending with a plain-language conclusion (explicit options still win).',
  }),
  out: text({ metavar: 'DIR', env: [], default: 'bench/results', help: 'Where the JSON, Markdown and HTML reports go.' }),
  portBase: integer({ min: 1024, max: 65535 - 64, default: undefined, defaultText: 'free ports chosen by the system', help: 'Use ports N, N+1, ….' }),
  quietMax: integer({ min: 1, max: 100, default: 12, help: 'The box counts as quiet under this percentage of busy CPU.' }),
  quietWait: duration({ default: 60_000, help: 'Wait at most this long for a quiet box, then measure anyway.' }),
  retries: integer({ default: 2, help: 'Redo a run disturbed by other processes up to N times.' }),
  updateResults: boolean({ default: false, help: 'Also write this run\'s report into bench/RESULTS.md (between its BENCH:BEGIN / BENCH:END markers; the prose around them is kept).' }),
};

export const BENCH_COMMAND: Command<typeof OPTIONS> = {
  name: 'npm run bench',
  summary:
    'Starts each configuration, runs each scenario against it side by side for --rounds rounds (order rotated per round), stops everything, and writes JSON + Markdown + HTML to --out. ' +
    `Configurations: ${CONFIGURATION_NAMES.join(', ')}. Scenarios: ${SCENARIO_NAMES.join(', ')}. Ends with production vs development in plain words.`,
  options: OPTIONS,
};

function target(value: string, taken: Set<string>): ExternalTarget {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new ConfigError('--target', 'NAME=URL, e.g. django=http://127.0.0.1:8100', value);
  const name = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new ConfigError('--target', 'a NAME of letters, digits, - and _', value);
  if (taken.has(name)) throw new ConfigError('--target', `a NAME that is not already a configuration or target name (${name})`, value);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('--target', 'NAME=URL with a URL such as http://127.0.0.1:8100', value);
  }
  if (url.protocol !== 'http:') throw new ConfigError('--target', 'an http:// URL (only those can be measured)', value);
  if (url.search || url.hash) throw new ConfigError('--target', 'a base URL without query or fragment', value);
  taken.add(name);
  return { name, baseUrl: url.origin + url.pathname.replace(/\/+$/, '') };
}

/** Parse argv (without node and the script) and the environment. Throws ConfigError on any mistake. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchOptions {
  const { values: v, sources } = resolveOptions(BENCH_COMMAND, parseCommandLine(BENCH_COMMAND, argv), env);
  const names = new Set(CONFIGURATION_NAMES);
  const targetPaths: Record<string, string> = {};
  for (const spec of v.targetPath) {
    const at = spec.indexOf('=');
    const scenario = spec.slice(0, at);
    if (at <= 0 || !spec.slice(at + 1).startsWith('/') || !SCENARIO_NAMES.includes(scenario)) {
      throw new ConfigError('--target-path', `SCENARIO=/path with a scenario among ${SCENARIO_NAMES.join(', ')}`, spec);
    }
    targetPaths[scenario] = spec.slice(at + 1);
  }
  const o: BenchOptions = {
    configs: v.configurations,
    scenarios: v.scenario,
    targets: v.target.map((t) => target(t, names)),
    targetPaths,
    user: v.user,
    password: v.password,
    baseline: v.baseline,
    loader: v.loader,
    connections: v.connections,
    loginConnections: v.loginConnections,
    durationSeconds: v.duration / 1000,
    warmupSeconds: v.warmup / 1000,
    pipelining: v.pipelining,
    rounds: v.rounds,
    workers: v.workers,
    quick: v.quick,
    outDir: v.out,
    portBase: v.portBase,
    quietMaxPercent: v.quietMax,
    quietWindowMs: 1000,
    quietWaitSeconds: v.quietWait / 1000,
    retries: v.retries,
    foreignMaxPercent: 15,
    updateResults: v.updateResults,
  };
  if (o.quick) {
    // Explicit options win over the quick defaults.
    const given = (key: keyof typeof OPTIONS) => sources[key].kind !== 'default';
    if (!given('rounds')) o.rounds = 1;
    if (!given('duration')) o.durationSeconds = 1;
    if (!given('warmup')) o.warmupSeconds = 0.3;
    if (!given('scenario')) o.scenarios = [...QUICK_SCENARIOS];
    if (!given('quietWait')) o.quietWaitSeconds = 0;
    if (!given('retries')) o.retries = 0;
    o.quietWindowMs = 200;
  }
  if ((o.user === undefined) !== (o.password === undefined)) throw new ConfigError(o.user === undefined ? '--user' : '--password', '--user and --password together');
  if (o.pipelining > 1 && o.loader === 'wrk') throw new ConfigError('--pipelining', '1 with --loader wrk (wrk pipelines only through per-request Lua); use --loader autocannon', String(o.pipelining));
  if (o.loginConnections > o.connections) o.loginConnections = o.connections;
  const allNames = [...(o.configs ?? CONFIGURATION_NAMES), ...o.targets.map((t) => t.name)];
  if (o.baseline !== undefined && !allNames.includes(o.baseline)) {
    throw new ConfigError('--baseline', `one of the configurations of this run (${allNames.join(', ')})`, o.baseline);
  }
  return o;
}
