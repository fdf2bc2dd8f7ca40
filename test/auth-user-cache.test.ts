/**
 * The user cache in front of the per-request lookup (user-cache.ts): rows reused for at most
 * ttlMs; concurrent misses on a store that answers later share one query; a row in its last
 * fifth is reloaded in the background, so a busy user never waits for the store and a
 * deactivation is still seen within ttlMs; a failing store is an error, never "no such user".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthUser } from '../app/auth/authentication.ts';
import { CachedUserLookup } from '../app/auth/user-cache.ts';
import { StoreUnavailableError } from '../app/store/store-error.ts';

function source(async: boolean) {
  const state = { active: true, calls: 0, failing: false, release: [] as (() => void)[] };
  const row = (): AuthUser => ({ id: 1, username: 'alice', isActive: state.active });
  return Object.assign(state, {
    byId(id: number) {
      state.calls++;
      if (!async) {
        if (state.failing) throw new StoreUnavailableError('unavailable', 'db', 'down');
        return id === 1 ? row() : undefined;
      }
      return new Promise<AuthUser | undefined>((resolve, reject) =>
        state.release.push(() => (state.failing ? reject(new StoreUnavailableError('unavailable', 'db', 'down')) : resolve(id === 1 ? row() : undefined))),
      );
    },
  });
}

describe('user cache', () => {
  it('reuses a row for at most ttlMs (synchronous store)', () => {
    let now = 0;
    const s = source(false);
    const cache = new CachedUserLookup(s, { ttlMs: 1000, now: () => now });
    assert.deepEqual(cache.byId(1), { id: 1, username: 'alice', isActive: true });
    now = 500;
    cache.byId(1);
    assert.equal(s.calls, 1);
    s.active = false;
    now = 1000;
    assert.equal((cache.byId(1) as AuthUser).isActive, false, 'deactivation seen once ttlMs has passed');
    assert.equal(cache.byId(2), undefined);
    assert.equal(cache.byId(2), undefined);
    assert.equal(s.calls, 4, 'unknown ids are never cached');
  });

  it('shares one query between concurrent misses, and reloads a hot row in the background', async () => {
    let now = 0;
    const s = source(true);
    const cache = new CachedUserLookup(s, { ttlMs: 1000, now: () => now });
    const waiting = [cache.byId(1), cache.byId(1), cache.byId(1)];
    assert.equal(s.calls, 1);
    s.release.shift()!();
    for (const user of await Promise.all(waiting)) assert.equal(user!.isActive, true);
    now = 850; // in the last fifth: served at once, reloaded behind
    s.active = false;
    assert.equal((cache.byId(1) as AuthUser).isActive, true);
    assert.equal(s.calls, 2);
    s.release.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    now = 900;
    assert.equal((cache.byId(1) as AuthUser).isActive, false, 'the reloaded row is served: deactivated within ttlMs');
  });

  it('a failing store is an error for the requests that wait for it, never "no such user"', async () => {
    let now = 0;
    const s = source(true);
    const cache = new CachedUserLookup(s, { ttlMs: 1000, now: () => now });
    const first = cache.byId(1);
    s.release.shift()!();
    await first;
    s.failing = true;
    now = 900;
    cache.byId(1); // starts a background reload that will fail
    now = 1001;
    const waiting = cache.byId(1);
    s.release.shift()!();
    await assert.rejects(Promise.resolve(waiting), StoreUnavailableError);
    const again = cache.byId(1);
    s.release.shift()!();
    await assert.rejects(Promise.resolve(again), StoreUnavailableError);
  });
});
