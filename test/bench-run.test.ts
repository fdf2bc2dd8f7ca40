/**
 * The bench end to end, as a user runs it (a child process running bench/cli.ts): a quick run
 * against a configuration it starts itself writes JSON, Markdown and HTML reports of the expected
 * shape; token chains (refresh rotation) hold under both loaders against a small rotating server
 * given as --target; a server that breaks rotation makes the run invalid, loudly; bad input exits
 * 2 with a message. The checks are on structure and counts, never on speed.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BenchResults } from '../bench/results.ts';
import { freePort } from './support/net.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const HAS_WRK = existsSync('/usr/bin/wrk');

interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

function bench(args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = process.env): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGINT', env }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? -1) : 0;
      resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

function readResults(dir: string): { json: BenchResults; md: string; html: string } {
  const files = readdirSync(dir);
  const base = files.find((f) => f.endsWith('.json'))!.replace(/\.json$/, '');
  assert.ok(files.includes(`${base}.md`) && files.includes(`${base}.html`), `reports written: ${files.join(', ')}`);
  return {
    json: JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as BenchResults,
    md: readFileSync(join(dir, `${base}.md`), 'utf8'),
    html: readFileSync(join(dir, `${base}.html`), 'utf8'),
  };
}

/**
 * A tiny simplejwt-shaped server with refresh-token rotation: every refresh token works once.
 * With `brokenRotation` it hands back the token it was given, so the second use is refused.
 */
function rotatingServer(brokenRotation: boolean): Server {
  const live = new Set<string>();
  const access = new Set<string>();
  const issue = () => {
    const pair = { access: randomBytes(16).toString('hex'), refresh: randomBytes(16).toString('hex') };
    access.add(pair.access);
    live.add(pair.refresh);
    return pair;
  };
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>) : {};
      if (req.url === '/api/ping/') return send(200, { ok: true });
      if (req.url === '/api/token/' && req.method === 'POST') {
        return body.username === 'u' && body.password === 'p' ? send(200, issue()) : send(401, { detail: 'No active account' });
      }
      if (req.url === '/api/token/refresh/' && req.method === 'POST') {
        const token = body.refresh ?? '';
        if (!live.delete(token)) return send(401, { detail: 'Token is blacklisted', code: 'token_not_valid' });
        if (brokenRotation) return send(200, { access: 'a', refresh: token });
        return send(200, issue());
      }
      if (req.url === '/api/hello/') {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        return access.has(token) ? send(200, { message: 'hello', user: 'u' }) : send(401, { code: 'token_not_valid' });
      }
      send(404, { detail: 'Not found.' });
    });
  });
}

async function listen(server: Server): Promise<number> {
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return port;
}

