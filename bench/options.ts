/**
 * The bench's command line: parsing and validation only. Every mistake becomes a UsageError with
 * a message that says what was wrong; the CLI prints it with the usage and exits 2.
 */
import { cpus } from 'node:os';
import { CONFIGURATIONS } from './configurations.ts';
import { FAULT_SCENARIOS } from './faults/scenarios.ts';
import { SCENARIOS } from './scenarios.ts';

/** Every scenario name: the throughput scenarios, then the fault scenarios. */
export const SCENARIO_NAMES: readonly string[] = [...SCENARIOS.map((s) => s.name), ...FAULT_SCENARIOS.map((s) => s.name)];

/** What a quick run measures when --scenario is not given: a short version of every scenario but the JWT-heavy ones. */
export const QUICK_SCENARIOS: readonly string[] = ['ping', 'hello', 'static-1k', 'static-100k', 'static-1m', 'cpu', ...FAULT_SCENARIOS.map((s) => s.name)];

/** A command-line mistake. */
export class UsageError extends Error {}

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
  help: boolean;
}

/** The usage text (--help). */
export const USAGE = `Usage: npm run bench -- [options]

Starts each configuration, runs each scenario against it side by side for --rounds rounds
(order rotated per round), stops everything, and writes JSON + Markdown + HTML to --out.

Options:
  --config a,b,c        configurations (default: every one whose parts exist). Known:
                        ${CONFIGURATIONS.map((c) => c.name).join(', ')}
  --scenario a,b        scenarios (default: all). Throughput:
                        ${SCENARIOS.map((s) => s.name).join(', ')}
                        faults (on dev, stack-uws, app-uws-N):
                        ${FAULT_SCENARIOS.map((s) => s.name).join(', ')}
  --target NAME=URL     also measure an external base URL (repeatable), e.g.
                        --target django=http://127.0.0.1:8100
  --target-path S=/p    where an external target serves scenario S (repeatable), e.g.
                        --target-path static-100k=/static/lib-100k.js
  --user U --password P credentials for auth scenarios on external targets
  --baseline NAME       configuration the ratios are taken against (default: dev, else the first)
  --loader L            auto (default: wrk when installed, else autocannon), wrk, or
                        autocannon (in-process, heavier)
  -c, --connections N   connections (default 64)
  --login-connections N connections for the login scenario (default 4: hashing is CPU-bound)
  -d, --duration S      measured seconds per run (default 10)
  --warmup S            warm-up seconds before the first measured run of each pair (default 2)
  -p, --pipelining N    pipelined requests per connection (default 1; autocannon only)
  --rounds N            rounds (default 3)
  --workers N           workers of the "-N" configurations (default: ${cpus().length}, the cores)
  --quick               the whole story in about a minute: 1 round of 1 s per throughput
                        scenario, 4 s per fault scenario, on dev, stack-uws, app-uws-1 and
                        nginx-proxy, ending with a plain-language conclusion
  --out DIR             where results go (default bench/results)
  --port-base N         use ports N, N+1, … (default: free ports chosen by the system)
  --quiet-max PCT       the box counts as quiet under PCT % busy (default 12)
  --quiet-wait S        wait at most S seconds for a quiet box, then measure anyway (default 60)
  --retries N           redo a run disturbed by other processes up to N times (default 2)
  --update-results      also write this run's report into bench/RESULTS.md (between its
                        BENCH:BEGIN / BENCH:END markers; the prose around them is kept)
  -h, --help            this text
`;

function positiveInt(flag: string, value: string, min = 1): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, not ${JSON.stringify(value)}`);
  return n;
}

function seconds(flag: string, value: string, min: number): number {
  const m = /^(\d+(?:\.\d+)?)s?$/.exec(value);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number of seconds ≥ ${min}, not ${JSON.stringify(value)}`);
  return n;
}

function list(flag: string, value: string, known: readonly string[]): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`${flag} needs at least one name`);
  return names.map((name) => {
    if (!known.includes(name)) throw new UsageError(`unknown ${flag.replace(/^--/, '')} ${JSON.stringify(name)}; known: ${known.join(', ')}`);
    return name;
  });
}

function target(value: string, taken: Set<string>): ExternalTarget {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`--target needs NAME=URL, not ${JSON.stringify(value)}`);
  const name = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new UsageError(`--target name ${JSON.stringify(name)}: use letters, digits, - and _`);
  if (taken.has(name)) throw new UsageError(`--target name ${JSON.stringify(name)} is already a configuration or target name`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--target ${name}: ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`--target ${name}: only http:// URLs can be measured, not ${url.protocol}`);
  if (url.search || url.hash) throw new UsageError(`--target ${name}: give a base URL without query or fragment`);
  taken.add(name);
  return { name, baseUrl: url.origin + url.pathname.replace(/\/+$/, '') };
}

