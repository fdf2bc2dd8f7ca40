/**
 * The normal client of the fault scenarios: a few keep-alive connections sending one request
 * shape at a steady rate, recording every request (when it was due, how long it took, whether it
 * succeeded). Latency is counted from when the request was due, not from when it could be sent,
 * so a server that stalls shows its stall in the figures (no coordinated omission). It never
 * retries: a request that fails is an error, as for a browser or an API client that does not.
 */
import { Agent, request } from 'node:http';

/** One request of the steady client. */
export interface RequestSample {
  /** Milliseconds since the client started, when the request was due. */
  dueMs: number;
  /** From due to the end of the response (or the failure), milliseconds. */
  latencyMs: number;
  ok: boolean;
  /** For a failed request: the status it got, or the socket error (ECONNRESET, timeout…). */
  failure?: string;
}

/** What the client is asked to do. */
export interface SteadyPlan {
  url: string;
  connections: number;
  /** Requests per second over all connections. */
  rate: number;
  durationMs: number;
  /** A request with no answer after this long is an error. */
  timeoutMs: number;
}

/** Run the client; resolves with every sample once the duration has passed and the last answers are in. */
export function runSteadyClient(plan: SteadyPlan, signal?: AbortSignal): Promise<RequestSample[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.connections });
  const samples: RequestSample[] = [];
  const start = performance.now();
  const interval = (1000 * plan.connections) / plan.rate;
  const one = (dueMs: number): Promise<void> =>
    new Promise((resolve) => {
      let done = false;
      const finish = (failure: string | undefined) => {
        if (done) return;
        done = true;
        const sample: RequestSample = { dueMs, latencyMs: performance.now() - start - dueMs, ok: failure === undefined };
        if (failure !== undefined) sample.failure = failure;
        samples.push(sample);
        resolve();
      };
      const req = request(plan.url, { agent }, (res) => {
        res.on('data', () => {});
        const status = res.statusCode ?? 0;
        res.on('end', () => finish(status >= 200 && status < 300 ? undefined : String(status)));
        res.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? 'reset'));
      });
      req.setTimeout(plan.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? 'error'));
      req.end();
    });
  const loop = async (offset: number): Promise<void> => {
    for (let due = offset; due < plan.durationMs && !signal?.aborted; due += interval) {
      const now = performance.now() - start;
      if (due > now) await new Promise((r) => setTimeout(r, due - now));
      await one(due);
    }
  };
  const loops = Array.from({ length: plan.connections }, (_, i) => loop((i * interval) / plan.connections));
  return Promise.all(loops).then(() => {
    agent.destroy();
    return samples.sort((a, b) => a.dueMs - b.dueMs);
  });
}
