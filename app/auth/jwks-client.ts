/**
 * The keys of a JWKS URL (simplejwt's JWK_URL), for a service that verifies tokens another one
 * signs. Keys are fetched at start, kept for `cacheMs` (then refetched in the background while
 * the old ones keep working), and refetched at once when a token names a kid not seen yet (a
 * rotation on the signing side), at most once per `cooldownMs` so a stream of tokens with made-up
 * kids cannot turn into a stream of fetches. A failed fetch keeps the keys already known.
 */
import type { KeyObject } from 'node:crypto';
import type { Algorithm } from './algorithms.ts';
import { keysFromJwks } from './key-set.ts';

/** How the client fetches and caches. */
export interface JwksClientOptions {
  /** Keys are refetched after this long (ms). Default 300 000 (PyJWKClient's lifespan). */
  readonly cacheMs?: number;
  /** Least time between two fetches caused by unknown kids (ms). Default 30 000 (jose's cooldown). */
  readonly cooldownMs?: number;
  /** A fetch that takes longer fails (ms). Default 5000. */
  readonly timeoutMs?: number;
  /** Told about failed fetches. */
  readonly onError?: (error: Error) => void;
  readonly now?: () => number;
}

export class JwksClient {
  readonly url: string;
  readonly #algorithm: Algorithm;
  readonly #cacheMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  readonly #onError: (error: Error) => void;
  readonly #now: () => number;
  #keys = new Map<string, KeyObject>();
  #fetchedAt = -Infinity;
  #lastAttempt = -Infinity;
  #inFlight: Promise<void> | null = null;
  /** How many fetches were made (for operators and tests). */
  fetches = 0;

  constructor(url: string, algorithm: Algorithm, options: JwksClientOptions = {}) {
    this.url = url;
    this.#algorithm = algorithm;
    this.#cacheMs = options.cacheMs ?? 300_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /** The key with this kid, if known; starts a background refetch when the cache is old. */
  get(kid: string): KeyObject | undefined {
    if (this.#now() - this.#fetchedAt >= this.#cacheMs && this.#inFlight === null) void this.refresh();
    return this.#keys.get(kid);
  }

  /**
   * A token named `kid`, which is unknown: refetch (unless one was tried within the cooldown) and
   * say whether the kid is known now.
   */
  async learn(kid: string): Promise<boolean> {
    if (this.#keys.has(kid)) return true;
    if (this.#inFlight === null && this.#now() - this.#lastAttempt < this.#cooldownMs) return false;
    await this.refresh();
    return this.#keys.has(kid);
  }

  /** Fetch the JWKS now (concurrent calls share one fetch); failures are reported, not thrown. */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#fetch().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #fetch(): Promise<void> {
    this.#lastAttempt = this.#now();
    this.fetches++;
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(this.#timeoutMs), headers: { accept: 'application/json' } });
      if (response.status !== 200) throw new Error(`${this.url} answered ${response.status}`);
      const keys = keysFromJwks(this.#algorithm, await response.json(), false, this.url);
      if (keys.size === 0) throw new Error(`${this.url} has no ${this.#algorithm} signing keys`);
      this.#keys = keys;
      this.#fetchedAt = this.#now();
    } catch (error) {
      this.#onError(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
