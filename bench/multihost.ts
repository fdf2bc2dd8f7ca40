/**
 * `npm run bench:multihost`: hello and login throughput through the front with one app host and
 * with two, on one Postgres database (docs/scaling.md). Hosts are Linux network namespaces built
 * by the script (root only): a database host, two app hosts (one worker each) and the front's
 * namespace, where the load runs. Two fronts run side by side, one over app1 alone and one over
 * both; the loads alternate between them and the medians are reported.
 *
 *   npm run bench:multihost -- [--seconds 5] [--connections 20] [--rounds 3] [--workers 1]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTopology, netnsUnavailable } from '../test/fixtures/netns.ts';
import { PoolProcess } from '../test/fixtures/pool.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
  },
});
const SIGNING_KEY = 'bench-signing-key-shared-by-every-host-0123456789';
const PASSWORD = 'bench-password-1234';
const ROOT = new URL('..', import.meta.url).pathname;

const unavailable = netnsUnavailable();
if (unavailable !== null) {
  console.error(`bench:multihost: ${unavailable}`);
  process.exit(2);
}

const cleanups: (() => void | Promise<void>)[] = [];
const cleanup = async () => {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

function collect(child: ChildProcess): { text: () => string; exited: Promise<number | null> } {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { text: () => out, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

async function waitFor(text: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = text().match(pattern);
    if (m !== null) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${text().slice(-1000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const topology = buildTopology((fn) => cleanups.push(fn), ['db', 'app1', 'app2']);
  const { db, app1, app2 } = topology.hosts as Record<string, { ns: string; address: string }>;
  const node = (ns: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = topology.spawnIn(ns, process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Cleanups run in reverse: the database host (started first) stops last, and each child is
    // given time to exit (the database host removes its server's folder on the way out).
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    });
    return child;
  };
  const database = collect(node(db!.ns, ['test/fixtures/postgres-host.ts', db!.address, '10.231.0.0/16']));
  const url = (await waitFor(database.text, /^URL (\S+)$/m, 60_000))[1]!;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-multihost-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATABASE_URL: url, SIGNING_KEY, DATA_DIR: dataDir };
  // One user per login connection: concurrent logins of one user from one address would trip the
  // login throttle (counted before the password check), which is not what this measures.
  const users = Number(values.connections);
  const script = [
    "import { openConfiguredStore } from './app/store/open.ts';",
    "import { hashPassword } from './app/store/passwords.ts';",
    'const store = await openConfiguredStore({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR, env: {} });',
    `const hash = await hashPassword(${JSON.stringify(PASSWORD)});`,
    `for (let i = 0; i < ${users}; i++) await store.users.create('bench' + i, hash);`,
    "await store.close(); console.log('users created');",
  ].join('\n');
  const created = collect(topology.spawnIn(app1!.ns, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env }));
  await waitFor(created.text, /users created/, 60_000);

  for (const host of [app1!, app2!]) {
    await PoolProcess.start({ after: (stop) => void cleanups.push(async () => void (await stop())) }, ['--listen', `${host.address}:8001`, '--workers', values.workers!, '--access-log', 'off'], {
      env,
      wrap: ['ip', 'netns', 'exec', host.ns],
    });
  }
  const fronts = { 'one app host': [app1!], 'two app hosts': [app1!, app2!] };
  let port = 8000;
  const bases: Record<string, string> = {};
  for (const [name, upstreams] of Object.entries(fronts)) {
    const listen = `127.0.0.1:${port++}`;
    const front = collect(node(topology.front.ns, ['proxy/cli.ts', '--listen', listen, '--upstream', upstreams.map((h) => `${h.address}:8001`).join(','), '--access-log', 'off']));
    await waitFor(front.text, /front: listening/, 30_000);
    bases[name] = `http://${listen}`;
  }

  const rows: string[] = [];
  for (const scenario of ['hello', 'login'] as const) {
    const rates = new Map<string, number[]>(Object.keys(bases).map((k) => [k, []]));
    let bad = 0;
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = round % 2 === 0 ? Object.keys(bases) : Object.keys(bases).reverse();
      for (const name of order) {
        const load = collect(node(topology.front.ns, ['bench/multihost-load.ts', bases[name]!, scenario, values.seconds!, values.connections!, 'bench', PASSWORD]));
        await load.exited;
        if (load.text().trim() === '' || !load.text().includes('{')) throw new Error(`load failed: ${load.text()}`);
        await load.exited;
        const result = JSON.parse(load.text().trim().split('\n').at(-1)!) as { requests: number; seconds: number; non2xx: number; errors: number };
        rates.get(name)!.push(result.requests / result.seconds);
        bad += result.non2xx + result.errors;
      }
    }
    const one = median(rates.get('one app host')!);
    const two = median(rates.get('two app hosts')!);
    const label = scenario === 'hello' ? 'GET /api/hello/' : 'POST /api/token/ (login, scrypt)';
    rows.push(`| ${label} | ${one.toFixed(0)} | ${two.toFixed(0)} | ${(two / one).toFixed(2)}× | ${bad} |`);
    console.error(rows.at(-1));
  }
  console.log(`\n${values.rounds} rounds of ${values.seconds} s, ${values.connections} connections, ${values.workers} worker(s) per app host, medians (req/s).\n`);
  console.log('| load | one app host | two app hosts | two / one | non-2xx or errors |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
} finally {
  await cleanup();
}
