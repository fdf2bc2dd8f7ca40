/**
 * `npm run bench:edge`: the front against Nginx on the edge's jobs, side by side in one run:
 * proxied ping, static 1 KB / 100 KB / 1 MB, TLS with keep-alive, new TLS handshakes, and a
 * 20 KB JSON response compressed with gzip level 6. Both fronts run one process (Nginx: one
 * worker), in front of the same app server (net engine, 1 worker); wrk (1 thread) loads each in turn,
 * the order alternating per round; the figures are medians over the rounds, ratios paired by
 * round, and CPU per request is the front's process group's user + system time from /proc.
 *
 *   npm run bench:edge -- [--rounds 3] [--duration 5] [--connections 64] [--access-log off|on|both]
 *                         [--scenario ping,tls-ping,…] [--engine net|http] [--out FILE.json]
 *                         [--baseline GIT-REVISION] [--bare-tls]
 *
 * --engine is the front's client side (default net: what `npm start` runs).
 *
 * --baseline: also run the front as it was at an earlier commit (`HEAD~1`, a hash), as a third
 * side in the same rounds, so a change is measured against its predecessor and against Nginx on
 * the same box at the same moment. The revision's files are taken with `git archive` into the
 * run folder (nothing in the checkout changes).
 *
 * --bare-tls: in the TLS scenarios, also measure the two floors of bench/edge/bare-tls.ts, with the
 * front's certificate handling and a fixed answer: `bare` node:tls (what Node itself costs per
 * handshake and per request, below which no front on node:tls can go) and `wire` (the front's
 * HTTP/1.1 server without the proxying: what the wire layer adds), and Nginx answering the same
 * bytes itself (`return 200`: what its proxying adds, beside what ours adds).
 *
 * Access logs: `off` on both sides (the issue's first table), `on` on both sides (both log to a
 * file in the run folder, Nginx in its combined format), or `both` (each scenario twice).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleGroups } from '../cpu.ts';
import { nginxProxyLocation } from './nginx-proxy-location.ts';
import { TLS12_CIPHERS } from '../../proxy/tls/credentials.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/** How the floors of --bare-tls are named in the table. */
const FLOOR_TITLES: Record<string, string> = { bare: 'bare node:tls', wire: 'wire layer alone (node:tls + wire/http1)', 'nginx-return': 'Nginx answering itself (return 200)' };
/** Nginx's own floor for --bare-tls: the ping's bytes answered by Nginx itself, nothing proxied. */
const NGINX_FLOOR_PATH = '/bench-floor/';
const STATIC_ROOT = join(ROOT, 'app/static');

interface Scenario {
  name: string;
  title: string;
  path: string;
  tls: boolean;
  headers: Record<string, string>;
  connections?: number;
  /** Goal: front ≥ min × Nginx (req/s); null for a scenario measured without one. */
  min: number | null;
}

/** The goal column: `≥ 0.9× met`, `≥ 1.3× NOT met`, or `—` where the scenario has none. */
function goalCell(goal: number | null, ratio: number): string {
  return goal === null ? '—' : `≥ ${goal}× ${ratio >= goal ? 'met' : 'NOT met'}`;
}

const SCENARIOS: Scenario[] = [
  { name: 'ping', title: 'proxied GET /api/ping/', path: '/api/ping/', tls: false, headers: {}, min: 0.9 },
  { name: 'static-1k', title: 'static 1 KB', path: '/static/hello.txt', tls: false, headers: {}, min: 1.3 },
  { name: 'static-100k', title: 'static 100 KB', path: '/static/bundle.js', tls: false, headers: {}, min: 1.0 },
  { name: 'static-1m', title: 'static 1 MB', path: '/static/blob.bin', tls: false, headers: {}, min: 0.9 },
  { name: 'tls-ping', title: 'TLS keep-alive, proxied ping', path: '/api/ping/', tls: true, headers: {}, min: 0.8 },
  { name: 'tls-handshake', title: 'new TLS handshake per request (Connection: close)', path: '/api/ping/', tls: true, headers: { Connection: 'close' }, connections: 16, min: 0.8 },
  { name: 'ping-close', title: 'proxied ping, a new connection per request (Connection: close)', path: '/api/ping/', tls: false, headers: { Connection: 'close' }, connections: 16, min: null },
  { name: 'static-1k-close', title: 'static 1 KB, a new connection per request (Connection: close)', path: '/static/hello.txt', tls: false, headers: { Connection: 'close' }, connections: 16, min: null },
  { name: 'gzip-json', title: '20 KB JSON, gzip level 6', path: '/api/json/', tls: false, headers: { 'Accept-Encoding': 'gzip' }, min: 0.8 },
];