/** Parse argv (without node and the script). Throws UsageError on any mistake. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = {
    configs: undefined,
    scenarios: [...SCENARIO_NAMES],
    targets: [],
    targetPaths: {},
    user: undefined,
    password: undefined,
    baseline: undefined,
    loader: 'auto',
    connections: 64,
    loginConnections: 4,
    durationSeconds: 10,
    warmupSeconds: 2,
    pipelining: 1,
    rounds: 3,
    workers: cpus().length,
    quick: false,
    outDir: 'bench/results',
    portBase: undefined,
    quietMaxPercent: 12,
    quietWindowMs: 1000,
    quietWaitSeconds: 60,
    retries: 2,
    foreignMaxPercent: 15,
    updateResults: false,
    help: false,
  };
  const set = new Set<string>();
  const names = new Set(CONFIGURATIONS.map((c) => c.name));
  let i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined || (v.startsWith('-') && v.length > 1 && !/^-\d/.test(v))) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const v = (flag: string) => (inline !== undefined ? inline : value(flag));
    set.add(arg);
    switch (arg) {
      case '--config': case '--configs': o.configs = list('--config', v(arg), CONFIGURATIONS.map((c) => c.name)); break;
      case '--scenario': case '--scenarios': o.scenarios = list('--scenario', v(arg), SCENARIO_NAMES); break;
      case '--target': o.targets.push(target(v(arg), names)); break;
      case '--target-path': {
        const spec = v(arg);
        const at = spec.indexOf('=');
        const scenario = spec.slice(0, at);
        if (at <= 0 || !spec.slice(at + 1).startsWith('/')) throw new UsageError(`--target-path needs SCENARIO=/path, not ${JSON.stringify(spec)}`);
        list('--scenario', scenario, SCENARIOS.map((s) => s.name));
        o.targetPaths[scenario] = spec.slice(at + 1);
        break;
      }
      case '--user': o.user = v(arg); break;
      case '--password': o.password = v(arg); break;
      case '--baseline': o.baseline = v(arg); break;
      case '--loader': {
        const l = v(arg);
        if (l !== 'auto' && l !== 'autocannon' && l !== 'wrk') throw new UsageError(`--loader must be auto, autocannon or wrk, not ${JSON.stringify(l)}`);
        o.loader = l;
        break;
      }
      case '-c': case '--connections': o.connections = positiveInt('--connections', v(arg)); break;
      case '--login-connections': o.loginConnections = positiveInt('--login-connections', v(arg)); break;
      case '-d': case '--duration': o.durationSeconds = seconds('--duration', v(arg), 1); break;
      case '--warmup': o.warmupSeconds = seconds('--warmup', v(arg), 0); break;
      case '-p': case '--pipelining': o.pipelining = positiveInt('--pipelining', v(arg)); break;
      case '--rounds': o.rounds = positiveInt('--rounds', v(arg)); break;
      case '--workers': o.workers = positiveInt('--workers', v(arg)); break;
      case '--quick': o.quick = true; break;
      case '--out': o.outDir = v(arg); break;
      case '--port-base': o.portBase = positiveInt('--port-base', v(arg), 1024); break;
      case '--quiet-max': o.quietMaxPercent = seconds('--quiet-max', v(arg), 1); break;
      case '--quiet-wait': o.quietWaitSeconds = seconds('--quiet-wait', v(arg), 0); break;
      case '--retries': o.retries = positiveInt('--retries', v(arg), 0); break;
      case '--update-results': o.updateResults = true; break;
      case '-h': case '--help': o.help = true; break;
      default:
        throw new UsageError(arg.startsWith('-') ? `unknown option ${JSON.stringify(arg)}` : `unexpected argument ${JSON.stringify(arg)}`);
    }
    if (inline !== undefined && ['--quick', '--help', '--update-results'].includes(arg)) throw new UsageError(`${arg} takes no value`);
  }
  if (o.quick) {
    // Explicit options win over the quick defaults.
    if (!set.has('--rounds')) o.rounds = 1;
    if (!set.has('-d') && !set.has('--duration')) o.durationSeconds = 1;
    if (!set.has('--warmup')) o.warmupSeconds = 0.3;
    if (!set.has('--scenario') && !set.has('--scenarios')) o.scenarios = [...QUICK_SCENARIOS];
    if (!set.has('--quiet-wait')) o.quietWaitSeconds = 0.5;
    if (!set.has('--retries')) o.retries = 0;
    o.quietWindowMs = 200;
  }
  if (o.portBase !== undefined && o.portBase + 64 > 65535) throw new UsageError('--port-base leaves no room for the ports the bench needs');
  if ((o.user === undefined) !== (o.password === undefined)) throw new UsageError('--user and --password go together');
  if (o.pipelining > 1 && o.loader === 'wrk') throw new UsageError('--pipelining > 1 needs --loader autocannon (wrk pipelines only through per-request Lua)');
  if (o.loginConnections > o.connections) o.loginConnections = o.connections;
  const allNames = [...(o.configs ?? CONFIGURATIONS.map((c) => c.name)), ...o.targets.map((t) => t.name)];
  if (o.baseline !== undefined && !allNames.includes(o.baseline)) {
    throw new UsageError(`--baseline ${JSON.stringify(o.baseline)} is not among the configurations of this run (${allNames.join(', ')})`);
  }
  return o;
}
