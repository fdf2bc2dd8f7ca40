/**
 * `--loader wrk`: the Debian wrk binary, one thread. It is much lighter than autocannon (on this
 * machine it drives uWebSockets.js about twice as hard), so it measures the server rather than the
 * loader. A Lua script written per run sets the request and prints a machine-readable summary
 * (wrk-report.lua); token chains use wrk-chain.lua. wrk's own CPU comes from bash's `times`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Loader, LoadPlan, LoadResult, ProgressCallback } from './load-plan.ts';

const REPORT_LUA = readFileSync(new URL('./wrk-report.lua', import.meta.url), 'utf8');
const CHAIN_LUA = readFileSync(new URL('./wrk-chain.lua', import.meta.url), 'utf8');

/** A Lua string literal holding exactly the bytes of `text` (UTF-8). */
export function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString().padStart(3, '0')}`;
  }
  return out + '"';
}

/** The Lua script for a plan. `tokensFile` is where the chain's tokens were written, one a line. */
export function wrkScript(plan: LoadPlan, tokensFile?: string): string {
  const lines = [`wrk.method = ${luaString(plan.method)}`];
  for (const [name, value] of Object.entries(plan.headers)) lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  if (plan.chain) {
    if (tokensFile === undefined) throw new Error('a token chain needs its tokens file');
    lines.push(
      `CHAIN_TOKENS_FILE = ${luaString(tokensFile)}`,
      `CHAIN_BEFORE = ${luaString(plan.chain.before)}`,
      `CHAIN_AFTER = ${luaString(plan.chain.after)}`,
      `CHAIN_FIELD = ${luaString(plan.chain.responseField)}`,
      CHAIN_LUA,
    );
  } else if (plan.body !== undefined) {
    lines.push(`wrk.body = ${luaString(plan.body)}`);
  }
  lines.push(REPORT_LUA);
  return lines.join('\n');
}

/** The fields wrk-report.lua prints. */
interface WrkJson {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  lat_p50_us: number;
  lat_p97_5_us: number;
  lat_p99_us: number;
  lat_max_us: number;
}

/**
 * Parse wrk's output (stdout with the WRKJSON line from wrk-report.lua) and bash's `times` output
 * (two lines: the shell's own user/sys, then its children's, e.g. `0m1.234s 0m0.567s`).
 * Throws with wrk's own words when the summary line is missing.
 */
export function parseWrkOutput(stdout: string, timesOutput: string): LoadResult {
  const match = /^WRKJSON (\{.*\})\s*$/m.exec(stdout);
  if (match === null) throw new Error(`wrk printed no summary line: ${stdout.trim().slice(0, 500) || '(no output)'}`);
  const j = JSON.parse(match[1]!) as WrkJson;
  const seconds = j.duration_us / 1e6;
  return {
    requests: j.requests,
    seconds,
    bytes: j.bytes,
    latency: { p50: j.lat_p50_us / 1000, p97_5: j.lat_p97_5_us / 1000, p99: j.lat_p99_us / 1000, max: j.lat_max_us / 1000 },
    errors: j.connect + j.read + j.write + j.timeout,
    non2xx: j.status,
    loaderCpuSeconds: parseTimes(timesOutput),
  };
}

/** Children's user + system CPU seconds from bash's `times` output (its last line). */
export function parseTimes(output: string): number {
  const lines = output.trim().split('\n').filter((l) => /\d+m[\d.]+s/.test(l));
  const last = lines.at(-1);
  if (last === undefined) return Number.NaN;
  let total = 0;
  for (const m of last.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

/** The wrk command for a plan (also printed in reports, so a run can be repeated by hand). */
export function wrkArgs(plan: LoadPlan, scriptFile: string): string[] {
  // wrk takes whole seconds only.
  return ['-t1', `-c${plan.connections}`, `-d${Math.max(1, Math.round(plan.durationSeconds))}s`, '--timeout', '10s', '-s', scriptFile, plan.url];
}

/** wrk, spawned per run. */
export const wrkLoader: Loader = {
  name: 'wrk',
  run(plan: LoadPlan, onProgress: ProgressCallback, signal?: AbortSignal): Promise<LoadResult> {
    if (plan.pipelining > 1) {
      return Promise.reject(new Error('--loader wrk does not pipeline (its pipelining needs a Lua script per request); use -p 1 or autocannon'));
    }
    const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
    const scriptFile = join(dir, 'run.lua');
    let tokensFile: string | undefined;
    if (plan.chain) {
      tokensFile = join(dir, 'tokens.txt');
      writeFileSync(tokensFile, plan.chain.tokens.join('\n') + '\n');
    }
    writeFileSync(scriptFile, wrkScript(plan, tokensFile));
    const started = Date.now();
    return new Promise<LoadResult>((resolve, reject) => {
      // bash reports its children's CPU with `times`: that is wrk's own cost.
      const child = spawn('bash', ['-c', 'wrk "$@"; rc=$?; times >&2; exit $rc', 'bash', ...wrkArgs(plan, scriptFile)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const ticker = setInterval(() => onProgress((Date.now() - started) / 1000, undefined), 250);
      const abort = () => child.kill('SIGINT');
      signal?.addEventListener('abort', abort, { once: true });
      child.on('error', (error) => {
        clearInterval(ticker);
        rmSync(dir, { recursive: true, force: true });
        reject(new Error(`cannot run wrk: ${error.message}`));
      });
      child.on('close', (code) => {
        clearInterval(ticker);
        signal?.removeEventListener('abort', abort);
        rmSync(dir, { recursive: true, force: true });
        if (code !== 0) {
          const said = (stdout + stderr).trim().split('\n').slice(0, 5).join(' | ');
          return reject(new Error(`wrk exited with code ${code}: ${said}`));
        }
        try {
          resolve(parseWrkOutput(stdout, stderr));
        } catch (error) {
          reject(error);
        }
      });
    });
  },
};
