/**
 * The default loader: autocannon through its programmatic API, in the bench's own process (its
 * CPU is measured with process.cpuUsage). On this machine autocannon is heavier than wrk (about
 * one core for itself; against uWS it tops out near half of wrk's rate), so with it the bench
 * partly measures autocannon: compare server CPU per request too.
 */
import { createRequire } from 'node:module';
import type { Loader, LoadPlan, LoadResult, ProgressCallback } from './load-plan.ts';

interface AutocannonHistogram {
  p50: number;
  p97_5: number;
  p99: number;
  max: number;
}
export interface AutocannonResult {
  requests: { total: number };
  latency: AutocannonHistogram;
  throughput: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: object) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: object) => void;
}
interface AutocannonInstance extends NodeJS.EventEmitter {
  stop(): void;
}
type AutocannonFn = (
  options: Record<string, unknown>,
  callback: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

/**
 * The request list for a token chain. autocannon resets a connection's context after each pass
 * over the request list, so the chain cannot live in the context: a shared queue does it. After
 * a response autocannon calls onResponse before building that connection's next request, so the
 * token a response brings is queued before anyone needs one.
 */
function chainedRequest(plan: LoadPlan): AutocannonRequest {
  const chain = plan.chain!;
  const queue = [...chain.tokens];
  const pattern = new RegExp(`"${chain.responseField}"\\s*:\\s*"([^"]+)"`);
  return {
    method: plan.method,
    headers: plan.headers,
    setupRequest(request) {
      request.body = chain.before + (queue.shift() ?? '') + chain.after;
      return request;
    },
    onResponse(status, body) {
      if (status < 200 || status >= 300) return;
      const next = pattern.exec(body);
      if (next !== null) queue.push(next[1]!);
    },
  };
}

// autocannon ships no type declarations; the few shapes used here are declared above.
const autocannon = createRequire(import.meta.url)('autocannon') as AutocannonFn;

/** One autocannon run to completion, for the bench's own small scripts (bench:store, bench:multihost). */
export function runAutocannon(options: Record<string, unknown>): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** autocannon, run in-process. */
export const autocannonLoader: Loader = {
  name: 'autocannon',
  run(plan: LoadPlan, onProgress: ProgressCallback, signal?: AbortSignal): Promise<LoadResult> {
    const cpuBefore = process.cpuUsage();
    const started = Date.now();
    let counted = 0;
    return new Promise<LoadResult>((resolve, reject) => {
      const options: Record<string, unknown> = {
        url: plan.url,
        connections: plan.connections,
        pipelining: plan.chain ? 1 : plan.pipelining,
        duration: plan.durationSeconds,
        method: plan.method,
        headers: plan.headers,
        timeout: 10,
      };
      if (plan.chain) options.requests = [chainedRequest(plan)];
      else if (plan.body !== undefined) options.body = plan.body;
      const instance = autocannon(options, (error, result) => {
        clearInterval(ticker);
        signal?.removeEventListener('abort', abort);
        if (error) return reject(error);
        const cpu = process.cpuUsage(cpuBefore);
        const statusCounts: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = Number(stat.count);
        resolve({
          requests: result.requests.total,
          seconds: result.duration,
          bytes: result.throughput.total,
          latency: {
            p50: result.latency.p50,
            p97_5: result.latency.p97_5,
            p99: result.latency.p99,
            max: result.latency.max,
          },
          errors: result.errors,
          non2xx: result.non2xx,
          statusCounts,
          loaderCpuSeconds: (cpu.user + cpu.system) / 1e6,
        });
      });
      instance.on('tick', (tick: { counter: number }) => {
        counted += tick.counter;
      });
      const ticker = setInterval(() => onProgress((Date.now() - started) / 1000, counted), 250);
      const abort = () => instance.stop();
      signal?.addEventListener('abort', abort, { once: true });
    });
  },
};
