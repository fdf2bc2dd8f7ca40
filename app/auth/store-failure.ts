/**
 * Turning a store that cannot be reached or written into an answer: 503 with a JSON body that
 * says which (and Retry-After), plus one error-log line naming the database file or server. Only
 * requests that needed the store get it; a request served from caches never reaches the store.
 *
 * Log lines are rate-limited per failure (kind and target): a database that is down under load
 * would otherwise write one line per request.
 */
import type { Response } from '../interface.ts';
import { StoreUnavailableError } from '../store/store-error.ts';

/** Answers a store failure, or rethrows anything else (a bug: the host's 500). */
export type StoreFailureHandler = (error: unknown) => Response;

/** Where the lines go: level and message. */
export type AuthLog = (level: 'ERROR' | 'WARNING' | 'INFO', message: string) => void;

/** Seconds a client is told to wait (Retry-After) before trying again. */
export const STORE_RETRY_AFTER_S = 5;

/** The default log: a line in the error log's format on stderr. */
export const stderrLog: AuthLog = (level, message) => {
  const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
  process.stderr.write(`[${stamp} +0000] [${process.pid}] [${level}] ${message}\n`);
};

/** The 503 for a store failure. */
export function storeUnavailable(error: StoreUnavailableError): Response {
  return {
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': String(STORE_RETRY_AFTER_S) },
    body: JSON.stringify({ detail: error.publicDetail, code: error.kind === 'read-only' || error.kind === 'full' ? 'store_read_only' : 'store_unavailable' }),
  };
}

/** A handler that logs (at most one line per failure kind and target per `intervalMs`) and answers 503. */
export function storeFailureHandler(log: AuthLog = stderrLog, options: { intervalMs?: number; now?: () => number } = {}): StoreFailureHandler {
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? Date.now;
  const last = new Map<string, { at: number; suppressed: number }>();
  return (error) => {
    if (!(error instanceof StoreUnavailableError)) throw error;
    const key = `${error.kind} ${error.target}`;
    const seen = last.get(key);
    const t = now();
    if (seen === undefined || t - seen.at >= intervalMs) {
      const more = seen !== undefined && seen.suppressed > 0 ? ` (${seen.suppressed} more like it since the last line)` : '';
      log('ERROR', `${error.logLine}${more}`);
      last.set(key, { at: t, suppressed: 0 });
    } else {
      seen.suppressed++;
    }
    return storeUnavailable(error);
  };
}