interface Options {
  rounds: number;
  duration: number;
  connections: number;
  accessLog: 'off' | 'on' | 'both';
  scenarios: Scenario[];
  engine: string;
  out: string | null;
  baseline: string | null;
  /** The throw-away certificate's key: ECDSA P-256 (the default, cheap to sign with) or RSA 2048 (still the most common). */
  keyType: 'ec' | 'rsa';
  /** Also measure the floors (bare node:tls, the wire layer alone) in the TLS scenarios. */
  bareTls: boolean;
}

const USAGE = `npm run bench:edge -- [options]: the front against Nginx on the edge's jobs, side by side

  --rounds N          interleaved rounds per scenario (default 3)
  --duration S        seconds per wrk run (default 5)
  --connections N     wrk connections (default 64; 16 for tls-handshake)
  --access-log MODE   off, on (both sides log to a file) or both (each scenario twice) (default off)
  --scenario LIST     comma-separated, from: ${SCENARIOS.map((x) => x.name).join(', ')} (default all)
  --engine NAME       the front's client side: net or http (default net, what npm start runs)
  --baseline REV      also run the front as it was at git revision REV, as a third side
  --tls-key-type T    the certificate both sides use: ec (ECDSA P-256, default) or rsa (RSA 2048)
  --bare-tls          in the TLS scenarios, also measure node:tls alone and the wire layer alone, answering fixed bytes
  --out FILE.json     write the figures as JSON too
`;

