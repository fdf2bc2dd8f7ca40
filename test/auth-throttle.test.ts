/**
 * Login throttling (issue 5 §5, issue 14 defect 11): slowed down, then 429 with Retry-After; per
 * (client address, username) and per client address, so that failures from elsewhere never lock
 * the owner out; counted before the password check; shared through the database. The clock and
 * the sleep are injected, so nothing here waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, clientAddress, trustedProxyCheck } from '../app/auth/client-address.ts';
import { LoginThrottle, PAIR_RULE, USERNAME_RULE, delayFor } from '../app/auth/login-throttle.ts';
import { RequestHeaders } from '../app/headers.ts';
import { HostedRequest } from '../app/request.ts';
import { bufferedBody } from '../app/body.ts';
import { openStore } from '../app/store/store.ts';
import { ALICE, authFixture } from './auth-fixture.ts';

const WRONG = { username: 'alice', password: 'not-her-password' };

describe('login throttling per (address, username)', () => {
  it('goes full speed, then slows down, then locks with 429 and Retry-After until the lockout ends', async () => {
    const f = await authFixture();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await f.client.post('/api/token/', { json: WRONG })).status);
      assert.deepEqual(statuses, Array(10).fill(401));
      assert.deepEqual(f.sleeps, [250, 500, 1000, 2000, 4000], 'delays after the 5 free failures');

      const locked = await f.client.post('/api/token/', { json: ALICE });
      assert.equal(locked.status, 429, 'even the right password waits out the lock');
      assert.equal(locked.header('retry-after'), '900');
      assert.deepEqual(locked.json(), { detail: 'Request was throttled. Expected available in 900 seconds.' });
      f.clock.advance(899);
      const almost = await f.client.post('/api/token/', { json: ALICE });
      assert.deepEqual([almost.status, almost.header('retry-after'), almost.json().detail], [429, '1', 'Request was throttled. Expected available in 1 second.']);
      f.clock.advance(1);
      assert.equal((await f.client.post('/api/token/', { json: ALICE })).status, 200);
      assert.equal(f.sleeps.length, 5, 'locked attempts were refused without waiting');
    } finally {
      await f.close();
    }
  });

  it('a lock set off from one address does not lock the owner out from hers (lockout is no weapon)', async () => {
    const f = await authFixture();
    try {
      for (let i = 0; i < 10; i++) assert.equal((await f.client.post('/api/token/', { json: WRONG, client: '203.0.113.66' })).status, 401);
      assert.equal((await f.client.post('/api/token/', { json: ALICE, client: '203.0.113.66' })).status, 429, "the attacker's address is locked");
      assert.equal((await f.client.post('/api/token/', { json: ALICE, client: '198.51.100.20' })).status, 200, "the owner's address works");
      // Many addresses guessing one username only slow it down (USERNAME_RULE), never lock it.
      for (let i = 0; i < 30; i++) await f.client.post('/api/token/', { json: WRONG, client: `192.0.2.${i + 1}` });
      f.sleeps.length = 0;
      assert.equal((await f.client.post('/api/token/', { json: ALICE, client: '198.51.100.20' })).status, 200);
      assert.ok(f.sleeps.length === 1 && f.sleeps[0]! <= USERNAME_RULE.maxDelayMs, `slowed at most ${USERNAME_RULE.maxDelayMs} ms: ${f.sleeps}`);
    } finally {
      await f.close();
    }
  });

  it('a successful login clears the username counter; idle counters are forgotten', async () => {
    const f = await authFixture();
    try {
      for (let i = 0; i < 4; i++) await f.client.post('/api/token/', { json: WRONG });
      assert.equal((await f.client.post('/api/token/', { json: ALICE })).status, 200);
      for (let i = 0; i < 5; i++) await f.client.post('/api/token/', { json: WRONG });
      assert.deepEqual(f.sleeps, [], 'five fresh free attempts after the success');
      f.clock.advance(15 * 60);
      for (let i = 0; i < 5; i++) await f.client.post('/api/token/', { json: WRONG });
      assert.deepEqual(f.sleeps, [], 'the window passed: the counter started again');
    } finally {
      await f.close();
    }
  });

  it('counts attempts before checking passwords, so parallel guesses cannot all slip through', async () => {
    const f = await authFixture();
    try {
      const results = await Promise.all(Array.from({ length: 12 }, () => f.client.post('/api/token/', { json: WRONG })));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
    } finally {
      await f.close();
    }
  });

  it('locks unknown usernames too, without creating anything but a counter', async () => {
    const f = await authFixture();
    try {
      for (let i = 0; i < 10; i++) await f.client.post('/api/token/', { json: { username: 'ghost', password: 'x' } });
      assert.equal((await f.client.post('/api/token/', { json: { username: 'ghost', password: 'x' } })).status, 429);
      assert.equal((await f.client.post('/api/token/', { json: ALICE })).status, 200, 'other users are not affected');
      assert.equal(await f.auth.store.users.count(), 1);
    } finally {
      await f.close();
    }
  });
});

describe('login throttling per client address', () => {
  const small = { freeFailures: 2, lockAfter: 4, lockoutMs: 60_000, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 1000 };

  it('locks an address that tries many usernames; other addresses go on', async () => {
    const f = await authFixture({ throttle: { address: small } });
    try {
      for (let i = 0; i < 4; i++) {
        assert.equal((await f.client.post('/api/token/', { json: { username: `user${i}`, password: 'x' }, client: '203.0.113.7' })).status, 401);
      }
      assert.deepEqual(f.sleeps, [100, 200]);
      const locked = await f.client.post('/api/token/', { json: ALICE, client: '203.0.113.7' });
      assert.deepEqual([locked.status, locked.header('retry-after')], [429, '60']);
      assert.equal((await f.client.post('/api/token/', { json: ALICE, client: '203.0.113.8' })).status, 200);
    } finally {
      await f.close();
    }
  });

  it('reads the client from X-Forwarded-For only behind a trusted proxy', async () => {
    const f = await authFixture({ throttle: { address: small } });
    try {
      const viaProxy = (xff: string) => f.client.post('/api/token/', { json: { username: 'x', password: 'y' }, headers: { 'x-forwarded-for': xff } });
      for (let i = 0; i < 4; i++) await viaProxy('198.51.100.1');
      assert.equal((await viaProxy('198.51.100.1')).status, 429);
      assert.equal((await f.client.post('/api/token/', { json: ALICE, headers: { 'x-forwarded-for': '198.51.100.2' } })).status, 200);
      // A spoofed left-most entry does not help: the proxy appended the real address on the right.
      assert.equal((await viaProxy('10.9.9.9, 198.51.100.1')).status, 429);
      // From an untrusted peer the header is ignored: the peer itself is the client.
      const direct = await f.client.post('/api/token/', { json: ALICE, client: '192.0.2.50', headers: { 'x-forwarded-for': '198.51.100.1' } });
      assert.equal(direct.status, 200);
    } finally {
      await f.close();
    }
  });
});

describe('throttle building blocks', () => {
  it('delays double per failure up to the cap', () => {
    assert.deepEqual([4, 5, 6, 9, 20].map((n) => delayFor(n, PAIR_RULE)), [0, 250, 500, 4000, 4000]);
  });

  it('shares counters between connections to the same database (one per worker)', async () => {
    const f = await authFixture();
    const other = openStore(f.dataDir);
    try {
      let now = 1_000_000;
      const a = new LoginThrottle(f.auth.store.loginAttempts, { now: () => now });
      const b = new LoginThrottle(other.loginAttempts, { now: () => now });
      for (let i = 0; i < 5; i++) assert.equal(((await a.admit('dave', '192.0.2.1')) as { delayMs: number }).delayMs, 0);
      for (let i = 0; i < 5; i++) assert.equal((await b.admit('dave', '192.0.2.1')).admitted, true);
      assert.deepEqual(await b.admit('dave', '192.0.2.1'), { admitted: false, retryAfter: PAIR_RULE.lockoutMs / 1000 });
      assert.equal((await a.admit('dave', '192.0.2.2')).admitted, true, 'another address is not locked');
      now += PAIR_RULE.lockoutMs;
      assert.equal((await a.admit('dave', '192.0.2.1')).admitted, true);
    } finally {
      other.closeSync();
      await f.close();
    }
  });

  it('finds the client address: trusted hops skipped from the right, IPv4-mapped and IPv6 normalised', () => {
    const request = (peer: string, xff?: string[]) =>
      new HostedRequest({
        method: 'GET',
        target: '/',
        headers: RequestHeaders.from(xff === undefined ? {} : { 'X-Forwarded-For': xff }),
        body: bufferedBody(null),
        client: { address: peer, port: 1 },
        server: { address: '127.0.0.1', port: 80 },
      });
    const loopback = trustedProxyCheck(['127.0.0.1', '::1']);
    assert.equal(clientAddress(request('::ffff:192.0.2.9'), loopback), '192.0.2.9');
    assert.equal(clientAddress(request('127.0.0.1', ['203.0.113.1, 127.0.0.1']), loopback), '203.0.113.1');
    assert.equal(clientAddress(request('::1', ['10.0.0.1', '203.0.113.1:5555']), loopback), '203.0.113.1');
    assert.equal(clientAddress(request('127.0.0.1', ['[2001:db8::1]:443']), loopback), '2001:db8::1');
    assert.equal(clientAddress(request('127.0.0.1', ['127.0.0.1']), loopback), '127.0.0.1');
    assert.equal(clientAddress(request('127.0.0.1'), loopback), '127.0.0.1');
    assert.equal(clientAddress(request('192.0.2.1', ['203.0.113.1']), loopback), '192.0.2.1');
    assert.equal(clientAddress(request('192.0.2.1', ['203.0.113.1']), trustedProxyCheck(['*'])), '203.0.113.1');
    assert.equal(clientAddress(request('/run/app.sock', ['203.0.113.1']), loopback), '203.0.113.1', 'unix sockets are trusted');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::7'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::ffff:1.2.3.4'), '0:0:0:0::/64');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  });
});
