/**
 * What a loader is asked to do and what it reports, independent of the tool: autocannon and wrk
 * both take a LoadPlan and return a LoadResult, so every table downstream is the same.
 */

/**
 * A request body that must change on every request: each request spends one token and the
 * response hands out the next (refresh-token rotation). The body is `before + token + after`;
 * the next token is the string value of `responseField` in the JSON response.
 */
export interface TokenChain {
  /** One fresh token per connection at least (more is fine; extra ones are left unused). */
  tokens: string[];
  before: string;
  after: string;
  responseField: string;
}

/** One load run: a single request shape hammered for a fixed time. */
export interface LoadPlan {
  /** Absolute URL (http://host:port/path). */
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Fixed body (ignored when `chain` is set). */
  body?: string;
  chain?: TokenChain;
  connections: number;
  pipelining: number;
  durationSeconds: number;
}

/** Latency percentiles in milliseconds. */
export interface Latency {
  p50: number;
  p97_5: number;
  p99: number;
  max: number;
}

/** What a load run measured, in the same units whichever tool ran it. */
export interface LoadResult {
  /** Responses received (any status). */
  requests: number;
  /** Length of the measured window, in seconds. */
  seconds: number;
  /** Response bytes received (headers and bodies). */
  bytes: number;
  latency: Latency;
  /** Socket errors (connect, read, write) and timeouts. */
  errors: number;
  /** Responses with a status outside 2xx (wrk: status ≥ 400, all it can tell). */
  non2xx: number;
  /** Count per status code, when the tool tells. */
  statusCounts?: Record<string, number>;
  /** CPU seconds the load generator itself used. */
  loaderCpuSeconds: number;
}

/** Called about every quarter second while a run is going. */
export type ProgressCallback = (elapsedSeconds: number, requestsSoFar: number | undefined) => void;

/** A load generator. */
export interface Loader {
  readonly name: 'autocannon' | 'wrk';
  run(plan: LoadPlan, onProgress: ProgressCallback, signal?: AbortSignal): Promise<LoadResult>;
}
