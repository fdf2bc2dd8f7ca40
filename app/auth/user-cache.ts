/**
 * An optional short-lived cache in front of the per-request user lookup. simplejwt loads the user
 * on every request, so deactivating a user locks them out at once; with SQLite in WAL mode each
 * lookup costs a read transaction (~2–3 µs here, as much as verifying the token). With a TTL of
 * T ms a worker reuses a row it loaded for up to T ms: a deactivated or deleted user is locked
 * out within T ms instead of at once. Off (0) by default; see docs/auth.md.
 *
 * Only found users are cached (an unknown id always reaches the database), and the cache is
 * bounded: past `maxEntries` it starts over rather than growing.
 */
import type { AuthUser, UserLookup } from './authentication.ts';

/** How long rows are reused, and how many are kept. */
export interface UserCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries?: number;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

/** A UserLookup that remembers what another one found, for a while. */
export class CachedUserLookup implements UserLookup {
  readonly #source: UserLookup;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<number, { user: AuthUser; expiresAt: number }>();

  constructor(source: UserLookup, options: UserCacheOptions) {
    this.#source = source;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  byId(id: number): AuthUser | undefined {
    const now = this.#now();
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.expiresAt > now) return entry.user;
    const user = this.#source.byId(id);
    if (user === undefined) {
      this.#entries.delete(id);
      return undefined;
    }
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    this.#entries.set(id, { user, expiresAt: now + this.#ttlMs });
    return user;
  }
}
