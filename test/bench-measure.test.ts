/** One measured window: a redone window gets a fresh plan (single-use tokens are never reused). */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { runSteadyClient } from '../bench/faults/steady-client.ts';
import type { RunningConfiguration } from '../bench/launcher.ts';
import type { Loader, LoadPlan, LoadResult } from '../bench/loaders/load-plan.ts';
import { measure, type MeasureContext } from '../bench/measure.ts';
import type { Participant } from '../bench/participants.ts';

const result: LoadResult = {
  requests: 1000, seconds: 1, bytes: 5000, latency: { p50: 1, p97_5: 2, p99: 3, max: 4 },
  errors: 0, non2xx: 0, loaderCpuSeconds: 0.5,
};

function participant(): Participant {
  // Our own process group stands in for a configuration's: /proc has real numbers for it.
  const running = { layers: [{ layer: 'app', pgid: process.pid, argv: [], logFile: '', exited: undefined }] } as unknown as RunningConfiguration;
  return { name: 'x', title: 'x', kind: 'app', baseUrl: 'http://127.0.0.1:1', capabilities: ['ping'], running, session: undefined, noSessionReason: '', paths: {} };
}

describe('measure', () => {
  it('makes a new plan for every attempt and flags a window still disturbed after the retries', async () => {
    const plansRun: string[] = [];
    const loader: Loader = {
      name: 'autocannon',
      run: async (plan: LoadPlan) => {
        plansRun.push(plan.chain!.tokens[0]!);
        return result;
      },
    };
    const ctx: MeasureContext = {
      loader,
      quiet: { maxBusyPercent: 101, windowMs: 1, maxWaitMs: 0 },
      retries: 2,
      foreignMaxPercent: -1, // every window counts as disturbed
      ourGroups: new Set(),
      signal: new AbortController().signal,
      log: () => {},
    };
    let made = 0;
    const makePlan = async (): Promise<LoadPlan> => {
      made++;
      return {
        url: 'http://127.0.0.1:1/', method: 'POST', headers: {}, connections: 1, pipelining: 1, durationSeconds: 1,
        chain: { tokens: [`token-${made}`], before: '', after: '', responseField: 'refresh' },
      };
    };
    const record = await measure(ctx, participant(), 'refresh', 0, makePlan, () => {});
    assert.deepEqual(plansRun, ['token-1', 'token-2', 'token-3']);
    assert.equal(record.attempts, 3);
    assert.equal(record.contaminated, true);
    assert.equal(record.rps, 1000);
    assert.equal(record.invalid, false);
    assert.ok(record.cpuByLayer.app !== undefined);
  });

  it('a window with non-2xx responses is invalid', async () => {
    const ctx: MeasureContext = {
      loader: { name: 'wrk', run: async () => ({ ...result, non2xx: 5 }) },
      quiet: { maxBusyPercent: 101, windowMs: 1, maxWaitMs: 0 },
      retries: 0,
      foreignMaxPercent: 1e9,
      ourGroups: new Set(),
      signal: new AbortController().signal,
      log: () => {},
    };
    const plan = async (): Promise<LoadPlan> => ({ url: 'http://127.0.0.1:1/', method: 'GET', headers: {}, connections: 1, pipelining: 1, durationSeconds: 1 });
    const record = await measure(ctx, participant(), 'ping', 0, plan, () => {});
    assert.equal(record.invalid, true);
    assert.equal(record.attempts, 1);
    assert.equal(record.contaminated, false);
  });
});

describe('the steady client of the fault scenarios', () => {
  it('never counts a request as faster than its round trip (a timer firing early is not a fast server)', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const samples = await runSteadyClient({ url: `http://127.0.0.1:${port}/`, connections: 4, rate: 200, durationMs: 1000, timeoutMs: 5000 });
      assert.ok(samples.length >= 150, `${samples.length} requests`);
      assert.ok(samples.every((s) => s.ok));
      const negative = samples.filter((s) => s.latencyMs <= 0);
      assert.equal(negative.length, 0, `${negative.length} requests with a latency ≤ 0, e.g. ${negative[0]?.latencyMs} ms`);
    } finally {
      server.close();
    }
  });
});