function parseArgs(argv: string[]): Options {
  const o: Options = { rounds: 3, duration: 5, connections: 64, accessLog: 'off', scenarios: SCENARIOS, engine: 'net', out: null, baseline: null, keyType: 'ec', bareTls: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (flag === '--bare-tls') {
      o.bareTls = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--rounds') o.rounds = Number(value);
    else if (flag === '--duration') o.duration = Number(value);
    else if (flag === '--connections') o.connections = Number(value);
    else if (flag === '--access-log') {
      if (value !== 'off' && value !== 'on' && value !== 'both') throw new Error('--access-log is off, on or both');
      o.accessLog = value;
    } else if (flag === '--scenario') {
      o.scenarios = value.split(',').map((name) => {
        const s = SCENARIOS.find((x) => x.name === name);
        if (s === undefined) throw new Error(`unknown scenario ${name} (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
        return s;
      });
    } else if (flag === '--engine') o.engine = value;
    else if (flag === '--out') o.out = resolve(value);
    else if (flag === '--baseline') o.baseline = value;
    else if (flag === '--tls-key-type') {
      if (value !== 'ec' && value !== 'rsa') throw new Error('--tls-key-type is ec or rsa');
      o.keyType = value;
    }
    else throw new Error(`unknown option ${flag}`);
  }
  if (!(o.rounds >= 1 && o.duration >= 1 && o.connections >= 1)) throw new Error('--rounds, --duration and --connections must be ≥ 1');
  return o;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

const children: ChildProcess[] = [];

/** Start `argv` in its own process group (so its CPU can be summed and it can be stopped whole). */
function start(argv: string[], log: string, cwd = ROOT): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (!stopping && !stopped.has(child)) process.stderr.write(`bench:edge: ${log} exited (${signal ?? code}):\n${err}\n`);
  });
  children.push(child);
  return child;
}

let stopping = false;
/** Children stopped on purpose (their exit is not news). */
const stopped = new Set<ChildProcess>();
function stopAll(): void {
  stopping = true;
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((ok, fail) => {
    const req = (url.startsWith('https:') ? https : http).get(url, { headers, agent: false, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
  });
}

async function waitFor(url: string, what: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    try {
      if ((await get(url)).status === 200) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${what} did not answer ${url}`);
}

function nginxConf(run: string, ports: Ports, cert: string, key: string, accessLog: boolean): string {
  const log = accessLog ? `access_log ${run}/nginx-access.log combined;` : 'access_log off;';
  const locations = `
        location /static/ { alias ${STATIC_ROOT}/; }
        location = ${NGINX_FLOOR_PATH} { default_type application/json; return 200 '{"ok":true}'; }${nginxProxyLocation(false)}`;
  return `worker_processes 1;
daemon off;
master_process on;
pid ${run}/nginx.pid;
error_log ${run}/nginx-error.log warn;
events { worker_connections 4096; }
http {
    ${log}
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    client_body_temp_path ${run}/tmp/body;
    proxy_temp_path ${run}/tmp/proxy;
    fastcgi_temp_path ${run}/tmp/fastcgi;
    uwsgi_temp_path ${run}/tmp/uwsgi;
    scgi_temp_path ${run}/tmp/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    gzip on;
    gzip_comp_level 6;
    gzip_min_length 1024;
    gzip_proxied any;
    gzip_vary on;
    gzip_types text/plain text/css application/json application/javascript text/xml application/xml image/svg+xml;
    add_header X-Request-Id $request_id;
    upstream app_server {
        server 127.0.0.1:${ports.upstream};
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:${ports.nginx};${locations}
    }
    server {
        listen 127.0.0.1:${ports.nginxTls} ssl;
        ssl_certificate ${cert};
        ssl_certificate_key ${key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ${TLS12_CIPHERS};
        ssl_prefer_server_ciphers on;${locations}
    }
}
`;
}

interface Ports {
  upstream: number;
  front: number;
  frontTls: number;
  nginx: number;
  nginxTls: number;
  baseline: number;
  baselineTls: number;
  bare: number;
  wire: number;
}

interface Sides {
  front: ChildProcess;
  frontTls: ChildProcess;
  nginx: ChildProcess;
  /** The --baseline revision's front (plain and TLS), when asked for. */
  baseline: ChildProcess | null;
  baselineTls: ChildProcess | null;
}

async function startSides(run: string, ports: Ports, cert: string, key: string, accessLog: boolean, engine: string, baselineRoot: string | null): Promise<Sides> {
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(run, 'tmp', dir), { recursive: true });
  const conf = join(run, `nginx-${accessLog ? 'log' : 'nolog'}.conf`);
  writeFileSync(conf, nginxConf(run, ports, cert, key, accessLog));
  const frontArgs = (port: number, log: string): string[] => [
    process.execPath, '--import', 'tsx', 'proxy/cli.ts',
    '--listen', `127.0.0.1:${port}`,
    '--upstream', `127.0.0.1:${ports.upstream}`,
    '--static', `/static/=${STATIC_ROOT}`,
    '--access-log', accessLog ? join(run, log) : 'off',
    '--front-engine', engine,
  ];
  const sides: Sides = {
    front: start(frontArgs(ports.front, 'front-access.log'), 'front'),
    frontTls: start([...frontArgs(ports.frontTls, 'front-tls-access.log'), '--tls-cert', cert, '--tls-key', key], 'front (TLS)'),
    nginx: start(['nginx', '-p', run, '-e', join(run, 'nginx-error.log'), '-c', conf], 'nginx'),
    baseline: baselineRoot === null ? null : start(frontArgs(ports.baseline, 'baseline-access.log'), 'baseline front', baselineRoot),
    baselineTls: baselineRoot === null ? null : start([...frontArgs(ports.baselineTls, 'baseline-tls-access.log'), '--tls-cert', cert, '--tls-key', key], 'baseline front (TLS)', baselineRoot),
  };
  if (baselineRoot !== null) {
    await waitFor(`http://127.0.0.1:${ports.baseline}/api/ping/`, 'baseline front');
    await waitFor(`https://127.0.0.1:${ports.baselineTls}/api/ping/`, 'baseline front (TLS)');
  }
  await waitFor(`http://127.0.0.1:${ports.front}/api/ping/`, 'front');
  await waitFor(`https://127.0.0.1:${ports.frontTls}/api/ping/`, 'front (TLS)');
  await waitFor(`http://127.0.0.1:${ports.nginx}/api/ping/`, 'nginx');
  return sides;
}

async function stopSides(sides: Sides): Promise<void> {
  const all = [sides.front, sides.frontTls, sides.nginx, sides.baseline, sides.baselineTls].filter((c): c is ChildProcess => c !== null);
  for (const child of all) {
    stopped.add(child);
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone
    }
  }
  await sleep(1500);
  for (const child of all) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

interface Measured {
  rps: number;
  cpuUsPerRequest: number;
  errors: string;
}

/** One wrk run against `url`; CPU of process group `pgid` over the same window. */
async function measure(url: string, scenario: Scenario, pgid: number, seconds: number, connections: number): Promise<Measured> {
  const args = ['-t1', `-c${scenario.connections ?? connections}`, `-d${seconds}s`];
  for (const [name, value] of Object.entries(scenario.headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const before = sampleGroups([pgid]).get(pgid)!.cpuSeconds;
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((ok) => child.on('exit', ok));
  const after = sampleGroups([pgid]).get(pgid)!.cpuSeconds;
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errors = [/Socket errors:[^\n]*/.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]].filter(Boolean).join('; ');
  return { rps, cpuUsPerRequest: total > 0 ? ((after - before) * 1e6) / total : 0, errors };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Row {
  scenario: string;
  title: string;
  accessLog: string;
  frontRps: number;
  nginxRps: number;
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  frontCpuUs: number;
  nginxCpuUs: number;
  cpuRatio: number;
  /** The --baseline front's median req/s and CPU, and front ÷ baseline paired by round (0: none). */
  baselineRps: number;
  baselineCpuUs: number;
  baselineRatio: number;
  /** --bare-tls in a TLS scenario: each floor's median req/s and CPU, floor ÷ Nginx and front ÷ floor paired by round. */
  floors: { name: string; rps: number; cpuUs: number; toNginx: number; frontTo: number }[];
  goal: number | null;
  errors: string;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  for (const program of ['wrk', 'nginx', 'openssl']) {
    if (spawnSync(program, ['-v'], { stdio: 'ignore' }).error !== undefined) throw new Error(`${program} is not installed`);
  }
  const run = mkdtempSync(join(tmpdir(), 'bench-edge-'));
  process.on('exit', () => rmSync(run, { recursive: true, force: true }));
  const cert = join(run, 'cert.pem');
  const key = join(run, 'key.pem');
  // One throw-away certificate for both sides: ECDSA P-256 (what a modern site serves) or RSA 2048.
  const keyArgs = options.keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const made = spawnSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  if (made.status !== 0) throw new Error('openssl could not make a test certificate');
  const ports: Ports = { upstream: await freePort(), front: await freePort(), frontTls: await freePort(), nginx: await freePort(), nginxTls: await freePort(), baseline: await freePort(), baselineTls: await freePort(), bare: await freePort(), wire: await freePort() };
  let baselineRoot: string | null = null;
  if (options.baseline !== null) {
    baselineRoot = join(run, 'baseline');
    mkdirSync(baselineRoot);
    const archive = spawnSync('sh', ['-c', 'git -C "$0" archive "$1" | tar -x -C "$2"', ROOT, options.baseline, baselineRoot], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (archive.status !== 0) throw new Error(`--baseline ${options.baseline}: git archive failed: ${archive.stderr.toString().trim()}`);
    symlinkSync(join(ROOT, 'node_modules'), join(baselineRoot, 'node_modules'));
  }
  start([process.execPath, '--import', 'tsx', 'server/pool/cli.ts', '--listen', `127.0.0.1:${ports.upstream}`, '--workers', '1', '--engine', 'net', '--app', 'bench/edge/json-app.ts#app', '--access-log', 'off'], 'app server');
  await waitFor(`http://127.0.0.1:${ports.upstream}/api/ping/`, 'app server');
  // The floors answer fixed bytes whatever the access-log mode: started once, measured in TLS scenarios.
  const floors: { name: string; pgid: number; port: number }[] = [];
  if (options.bareTls) {
    for (const [name, port] of [['bare', ports.bare], ['wire', ports.wire]] as const) {
      const child = start([process.execPath, '--import', 'tsx', 'bench/edge/bare-tls.ts', name, String(port), cert, key], `${name} floor`);
      await waitFor(`https://127.0.0.1:${port}/`, `${name} floor`);
      floors.push({ name, pgid: child.pid!, port });
    }
  }

  const rows: Row[] = [];
  const modes = options.accessLog === 'both' ? [false, true] : [options.accessLog === 'on'];
  for (const logging of modes) {
    const sides = await startSides(run, ports, cert, key, logging, options.engine, baselineRoot);
    for (const scenario of options.scenarios) {
      const frontUrl = `${scenario.tls ? 'https' : 'http'}://127.0.0.1:${scenario.tls ? ports.frontTls : ports.front}${scenario.path}`;
      const nginxUrl = `${scenario.tls ? 'https' : 'http'}://127.0.0.1:${scenario.tls ? ports.nginxTls : ports.nginx}${scenario.path}`;
      const frontPgid = (scenario.tls ? sides.frontTls : sides.front).pid!;
      const nginxPgid = sides.nginx.pid!;
      const baselineUrl = `${scenario.tls ? 'https' : 'http'}://127.0.0.1:${scenario.tls ? ports.baselineTls : ports.baseline}${scenario.path}`;
      const baselinePgid = (scenario.tls ? sides.baselineTls : sides.baseline)?.pid ?? 0;
      const floorSides = scenario.tls ? floors.map((f) => ({ ...f, url: `https://127.0.0.1:${f.port}${scenario.path}`, runs: [] as Measured[] })) : [];
      // Nginx answering the same bytes itself: what its proxying adds, beside what ours adds.
      if (floorSides.length > 0) floorSides.push({ name: 'nginx-return', pgid: nginxPgid, port: ports.nginxTls, url: `https://127.0.0.1:${ports.nginxTls}${NGINX_FLOOR_PATH}`, runs: [] });
      // A check before load: all answer 200, and (gzip) all actually compress.
      for (const url of baselinePgid === 0 ? [frontUrl, nginxUrl] : [frontUrl, nginxUrl, baselineUrl]) {
        const reply = await get(url, scenario.headers);
        if (reply.status !== 200) throw new Error(`${url}: status ${reply.status}`);
        if (scenario.headers['Accept-Encoding'] !== undefined && reply.headers['content-encoding'] !== 'gzip') throw new Error(`${url}: not gzip-compressed`);
      }
      // Warm-up (JIT, caches, pools), not measured.
      await measure(frontUrl, scenario, frontPgid, 1, options.connections);
      await measure(nginxUrl, scenario, nginxPgid, 1, options.connections);
      if (baselinePgid !== 0) await measure(baselineUrl, scenario, baselinePgid, 1, options.connections);
      for (const f of floorSides) await measure(f.url, scenario, f.pgid, 1, options.connections);
      const front: Measured[] = [];
      const nginx: Measured[] = [];
      const baseline: Measured[] = [];
      for (let round = 0; round < options.rounds; round++) {
        // Each side goes first, middle and last in turn.
        const sidesInOrder = ['front', 'nginx'];
        if (baselinePgid !== 0) sidesInOrder.push('baseline');
        for (const f of floorSides) sidesInOrder.push(f.name);
        const order = sidesInOrder.map((_, i) => sidesInOrder[(i + round) % sidesInOrder.length]!);
        for (const side of order) {
          if (side === 'front') front.push(await measure(frontUrl, scenario, frontPgid, options.duration, options.connections));
          else if (side === 'nginx') nginx.push(await measure(nginxUrl, scenario, nginxPgid, options.duration, options.connections));
          else if (side === 'baseline') baseline.push(await measure(baselineUrl, scenario, baselinePgid, options.duration, options.connections));
          else {
            const f = floorSides.find((x) => x.name === side)!;
            f.runs.push(await measure(f.url, scenario, f.pgid, options.duration, options.connections));
          }
        }
      }
      const baselineRatios = baseline.map((b, i) => front[i]!.rps / b.rps);
      const ratios = front.map((f, i) => f.rps / nginx[i]!.rps);
      const row: Row = {
        scenario: scenario.name,
        title: scenario.title,
        accessLog: logging ? 'on' : 'off',
        frontRps: median(front.map((m) => m.rps)),
        nginxRps: median(nginx.map((m) => m.rps)),
        ratio: median(ratios),
        ratioMin: Math.min(...ratios),
        ratioMax: Math.max(...ratios),
        frontCpuUs: median(front.map((m) => m.cpuUsPerRequest)),
        nginxCpuUs: median(nginx.map((m) => m.cpuUsPerRequest)),
        cpuRatio: 0,
        baselineRps: baseline.length > 0 ? median(baseline.map((m) => m.rps)) : 0,
        baselineCpuUs: baseline.length > 0 ? median(baseline.map((m) => m.cpuUsPerRequest)) : 0,
        baselineRatio: baselineRatios.length > 0 ? median(baselineRatios) : 0,
        floors: floorSides.map((f) => ({
          name: f.name,
          rps: median(f.runs.map((m) => m.rps)),
          cpuUs: median(f.runs.map((m) => m.cpuUsPerRequest)),
          toNginx: median(f.runs.map((m, i) => m.rps / nginx[i]!.rps)),
          frontTo: median(f.runs.map((m, i) => front[i]!.rps / m.rps)),
        })),
        goal: scenario.min,
        errors: [...front.map((m) => m.errors && `front: ${m.errors}`), ...nginx.map((m) => m.errors && `nginx: ${m.errors}`), ...baseline.map((m) => m.errors && `baseline: ${m.errors}`), ...floorSides.flatMap((f) => f.runs.map((m) => m.errors && `${f.name}: ${m.errors}`))].filter(Boolean).join(' | '),
      };
      row.cpuRatio = row.frontCpuUs / row.nginxCpuUs;
      rows.push(row);
      process.stderr.write(`${row.scenario} (log ${row.accessLog}): front ${row.frontRps.toFixed(0)} req/s, nginx ${row.nginxRps.toFixed(0)} req/s, ${row.ratio.toFixed(2)}×; CPU/req ${row.frontCpuUs.toFixed(1)} vs ${row.nginxCpuUs.toFixed(1)} µs${row.baselineRps > 0 ? `; baseline ${row.baselineRps.toFixed(0)} req/s, ${row.baselineCpuUs.toFixed(1)} µs, front/baseline ${row.baselineRatio.toFixed(2)}×` : ''}${row.floors.map((f) => `; ${f.name} ${f.rps.toFixed(0)} req/s, ${f.cpuUs.toFixed(1)} µs, ${f.name}/nginx ${f.toNginx.toFixed(2)}×`).join('')}\n`);
    }
    await stopSides(sides);
  }
  // The baseline's three columns follow the others when there is one.
  const b = options.baseline;
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const lines = [
    line(['scenario', 'access log', 'front req/s', 'Nginx req/s', 'ratio (median, min–max)', 'goal', 'front CPU µs/req', 'Nginx CPU µs/req', 'CPU ratio', ...(b === null ? [] : [`${b} req/s`, `${b} CPU µs/req`, `front ÷ ${b}`])]),
    `|---|---|---:|---:|---|---|---:|---:|---:|${b === null ? '' : '---:|---:|---:|'}`,
    ...rows.map((r) =>
      line([
        r.title, r.accessLog, r.frontRps.toFixed(0), r.nginxRps.toFixed(0), `${r.ratio.toFixed(2)}× (${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)})`, goalCell(r.goal, r.ratio),
        r.frontCpuUs.toFixed(1), r.nginxCpuUs.toFixed(1), r.cpuRatio.toFixed(2),
        ...(b === null ? [] : [r.baselineRps.toFixed(0), r.baselineCpuUs.toFixed(1), `${r.baselineRatio.toFixed(2)}×`]),
      ]),
    ),
  ];
  const floorRows = rows.filter((r) => r.floors.length > 0);
  if (floorRows.length > 0) {
    // The front's cost in layers: node:tls alone (bare), plus the wire layer (wire), plus the proxying (front).
    lines.push(
      '',
      '| scenario | access log (front, Nginx) | floor | req/s | CPU µs/req | floor ÷ Nginx (median, paired) | front ÷ floor |',
      '|---|---|---|---:|---:|---:|---:|',
      ...floorRows.flatMap((r) => r.floors.map((f) => `| ${r.title} | ${r.accessLog} | ${FLOOR_TITLES[f.name] ?? f.name} | ${f.rps.toFixed(0)} | ${f.cpuUs.toFixed(1)} | ${f.toNginx.toFixed(2)}× | ${f.frontTo.toFixed(2)}× |`)),
    );
  }
  const errors = rows.filter((r) => r.errors !== '').map((r) => `- ${r.scenario} (log ${r.accessLog}): ${r.errors}`);
  process.stdout.write(`${lines.join('\n')}\n${errors.length > 0 ? `\nErrors seen:\n${errors.join('\n')}\n` : ''}`);
  if (options.out !== null) writeFileSync(options.out, JSON.stringify({ options: { ...options, scenarios: options.scenarios.map((s) => s.name) }, rows }, null, 2));
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:edge: ${error.message}\n`);
    process.exit(1);
  },
);
