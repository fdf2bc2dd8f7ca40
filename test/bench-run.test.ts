/**
 * The bench end to end, as a user runs it (a child process running bench/cli.ts): a quick run
 * against a configuration it starts itself writes JSON, Markdown and HTML reports of the expected
 * shape; token chains (refresh rotation) hold under both loaders against a small rotating server
 * given as --target; a server that breaks rotation makes the run invalid, loudly; bad input exits
 * 2 with a message. The checks are on structure and counts, never on speed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

function bench(args: string[], timeoutMs = 60_000): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGINT' }, (error, stdout, stderr) => {
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

describe('bench: a quick run against a configuration it starts', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-test-'));
  let outcome: CliOutcome;
  before(async () => {
    outcome = await bench(['--quick', '--configurations', 'dev,bare-http', '--scenario', 'ping,hello,static-1k', '-d', '1', '--warmup', '0', '--connections', '8', '--quiet-wait', '0', '--out', out]);
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
    assert.equal(json.meta.loader, 'autocannon');
    assert.equal(json.meta.rounds, 1);
    assert.deepEqual(json.configurations.map((c) => c.name), ['dev', 'bare-http']);
    assert.equal(json.meta.baseline, 'dev');
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

  it('writes Markdown and a self-contained HTML report with charts', () => {
    const { md, html } = readResults(out);
    assert.match(md, /^# Benchmark run /);
    assert.match(md, /### GET \/api\/ping\//);
    assert.match(md, /skipped on bare-http/);
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg[^>]*aria-label="requests per second/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'no scripts, no external resources');
  });

  it('left no process of the configurations behind', () => {
    const { json } = readResults(out);
    for (const c of json.configurations) {
      for (const p of c.idleRss) assert.equal(existsSync(`/proc/${p.pid}`), false, `${c.name} process ${p.pid} still running`);
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