/** Processes that carry `marker` in their environment (everything a bench run started inherits it). */
function markedProcesses(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(marker)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('bench: a quick run against a configuration it starts', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-test-'));
  const marker = `BENCH_TEST_MARK=${randomBytes(8).toString('hex')}`;
  let outcome: CliOutcome;
  before(async () => {
    const env = { ...process.env, BENCH_TEST_MARK: marker.split('=')[1] };
    outcome = await bench(['--quick', '--configurations', 'dev,bare-http', '--scenario', 'ping,hello,static-1k,crash', '-d', '1', '--warmup', '0', '--connections', '8', '--quiet-wait', '0', '--out', out], 150_000, env);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('exits 0 and prints the table', () => {
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /\| configuration \| req\/s \(median\)/);
    assert.match(outcome.stdout, /\| dev[ |]/);
    assert.match(outcome.stdout, /\| bare-http[ |]/);
  });

  it('writes JSON with runs, summaries and the skipped scenario', () => {
    const { json } = readResults(out);
    assert.equal(json.meta.loader, HAS_WRK ? 'wrk' : 'autocannon', 'the lighter loader when it is installed');
    assert.match(outcome.stderr, new RegExp(`loader: ${json.meta.loader} \\(`), 'it says which loader it used');
    assert.equal(json.meta.rounds, 1);
    assert.deepEqual(json.configurations.map((c) => c.name), ['dev', 'bare-http']);
    assert.equal(json.meta.baseline, 'dev');
    // Recorded commands name nothing of this machine: project paths are relative, the run's folder is $RUN.
    for (const c of json.configurations) for (const cmd of c.commands) assert.doesNotMatch(cmd.argv.join(' '), new RegExp(`${ROOT}|${tmpdir()}/`), c.name);
    assert.ok(json.configurations[0]!.commands[0]!.argv.includes('$RUN/dev/watch'));
    // The dev server is a reloader and its serving process: both are measured.
    assert.ok(json.configurations[0]!.idleRss.length >= 2);
    // ping on both, hello (logged in as a user created in a temporary DATA_DIR) and static-1k on dev.
    assert.deepEqual(json.runs.map((r) => `${r.scenario}×${r.config}`).sort(), ['hello×dev', 'ping×bare-http', 'ping×dev', 'static-1k×dev']);
    for (const run of json.runs) {
      assert.ok(run.requests > 0 && run.rps > 0);
      assert.equal(run.non2xx, 0);
      assert.equal(run.invalid, false);
      assert.ok(run.serverCpuSeconds > 0, 'server CPU measured from /proc');
      assert.ok(run.rssBytes > 0);
    }
    const skipped = json.applicability.find((a) => a.scenario === 'static-1k' && a.config === 'bare-http')!;
    assert.equal(skipped.status, 'skipped');
    assert.equal(json.summaries.length, 4);
    assert.equal(json.summaries.find((s) => s.config === 'dev' && s.scenario === 'ping')!.vsBaseline?.median, 1);
    assert.ok(json.summaries.find((s) => s.config === 'bare-http')!.vsBaseline!.median > 0);
  });

  it('runs the crash scenario on the dev server: two crashes marked, a timeline, the server serving again', () => {
    const { json } = readResults(out);
    assert.deepEqual(json.faults.map((f) => `${f.scenario}×${f.config}`), ['crash×dev']);
    const f = json.faults[0]!;
    // The second crash waits until the first is repaired, and is skipped when that leaves no room in the window.
    assert.equal(f.marks[0]!.label, 'uncaught exception');
    assert.ok(f.marks.length === 2 ? f.marks[1]!.label === 'process.exit' : f.counts['second crash skipped: not serving again in time'] === 1, JSON.stringify(f.counts));
    assert.ok(f.normal.requests > 0);
    assert.equal(f.timeline.length, Math.ceil(f.durationMs / f.bucketMs));
    assert.equal(f.recoveryMs.length, f.marks.length);
    assert.equal(f.notRecovered, false);
    // bare-http has no fault routes: the scenario does not pretend to run there.
    assert.equal(json.applicability.some((a) => a.scenario === 'crash' && a.config === 'bare-http'), false);
    assert.match(outcome.stdout, /Production \(front \+ \d+ app server workers\) vs development/);
    assert.match(outcome.stdout, /\[not measured\] Crashing route: not measured on both the dev server and stack-net/);
  });

  it('writes Markdown and a self-contained HTML report with charts', () => {
    const { md, html } = readResults(out);
    assert.match(md, /^# Benchmark run /);
    assert.match(md, /### GET \/api\/ping\//);
    assert.match(md, /skipped on bare-http/);
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg[^>]*aria-label="throughput"/);
    assert.match(html, /<h2>Fault timelines/);
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|(src|href)=["']?https?:|url\(\s*["']?https?:|@import/i, 'no scripts, nothing fetched from the network');
  });

  it('left no process of the configurations behind', () => {
    const { json } = readResults(out);
    for (const c of json.configurations) {
      for (const p of c.idleRss) assert.equal(existsSync(`/proc/${p.pid}`), false, `${c.name} process ${p.pid} still running`);
    }
    assert.deepEqual(markedProcesses(marker), [], 'nothing the run started (the restarted dev process included) is left');
  });
});

describe('bench: stopping everything it started', () => {
  it('Ctrl-C in the middle of a run stops every configuration and exits 130', async () => {
    const marker = `BENCH_TEST_MARK=${randomBytes(8).toString('hex')}`;
    const out = mkdtempSync(join(tmpdir(), 'bench-test-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/cli.ts', '--configurations', 'dev,app-net-1', '--scenario', 'ping', '-d', '60', '--warmup', '0', '--connections', '4', '--quiet-wait', '0', '--out', out], {
      cwd: ROOT,
      env: { ...process.env, BENCH_TEST_MARK: marker.split('=')[1] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Interrupt once the configurations' processes are there (stderr is not a terminal, so the
      // bench prints nothing until a window ends).
      for (let i = 0; i < 600 && markedProcesses(marker).length < 3; i++) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(markedProcesses(marker).length >= 3, `configurations running before the interrupt:\n${stderr}`);
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.match(stderr, /interrupted; every configuration was stopped/);
      // The bench waits for what it killed; a zombie the test's /proc scan may still catch for an
      // instant is given a few seconds (no timing margin is asserted, only that all are gone).
      let left = markedProcesses(marker);
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = markedProcesses(marker);
      }
      assert.deepEqual(left, [], `still running after the interrupt: ${left.map((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' '); } catch { return String(pid); } }).join('; ')}`);
    } finally {
      child.kill('SIGKILL');
      for (const pid of markedProcesses(marker)) process.kill(pid, 'SIGKILL');
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('a configuration that fails to start is named with the reason; the others are measured', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-test-'));
    try {
      // A setting the app server refuses: its master exits before listening.
      const o = await bench(['--configurations', 'dev,app-net-1', '--scenario', 'ping', '-d', '1', '--warmup', '0', '--connections', '4', '--quiet-wait', '0', '--rounds', '1', '--out', out], 120_000, { ...process.env, LAYERSTACK_TIMEOUT: 'soon' });
      assert.equal(o.code, 1, o.stderr);
      assert.match(o.stderr, /bench: configuration app-net-1 failed to start: .*exited/);
      const { json } = readResults(out);
      assert.deepEqual(json.runs.map((r) => r.config), ['dev']);
      assert.match(json.unavailable.find((u) => u.name === 'app-net-1')!.reason, /failed to start/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('bench: token chains against an external target', () => {
  const good = rotatingServer(false);
  const broken = rotatingServer(true);
  let goodPort = 0;
  let brokenPort = 0;
  const dirs: string[] = [];
  before(async () => {
    goodPort = await listen(good);
    brokenPort = await listen(broken);
  });
  after(() => {
    good.close();
    broken.close();
    good.closeAllConnections();
    broken.closeAllConnections();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const run = async (port: number, loader: string) => {
    const out = mkdtempSync(join(tmpdir(), 'bench-test-'));
    dirs.push(out);
    const o = await bench([
      '--configurations', 'bare-http', '--scenario', 'refresh,hello', '--target', `fake=http://127.0.0.1:${port}`, '--user', 'u', '--password', 'p',
      '--loader', loader, '-d', '1', '--warmup', '0', '--connections', '4', '--rounds', '1', '--quiet-wait', '0', '--retries', '0', '--out', out,
    ]);
    return { o, results: readResults(out).json };
  };

  for (const loader of HAS_WRK ? ['autocannon', 'wrk'] : ['autocannon']) {
    it(`${loader}: every refresh uses a fresh token (no 401 under rotation)`, async () => {
      const { o, results } = await run(goodPort, loader);
      assert.equal(o.code, 0, o.stderr);
      const refresh = results.summaries.find((s) => s.config === 'fake' && s.scenario === 'refresh')!;
      assert.ok(refresh.rps > 0);
      assert.equal(refresh.non2xx, 0);
      assert.equal(refresh.invalid, false);
      const hello = results.summaries.find((s) => s.config === 'fake' && s.scenario === 'hello')!;
      assert.equal(hello.non2xx, 0);
      assert.equal(results.applicability.find((a) => a.config === 'bare-http' && a.scenario === 'hello')!.status, 'skipped');
    });
  }

  it('a server that reuses refresh tokens makes the run invalid and the exit code 1', async () => {
    const { o, results } = await run(brokenPort, 'autocannon');
    assert.equal(o.code, 1);
    assert.match(o.stderr, /INVALID RESULTS/);
    const refresh = results.summaries.find((s) => s.config === 'fake' && s.scenario === 'refresh')!;
    assert.equal(refresh.invalid, true);
    assert.ok(refresh.non2xx > 0);
  });
});

describe('bench: bad input', () => {
  it('an unknown option exits 2 with one line naming it', async () => {
    const o = await bench(['--frobnicate']);
    assert.equal(o.code, 2);
    assert.equal(o.stderr, 'npm run bench: --frobnicate: expected an option from `npm run bench --help`\n');
  });

  it('an unknown configuration name exits 2 and lists the known ones', async () => {
    const o = await bench(['--configurations', 'dev,nope']);
    assert.equal(o.code, 2);
    assert.match(o.stderr, /^npm run bench: --configurations: expected a list of one of dev, .*; "nope" is not one of them, got "dev,nope"\n$/);
  });

  it('an unreachable --target exits 2 before starting anything', async () => {
    const port = await freePort();
    const o = await bench(['--configurations', 'bare-http', '--target', `gone=http://127.0.0.1:${port}`]);
    assert.equal(o.code, 2);
    assert.match(o.stderr, /--target gone: http:\/\/127\.0\.0\.1:\d+ is unreachable \(connection refused\)/);
    assert.doesNotMatch(o.stderr, /starting bare-http/);
  });

  it('a port in use (--port-base) exits 2 and names the port', async (t) => {
    const holder = createServer();
    const port = await listen(holder);
    t.after(() => holder.close());
    const o = await bench(['--configurations', 'bare-http', '--port-base', String(port)]);
    assert.equal(o.code, 2);
    assert.match(o.stderr, new RegExp(`port ${port} \\(for bare-http \\(main\\)\\) is already in use`));
    assert.doesNotMatch(o.stderr, /\n\s+at /, 'no stack trace');
  });
});
