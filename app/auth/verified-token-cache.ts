/**
 * Remembers access tokens that passed every check, so that the next request carrying the very
 * same token string skips the HMAC and the JSON parse (fast-jwt's `cache: true` does the same).
 * A client sends one token for minutes, so nearly every authenticated request is a hit.
 *
 * Why this is safe: the key is the complete token, signature included, so any other token (a
 * tampered one included) misses and is verified in full; the only checks that depend on time,
 * `exp` and `nbf`, are re-applied on every hit with the current clock; access tokens cannot be
 * revoked in simplejwt (only refresh tokens are blacklisted), so a cached "valid" cannot go
 * stale while the token is unexpired; the user is still looked up on every request. The cache
 * is bounded: when full, the oldest entry goes.
 */
import type { Claims } from './jwt.ts';

/** Default number of tokens remembered (a few MB at most). */
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

/** A bounded map from token string to its validated, frozen claims. */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Claims>();
  readonly #maxEntries: number;
  readonly #leeway: number;
  readonly #now: () => number;

  /** `leeway` in seconds, as the codec applies it; `now` in epoch milliseconds. */
  constructor(options: { maxEntries?: number; leeway?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_SIZE;
    this.#leeway = options.leeway ?? 0;
    this.#now = options.now ?? Date.now;
  }

  /** The claims of a remembered token that is still within exp/nbf, or undefined. */
  get(token: string): Claims | undefined {
    const claims = this.#entries.get(token);
    if (claims === undefined) return undefined;
    const now = Math.floor(this.#now() / 1000);
    const exp = claims.exp as number;
    const nbf = claims.nbf as number | undefined;
    if (exp <= now - this.#leeway || (nbf !== undefined && nbf > now + this.#leeway)) {
      this.#entries.delete(token);
      return undefined;
    }
    return claims;
  }

  /** Remember a token that passed validation; its claims are frozen, as they are now shared. */
  set(token: string, claims: Claims): void {
    if (this.#maxEntries <= 0) return;
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, Object.freeze(claims));
  }

  /** How many tokens are remembered. */
  get size(): number {
    return this.#entries.size;
  }
}
