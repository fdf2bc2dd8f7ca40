/**
 * Turning the steady client's samples into what a reader asks of a fault: how many of the
 * normal requests failed, how slow the others got, when the fault happened, and how long it took
 * until service was normal again. Pure functions over samples, so the test suite can check them.
 */
import type { RequestSample } from './steady-client.ts';

/** When a fault happened, relative to the start of the steady client (ms); a span when it lasts. */
export interface FaultMark {
  atMs: number;
  /** End of a fault that lasts (slow clients, a blocking request); equal to atMs for an instant. */
  untilMs: number;
  label: string;
}

/** One slice of the timeline. */
export interface TimelineBucket {
  /** Start of the slice, ms since the client started. */
  atMs: number;
  /** Successful responses per second in the slice (by due time). */
  okPerSecond: number;
  /** Failed requests per second in the slice. */
  errorsPerSecond: number;
  /** Slowest successful response of the slice, ms (NaN when none). */
  maxLatencyMs: number;
}

/** The normal client's view of one fault run. */
export interface NormalTraffic {
  requests: number;
  errors: number;
  /** errors / requests, 0–1. */
  errorRate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Share (0–1) of requests that failed or took longer than `slowMs`. */
  slowOrFailedShare: number;
  slowMs: number;
  /** Failed requests by what they got: a status code, or the socket error. */
  failures: Record<string, number>;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Latency and error figures of `samples` (failed requests count as errors, not as latencies). */
export function normalTraffic(samples: readonly RequestSample[], slowMs: number): NormalTraffic {
  const ok = samples.filter((s) => s.ok).map((s) => s.latencyMs).sort((a, b) => a - b);
  const errors = samples.length - ok.length;
  const slow = samples.filter((s) => !s.ok || s.latencyMs > slowMs).length;
  const failures: Record<string, number> = {};
  for (const s of samples) if (!s.ok) failures[s.failure ?? 'error'] = (failures[s.failure ?? 'error'] ?? 0) + 1;
  return {
    requests: samples.length,
    errors,
    errorRate: samples.length ? errors / samples.length : 0,
    p50: quantile(ok, 0.5),
    p90: quantile(ok, 0.9),
    p99: quantile(ok, 0.99),
    max: ok.length ? ok[ok.length - 1]! : Number.NaN,
    slowOrFailedShare: samples.length ? slow / samples.length : 0,
    slowMs,
    failures,
  };
}

/** The samples sliced into `bucketMs` slices over `durationMs`. */
export function timeline(samples: readonly RequestSample[], durationMs: number, bucketMs: number): TimelineBucket[] {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const out: TimelineBucket[] = Array.from({ length: n }, (_, i) => ({ atMs: i * bucketMs, okPerSecond: 0, errorsPerSecond: 0, maxLatencyMs: Number.NaN }));
  const perSecond = 1000 / bucketMs;
  for (const s of samples) {
    const b = out[Math.min(n - 1, Math.floor(s.dueMs / bucketMs))]!;
    if (s.ok) {
      b.okPerSecond += perSecond;
      b.maxLatencyMs = Number.isNaN(b.maxLatencyMs) ? s.latencyMs : Math.max(b.maxLatencyMs, s.latencyMs);
    } else b.errorsPerSecond += perSecond;
  }
  return out;
}

/** How many normal requests in a row (by due time) mean the service is back to normal. */
export const NORMAL_RUN = 20;

/**
 * For each instant fault, the time from the fault until service was normal again: until the
 * first request, due after the fault and before the next one, that starts a run of NORMAL_RUN
 * requests that all succeeded within `slowMs`. A run, not the last bad request: on a busy machine
 * a stray slow request long after the fault says nothing about the fault. When no such run
 * starts before the next fault (or the end), the whole interval is reported.
 */
export function recoveryTimes(samples: readonly RequestSample[], marks: readonly FaultMark[], slowMs: number, durationMs: number): number[] {
  const sorted = [...samples].sort((x, y) => x.dueMs - y.dueMs);
  return marks.map((mark, i) => {
    const next = marks[i + 1]?.atMs ?? durationMs;
    const after = sorted.filter((s) => s.dueMs >= mark.atMs && s.dueMs < next);
    let run = 0;
    for (let j = 0; j < after.length; j++) {
      run = after[j]!.ok && after[j]!.latencyMs <= slowMs ? run + 1 : 0;
      if (run === NORMAL_RUN) return after[j - NORMAL_RUN + 1]!.dueMs - mark.atMs;
    }
    return next - mark.atMs;
  });
}

/** The samples due inside any of the spans (for faults that last: the traffic under the fault). */
export function during(samples: readonly RequestSample[], marks: readonly FaultMark[]): RequestSample[] {
  return samples.filter((s) => marks.some((m) => s.dueMs >= m.atMs && s.dueMs < m.untilMs));
}
