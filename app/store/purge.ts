/**
 * Periodic clean-up of rows that can no longer matter: outstanding/blacklisted tokens past their
 * `exp` (simplejwt's flushexpiredtokens, run for you) and login counters older than the throttle
 * window. The timer is unref'd: it never keeps a process alive that has nothing else to do.
 */
import type { Awaitable, Store } from './store.ts';

/** When and how far back the purge runs. */
export interface PurgeOptions {
  /** Milliseconds between runs. Default: one hour. */
  intervalMs?: number;
  /** Login counters idle for longer than this (ms) are dropped. Default: one day. */
  attemptsMaxAgeMs?: number;
  /** Clock in epoch milliseconds. */
  now?: () => number;
  /** Told about failures (the purge keeps running); default: ignore. */
  onError?: (error: unknown) => void;
}

/** What one purge removed. */
export interface PurgeResult {
  readonly tokens: number;
  readonly loginAttempts: number;
}

/** Delete expired tokens and stale login counters once (at once on SQLite, later on Postgres). */
export function purgeExpired(store: Store, options: Pick<PurgeOptions, 'attemptsMaxAgeMs' | 'now'> = {}): Awaitable<PurgeResult> {
  const now = (options.now ?? Date.now)();
  const tokens = store.tokens.purgeExpired(Math.floor(now / 1000));
  const loginAttempts = store.loginAttempts.purge(now - (options.attemptsMaxAgeMs ?? 24 * 60 * 60 * 1000));
  if (tokens instanceof Promise || loginAttempts instanceof Promise) {
    return Promise.all([tokens, loginAttempts]).then(([t, l]) => ({ tokens: t, loginAttempts: l }));
  }
  return { tokens, loginAttempts };
}

/** Purge now and then every `intervalMs`; returns a function that stops it. */
export function startPurge(store: Store, options: PurgeOptions = {}): () => void {
  const run = (): void => {
    try {
      const done = purgeExpired(store, options);
      if (done instanceof Promise) done.catch((error: unknown) => options.onError?.(error));
    } catch (error) {
      // SQLITE_BUSY under a long write elsewhere, or a closed store at shutdown: try next time.
      options.onError?.(error);
    }
  };
  run();
  const timer = setInterval(run, options.intervalMs ?? 60 * 60 * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
