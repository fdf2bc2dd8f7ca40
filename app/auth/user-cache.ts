/**
 * An optional short-lived cache in front of the per-request user lookup. simplejwt loads the user
 * on every request, so deactivating a user locks them out at once; with SQLite in WAL mode each
 * lookup costs a read transaction (~2–3 µs here, as much as verifying the token). With a TTL of
 * T ms a worker reuses a row it loaded for up to T ms: a deactivated or deleted user is locked
 * out within T ms instead of at once. On by default with T = 1000 (USER_CACHE_MS,
 * DEFAULT_USER_CACHE_MS in create-auth.ts); USER_CACHE_MS=0 turns it off. See docs/auth.md.
 *
 * Only found users are cached (an unknown id always reaches the database), and the cache is
 * bounded: past `maxEntries` it starts over rather than growing. With a store that answers
 * later (Postgres), concurrent misses for one id share one query.
 */
import type { Awaitable } from '../store/store.ts';
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
  readonly #pending = new Map<number, Promise<AuthUser | undefined>>();

  constructor(source: UserLookup, options: UserCacheOptions) {
    this.#source = source;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  byId(id: number): Awaitable<AuthUser | undefined> {
    const now = this.#now();
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.expiresAt > now) {
      // A row in its last fifth is reloaded in the background while it is still served, so a
      // busy user's requests never wait for the store (the row served is never older than ttlMs).
      if (entry.expiresAt - now < this.#ttlMs / 5 && !this.#pending.has(id)) this.#reload(id);
      return entry.user;
    }
    const pending = this.#pending.get(id);
    if (pending !== undefined) return pending;
    const found = this.#source.byId(id);
    if (!(found instanceof Promise)) return this.#remember(id, found, now);
    const shared = found.then(
      (user) => {
        this.#pending.delete(id);
        return this.#remember(id, user, this.#now());
      },
      (error: unknown) => {
        this.#pending.delete(id);
        throw error;
      },
    );
    this.#pending.set(id, shared);
    return shared;
  }

  #reload(id: number): void {
    let found: Awaitable<AuthUser | undefined>;
    try {
      found = this.#source.byId(id);
    } catch {
      return; // the entry stays until it expires; the request that needs the store will see why
    }
    if (!(found instanceof Promise)) {
      this.#remember(id, found, this.#now());
      return;
    }
    const shared = found.then((user) => this.#remember(id, user, this.#now()));
    this.#pending.set(id, shared);
    // A failed reload is no one's error unless a request waits for it (then it gets the 503).
    shared.then(
      () => this.#pending.delete(id),
      () => this.#pending.delete(id),
    );
  }

  #remember(id: number, user: AuthUser | undefined, now: number): AuthUser | undefined {
    if (user === undefined) {
      this.#entries.delete(id);
      return undefined;
    }
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    this.#entries.set(id, { user, expiresAt: now + this.#ttlMs });
    return user;
  }
}
