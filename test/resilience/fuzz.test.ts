/**
 * Resilience case 9, fuzzing: seeded random and mutated requests (test/resilience/fuzz.ts), each on
 * its own connection, against the front of the whole stack and against each app engine alone.
 * Nothing may crash (the same process ids before and after), every answer must start with a
 * well-formed response head or the connection must close, and the target still serves after.
 * The seed is printed; RESILIENCE_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cleanup, ENGINES, groupPids, record, scale, Stack, startLayer, type Spawned } from './harness.ts';
import { fuzzRequest, wellFormed } from './fuzz.ts';
import { freePort } from '../support/net.ts';

const SEED = Number(process.env.RESILIENCE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = scale(10_000, 50_000);
/** How long a connection may stay open with nothing more coming (the client has half-closed). */
const QUIET_MS = 3000;

interface Outcome {
  statuses: Record<string, number>;
  malformed: string[];
  held: number;
}

/** Send `count` fuzzed requests to `port`, 32 connections at a time. */
async function fuzz(port: number, seed: number, count: number): Promise<Outcome> {
  const outcome: Outcome = { statuses: {}, malformed: [], held: 0 };
  let next = 0;
  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const request = fuzzRequest(seed, index);
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1');
      let timer = setTimeout(() => finish(true), QUIET_MS);
      const finish = (held: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        const received = Buffer.concat(chunks);
        const verdict = wellFormed(received);
        const key = verdict.status === 0 ? (held ? 'held' : 'closed') : String(verdict.status);
        outcome.statuses[key] = (outcome.statuses[key] ?? 0) + 1;
        if (held && verdict.status === 0) outcome.held++;
        if (!verdict.ok && !(held && received.length > 0 && received.indexOf('\r\n\r\n') < 0 && received.length < 64)) {
          outcome.malformed.push(`#${index}: ${verdict.why} — request ${JSON.stringify(request.toString('latin1').slice(0, 120))}`);
        }
        resolve();
      };
      socket.on('data', (chunk) => {
        chunks.push(chunk);
        clearTimeout(timer);
        timer = setTimeout(() => finish(true), QUIET_MS);
      });
      socket.on('close', () => finish(false));
      socket.on('error', () => {});
      socket.end(request);
    });
  const lane = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  return outcome;
}

async function ping(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/api/ping/`);
  await res.arrayBuffer();
  return res.status;
}

describe(`9. fuzzing (seed ${SEED}, ${COUNT} requests per target)`, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('the front of the whole stack', async () => {
    const stack = await Stack.start(cleanup.add, { engine: 'net', workers: 1 });
    const pids = stack.pids();
    const started = Date.now();
    const from = stack.output.length;
    const outcome = await fuzz(stack.port, SEED, COUNT);
    // Not asserted here (the front's ejection rules are case 6's and defect 9's): how often a
    // fuzzed request made the front count a failure against its upstream.
    const ejections = (stack.output.slice(from).match(/now out of rotation/g) ?? []).length;
    record('9 fuzzing', { target: 'stack (front net)', seed: SEED, requests: COUNT, seconds: Math.round((Date.now() - started) / 1000), upstreamEjections: ejections, held: outcome.held, malformed: outcome.malformed.length, statuses: JSON.stringify(outcome.statuses) });
    assert.deepEqual(outcome.malformed.slice(0, 20), []);
    assert.deepEqual(stack.pids(), pids, 'the same processes before and after');
    assert.equal(await ping(stack.port), 200);
  });

  for (const engine of ENGINES) {
    it(`the app server alone, ${engine} engine`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'resilience-fuzz-'));
      cleanup.add(() => rmSync(dataDir, { recursive: true, force: true }));
      const port = await freePort();
      const pool: Spawned = await startLayer(cleanup.add, 'server/pool/cli.js', ['--listen', `127.0.0.1:${port}`, '--workers', '1', '--engine', engine, '--access-log', 'off'], { DATA_DIR: dataDir });
      await pool.waitOutput(/^READY /m, 60_000);
      const pids = groupPids(pool.pid).sort();
      const started = Date.now();
      const outcome = await fuzz(port, SEED, COUNT);
      record('9 fuzzing', { target: `app server ${engine}`, seed: SEED, requests: COUNT, seconds: Math.round((Date.now() - started) / 1000), held: outcome.held, malformed: outcome.malformed.length, statuses: JSON.stringify(outcome.statuses) });
      assert.deepEqual(outcome.malformed.slice(0, 20), []);
      assert.deepEqual(groupPids(pool.pid).sort(), pids, `the same processes before and after:\n${pool.output.slice(-3000)}`);
      assert.equal(await ping(port), 200);
    });
  }
});
