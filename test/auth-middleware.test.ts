/**
 * The authentication middleware and the protected route against
 * as a Django + simplejwt stack answers them (docs/auth.md), plus the bad-input cases of issue 5.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { JwtCodec, base64url } from '../app/auth/jwt.ts';
import { resolveKeys } from '../app/auth/keys.ts';
import { signingKeyPath } from '../app/auth/signing-key.ts';
import { VerifiedTokenCache } from '../app/auth/verified-token-cache.ts';
import { authenticate, requireUser } from '../app/auth/middleware.ts';
import { compose } from '../app/compose.ts';
import type { App } from '../app/interface.ts';
import { json } from '../app/response.ts';
import { Router } from '../app/router.ts';
import { TestClient } from '../app/testing.ts';
import { START_MS, authFixture, decodeToken, tamperSignature, type AuthFixture } from './auth-fixture.ts';

const CHALLENGE = 'Bearer realm="api"';
const NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}';
const BAD_HEADER = '{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}';

function tokenError(message: string): string {
  return JSON.stringify({
    detail: 'Given token not valid for any token type',
    code: 'token_not_valid',
    messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
  });
}

describe('GET /api/hello/ (IsAuthenticated) and /api/ping/ (AllowAny, eager authentication)', () => {
  let f: AuthFixture;
  let access: string;
  let refresh: string;
  const hello = (authorization?: string, method = 'GET') =>
    f.client.request(method, '/api/hello/', authorization === undefined ? {} : { headers: { authorization } });

  before(async () => {
    f = await authFixture();
    ({ access, refresh } = await f.login());
  });
  after(() => f.close());

  it('greets the user of a valid access token', async () => {
    const r = await hello(`Bearer ${access}`);
    assert.deepEqual([r.status, r.text], [200, '{"message":"hello","user":"alice"}']);
    assert.equal(r.header('content-type'), 'application/json');
    assert.equal(r.header('allow'), 'GET, HEAD, OPTIONS');
    assert.equal((await hello(`Bearer ${access}`, 'HEAD')).status, 200);
  });

  it('answers "not provided" without credentials of ours (no header, other schemes, lower-case bearer)', async () => {
    for (const header of [undefined, '', '   ', 'Basic YWxpY2U6d29uZGVybGFuZC00Mg==', `JWT ${access}`, `bearer ${access}`, `BEARER ${access}`]) {
      const r = await hello(header);
      assert.deepEqual([r.status, r.text, r.header('www-authenticate')], [401, NOT_PROVIDED, CHALLENGE], String(header));
      assert.equal(r.header('allow'), 'GET, HEAD, OPTIONS');
    }
  });

  it('answers bad_authorization_header unless the header has exactly two values', async () => {
    for (const header of ['Bearer', 'Bearer a b', `Bearer ${access} ${access}`, 'Bearer\t\t']) {
      const r = await hello(header);
      assert.deepEqual([r.status, r.text, r.header('www-authenticate')], [401, BAD_HEADER, CHALLENGE], header);
    }
  });

  it('accepts extra whitespace around and between the two values, as DRF splits them', async () => {
    for (const header of [`Bearer   ${access}`, `Bearer\t${access}`, `  Bearer ${access}  `]) {
      assert.equal((await hello(header)).status, 200, JSON.stringify(header));
    }
  });

  it('answers token_not_valid with messages[] for every invalid token', async () => {
    const now = START_MS / 1000;
    const header = base64url('{"alg":"HS512","typ":"JWT"}');
    const payload = base64url(JSON.stringify(decodeToken(access).payload));
    // HS512 signed with the right key: the key file createAuth generated in the data directory.
    const key = readFileSync(signingKeyPath(f.dataDir, 'HS256'), 'utf8').trim();
    const hs512 = `${header}.${payload}.${createHmac('sha512', key).update(`${header}.${payload}`).digest('base64url')}`;
    const otherKey = new JwtCodec({ algorithm: 'HS256', keys: resolveKeys('HS256', 'a-completely-different-signing-key-0123456789') });
    const claims = decodeToken(access).payload;
    const cases: [string, string][] = [
      ['garbage', 'Token is invalid or expired'],
      [access.slice(0, -20), 'Token is invalid or expired'],
      [tamperSignature(access), 'Token is invalid or expired'],
      [otherKey.sign(claims), 'Token is invalid or expired'],
      [`${base64url('{"alg":"none","typ":"JWT"}')}.${payload}.`, 'Token is invalid or expired'],
      [hs512, 'Token is invalid or expired'],
      [`${access}${'A'.repeat(9000)}`, 'Token is invalid or expired'],
      ['\u00ff\u00fe\u00e9.\u0080.x', 'Token is invalid or expired'],
      [refresh, 'Token has wrong type'],
      [f.auth.jwt.sign({ exp: now + 60, iat: now, jti: '2'.repeat(32), user_id: f.aliceId }), 'Token has no type'],
      [f.auth.jwt.sign({ token_type: 'access', exp: now + 60, iat: now, user_id: f.aliceId }), 'Token has no id'],
      [f.auth.jwt.sign({ token_type: 'access', iat: now, jti: '3'.repeat(32), user_id: f.aliceId }), "Token has no 'exp' claim"],
    ];
    for (const [token, message] of cases) {
      const r = await hello(`Bearer ${token}`);
      assert.deepEqual([r.status, r.text, r.header('www-authenticate')], [401, tokenError(message), CHALLENGE], `${message}: ${token.slice(0, 30)}`);
    }
  });

  it('answers an expired access token like a crafted one (fake clock)', async () => {
    const pair = await f.login();
    f.clock.advance(299);
    assert.equal((await hello(`Bearer ${pair.access}`)).status, 200);
    f.clock.advance(1);
    const r = await hello(`Bearer ${pair.access}`);
    assert.deepEqual([r.status, r.text], [401, tokenError('Token is invalid or expired')]);
    f.clock.advance(-300);
  });

  it('answers user identification errors: no user_id, unknown user, inactive user', async () => {
    const now = START_MS / 1000;
    const claims = (extra: object) => ({ token_type: 'access', exp: now + 60, iat: now, jti: '4'.repeat(32), ...extra });
    const noUser = await hello(`Bearer ${f.auth.jwt.sign(claims({}))}`);
    assert.deepEqual([noUser.status, noUser.text], [401, '{"detail":"Token contained no recognizable user identification","code":"token_not_valid"}']);
    for (const id of [999, '1', 1.5, null]) {
      const unknown = await hello(`Bearer ${f.auth.jwt.sign(claims({ user_id: id }))}`);
      assert.deepEqual([unknown.status, unknown.text, unknown.header('www-authenticate')], [401, '{"detail":"User not found","code":"user_not_found"}', CHALLENGE]);
    }
    f.auth.store.users.setActive(f.aliceId, false);
    try {
      const inactive = await hello(`Bearer ${access}`);
      assert.deepEqual([inactive.status, inactive.text], [401, '{"detail":"User is inactive","code":"user_inactive"}']);
    } finally {
      f.auth.store.users.setActive(f.aliceId, true);
    }
  });

  it('checks authentication before the method: POST is 405 with a token, 401 without', async () => {
    const withToken = await hello(`Bearer ${access}`, 'POST');
    assert.deepEqual([withToken.status, withToken.text, withToken.header('allow')], [405, '{"detail":"Method \\"POST\\" not allowed."}', 'GET, HEAD, OPTIONS']);
    const without = await hello(undefined, 'POST');
    assert.deepEqual([without.status, without.text], [401, NOT_PROVIDED]);
    assert.equal((await hello(undefined, 'OPTIONS')).status, 401);
    const options = await hello(`Bearer ${access}`, 'OPTIONS');
    assert.deepEqual([options.status, options.json().name], [200, 'Hello']);
  });

  it('/api/ping/ lets anonymous requests in but refuses an invalid Bearer', async () => {
    assert.deepEqual([(await f.client.get('/api/ping/')).status, (await f.client.get('/api/ping/')).text], [200, '{"ok":true}']);
    assert.equal((await f.client.get('/api/ping/', { headers: { authorization: `Bearer ${access}` } })).status, 200);
    assert.equal((await f.client.get('/api/ping/', { headers: { authorization: 'Basic abc' } })).status, 200);
    const bad = await f.client.get('/api/ping/', { headers: { authorization: 'Bearer garbage' } });
    assert.deepEqual([bad.status, bad.text, bad.header('www-authenticate')], [401, tokenError('Token is invalid or expired'), CHALLENGE]);
  });
});

describe('middleware building blocks and settings', () => {
  it('authenticate + requireUser compose onto any route and fill request.state', async () => {
    const f = await authFixture();
    try {
      const me: App = (request) => json(200, { id: request.state.user!.id, jti: request.state.auth!.jti });
      const router = new Router().get('/me/', compose(authenticate(f.auth.authentication), requireUser(f.auth.authentication))(me));
      const client = new TestClient(router.app);
      const { access } = await f.login();
      const r = await client.get('/me/', { headers: { authorization: `Bearer ${access}` } });
      assert.deepEqual(r.json(), { id: f.aliceId, jti: decodeToken(access).payload.jti });
      assert.equal((await client.get('/me/')).text, NOT_PROVIDED);
    } finally {
      f.close();
    }
  });

  it('stateless mode trusts the token: no lookup, inactive or unknown users pass', async () => {
    const f = await authFixture({ stateless: true });
    try {
      const now = START_MS / 1000;
      const { access } = await f.login();
      f.auth.store.users.setActive(f.aliceId, false);
      assert.deepEqual((await f.client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } })).json(), { message: 'hello', user: '' });
      const named = f.auth.jwt.sign({ token_type: 'access', exp: now + 60, iat: now, jti: '5'.repeat(32), user_id: 77, username: 'carol' });
      assert.deepEqual((await f.client.get('/api/hello/', { headers: { authorization: `Bearer ${named}` } })).json(), { message: 'hello', user: 'carol' });
      const anonymous = f.auth.jwt.sign({ token_type: 'access', exp: now + 60, iat: now, jti: '6'.repeat(32) });
      assert.equal((await f.client.get('/api/hello/', { headers: { authorization: `Bearer ${anonymous}` } })).status, 401);
    } finally {
      f.close();
    }
  });

  it('honours AUTH_HEADER_TYPES and AUTH_HEADER_NAME', async () => {
    const f = await authFixture({ settings: { AUTH_HEADER_TYPES: ['JWT', 'Bearer'], AUTH_HEADER_NAME: 'HTTP_X_AUTH_TOKEN' } });
    try {
      const { access } = await f.login();
      const get = (headers: Record<string, string>) => f.client.get('/api/hello/', { headers });
      assert.equal((await get({ 'x-auth-token': `JWT ${access}` })).status, 200);
      assert.equal((await get({ 'x-auth-token': `Bearer ${access}` })).status, 200);
      const plain = await get({ authorization: `Bearer ${access}` });
      assert.deepEqual([plain.status, plain.header('www-authenticate')], [401, 'JWT realm="api"']);
    } finally {
      f.close();
    }
  });
});

describe('hot-path caches', () => {
  it('the verified-token cache re-checks exp on every hit and never serves another token', async () => {
    const f = await authFixture();
    try {
      const { access } = await f.login();
      const get = (token: string) => f.client.get('/api/hello/', { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await get(access)).status, 200);
      assert.equal((await get(access)).status, 200, 'a hit');
      assert.equal((await get(tamperSignature(access))).status, 401, 'a tampered token misses and fails');
      f.clock.advance(300);
      assert.deepEqual([(await get(access)).status, (await get(access)).text], [401, tokenError('Token is invalid or expired')]);
    } finally {
      f.close();
    }
  });

  it('the verified-token cache is bounded and freezes what it shares', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2, now: () => 1000_000 });
    const claims = { exp: 2000, nbf: 900 };
    cache.set('a', { ...claims });
    cache.set('b', { ...claims });
    cache.set('c', { ...claims });
    assert.deepEqual([cache.size, cache.get('a'), cache.get('c')], [2, undefined, { exp: 2000, nbf: 900 }]);
    assert.ok(Object.isFrozen(cache.get('c')));
    cache.set('early', { exp: 2000, nbf: 1001 });
    assert.equal(cache.get('early'), undefined, 'nbf re-checked');
  });

  it('the user cache reuses a row for its TTL only (deactivation applies within it)', async () => {
    const f = await authFixture({ userCacheMs: 1000 });
    try {
      const { access } = await f.login();
      const get = () => f.client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } });
      assert.equal((await get()).status, 200);
      f.auth.store.users.setActive(f.aliceId, false);
      assert.equal((await get()).status, 200, 'still cached');
      f.clock.ms += 1000;
      assert.deepEqual([(await get()).status, (await get()).json().code], [401, 'user_inactive']);
      f.auth.store.users.setActive(f.aliceId, true);
      assert.equal((await get()).status, 401, 'reactivation, too, applies within the TTL');
      f.clock.ms += 1000;
      assert.equal((await get()).status, 200);
    } finally {
      f.close();
    }
  });
});
