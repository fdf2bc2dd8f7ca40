/**
 * The normal client of the fault scenarios: a few keep-alive connections sending one request
 * shape at a steady rate, recording every request (when it was due, how long it took, whether it
 * succeeded). A request held back by the one before it on its connection (a server that stalls)
 * is counted from when it was due, not from when it could be sent, so the stall shows in the
 * figures (no coordinated omission); a request sent on time is counted from when it was sent.
 * (Counting every request from its due time made half of them negative: a timer fires up to a
 * millisecond before its time, as Node keeps the loop's clock in whole, cached milliseconds.) It never
 * retries: a request that fails is an error, as for a browser or an API client that does not.
 */
import { Agent, request } from 'node:http';

/** One request of the steady client. */
export interface RequestSample {
  /** Milliseconds since the client started, when the request was due. */
  dueMs: number;
  /** From due (or from the send, if that was later than due only by the client's own timer) to the end of the response (or the failure), milliseconds. */
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
  const one = (dueMs: number, fromMs: number): Promise<void> =>
    new Promise((resolve) => {
      let done = false;
      const finish = (failure: string | undefined) => {
        if (done) return;
        done = true;
        const sample: RequestSample = { dueMs, latencyMs: performance.now() - start - fromMs, ok: failure === undefined };
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
      // Behind schedule (the last answer on this connection came after this one was due): from
      // due. On time: from the send, early or late by the timer's grain.
      let from = due;
      if (due > now) {
        await new Promise((r) => setTimeout(r, due - now));
        from = performance.now() - start;
      }
      await one(due, from);
    }
  };
  const loops = Array.from({ length: plan.connections }, (_, i) => loop((i * interval) / plan.connections));
  return Promise.all(loops).then(() => {
    agent.destroy();
    return samples.sort((a, b) => a.dueMs - b.dueMs);
  });
}
