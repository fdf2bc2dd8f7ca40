/**
 * The token endpoints against the answers of a Django + simplejwt stack (docs/auth.md): every row
 * of the reference tables, through the in-process TestClient.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { base64url } from '../app/auth/jwt.ts';
import { hashPassword } from '../app/store/passwords.ts';
import { ALICE, START_MS, TEST_SCRYPT, authFixture, decodeToken, tamperSignature, type AuthFixture } from './auth-fixture.ts';
import type { SqliteStore } from '../app/store/store.ts';

const CHALLENGE = 'Bearer realm="api"';
const INVALID = { detail: 'Token is invalid or expired', code: 'token_not_valid' };
const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' };
const WRONG_TYPE = { detail: 'Token has wrong type', code: 'token_not_valid' };
const NO_ACCOUNT = { detail: 'No active account found with the given credentials' };

function noneToken(claims: object): string {
  return `${base64url('{"alg":"none","typ":"JWT"}')}.${base64url(JSON.stringify(claims))}.`;
}

describe('POST /api/token/ (obtain pair)', () => {
  let f: AuthFixture;
  before(async () => (f = await authFixture()));
  after(() => f.close());

  it('answers a valid JSON login with a refresh/access pair shaped like simplejwt', async () => {
    const r = await f.client.post('/api/token/', { json: ALICE });
    assert.equal(r.status, 200);
    assert.equal(r.header('content-type'), 'application/json');
    assert.equal(r.header('allow'), 'POST, OPTIONS');
    assert.match(r.text, /^\{"refresh":"[^"]+","access":"[^"]+"\}$/);
    const { refresh, access } = r.json();
    const a = decodeToken(access);
    const rf = decodeToken(refresh);
    assert.deepEqual(a.header, { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(Object.keys(a.payload), ['token_type', 'exp', 'iat', 'jti', 'user_id']);
    assert.deepEqual(Object.keys(rf.payload), ['token_type', 'exp', 'iat', 'jti', 'user_id']);
    const now = START_MS / 1000;
    assert.deepEqual([a.payload.token_type, a.payload.iat, a.payload.exp, a.payload.user_id], ['access', now, now + 300, f.aliceId]);
    assert.deepEqual([rf.payload.token_type, rf.payload.iat, rf.payload.exp, rf.payload.user_id], ['refresh', now, now + 86400, f.aliceId]);
    assert.match(String(a.payload.jti), /^[0-9a-f]{32}$/);
    assert.notEqual(a.payload.jti, rf.payload.jti);
    assert.ok((f.auth.store as SqliteStore).db.prepare('SELECT 1 FROM outstanding_tokens WHERE jti = ?').get(rf.payload.jti), 'OutstandingToken row');
  });

  it('accepts form-encoded and multipart (browser FormData) logins', async () => {
    assert.equal((await f.client.post('/api/token/', { form: ALICE })).status, 200);
    const form = new FormData();
    form.set('username', ALICE.username);
    form.set('password', ALICE.password);
    form.set('avatar', new Blob(['file parts are ignored']), 'a.png');
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    const r = await f.client.post('/api/token/', { body, headers: { 'content-type': encoded.headers.get('content-type')! } });
    assert.equal(r.status, 200, r.text);
    const bad = await f.client.post('/api/token/', { body: 'no boundary here', headers: { 'content-type': 'multipart/form-data' } });
    assert.deepEqual([bad.status, bad.json()], [400, { detail: 'Multipart form parse error - Invalid boundary in multipart: None' }]);
  });

  it('answers 401 with the challenge for a wrong password, an unknown user, an inactive user', async () => {
    const bob = await f.auth.store.users.create('bob', await hashPassword('builder-1234', TEST_SCRYPT), { isActive: false });
    for (const credentials of [
      { username: 'alice', password: 'nope' },
      { username: 'nobody', password: 'nope' },
      { username: 'bob', password: 'builder-1234' },
      { username: 'ALICE', password: ALICE.password },
    ]) {
      const r = await f.client.post('/api/token/', { json: credentials });
      assert.equal(r.status, 401, credentials.username);
      assert.equal(r.text, JSON.stringify(NO_ACCOUNT));
      assert.equal(r.header('www-authenticate'), CHALLENGE);
    }
    assert.equal(bob.isActive, false);
  });

  it('answers 400 with per-field messages like DRF', async () => {
    const cases: [unknown, object][] = [
      [{}, { username: ['This field is required.'], password: ['This field is required.'] }],
      [{ username: 'alice' }, { password: ['This field is required.'] }],
      [{ username: '', password: '' }, { username: ['This field may not be blank.'], password: ['This field may not be blank.'] }],
      [{ username: '   ', password: ALICE.password }, { username: ['This field may not be blank.'] }],
      [{ username: ['alice'], password: ALICE.password }, { username: ['Not a valid string.'] }],
      [{ username: { a: 1 }, password: true }, { username: ['Not a valid string.'], password: ['Not a valid string.'] }],
      [{ username: null, password: 'x' }, { username: ['This field may not be null.'] }],
      [{ username: 'al\u0000ice', password: 'x' }, { username: ['Null characters are not allowed.'] }],
      [{ username: 'alice', password: 'x'.repeat(5000) }, { password: ['Ensure this field has no more than 4096 characters.'] }],
      [[], { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
      [5, { non_field_errors: ['Invalid data. Expected a dictionary, but got int.'] }],
      [1.5, { non_field_errors: ['Invalid data. Expected a dictionary, but got float.'] }],
      ['alice', { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] }],
      [true, { non_field_errors: ['Invalid data. Expected a dictionary, but got bool.'] }],
      [null, { non_field_errors: ['No data provided'] }],
    ];
    for (const [body, expected] of cases) {
      const r = await f.client.post('/api/token/', { json: body });
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 60));
      assert.deepEqual(r.json(), expected);
      assert.equal(r.header('allow'), 'POST, OPTIONS');
    }
    const lone = await f.client.post('/api/token/', { body: '{"username":"\\ud800","password":"x"}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(lone.json(), { username: ['Surrogate characters are not allowed: U+D800.'] });
  });

  it('treats an empty body as an empty form whatever its content type', async () => {
    const required = { username: ['This field is required.'], password: ['This field is required.'] };
    const variants: Record<string, string>[] = [{ 'content-type': 'application/json' }, {}, { 'content-type': 'text/plain' }];
    for (const headers of variants) {
      const r = await f.client.post('/api/token/', { body: '', headers });
      assert.deepEqual([r.status, r.json()], [400, required], JSON.stringify(headers));
    }
  });

  it('trims the fields as DRF does, and turns numbers into strings', async () => {
    assert.equal((await f.client.post('/api/token/', { json: { username: ' alice ', password: ` ${ALICE.password}\t` } })).status, 200);
    const numeric = await f.client.post('/api/token/', { json: { username: 123, password: 456 } });
    assert.deepEqual([numeric.status, numeric.json()], [401, NO_ACCOUNT]);
  });

  it('answers malformed JSON with 400 "JSON parse error - …" and Python-style positions', async () => {
    const r = await f.client.post('/api/token/', { body: '{"username": "alice", ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { detail: 'JSON parse error - Expected double-quoted property name: line 1 column 23 (char 22)' });
    const excerpt = await f.client.post('/api/token/', { body: '{"password": secret}', headers: { 'content-type': 'application/json' } });
    assert.equal(excerpt.status, 400);
    assert.ok(!excerpt.text.includes('secret}'), 'the input is not echoed back');
    const latin1 = await f.client.post('/api/token/', { body: Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]), headers: { 'content-type': 'application/json' } });
    assert.deepEqual([latin1.status, latin1.json()], [400, { detail: 'JSON parse error - the body is not valid UTF-8' }]);
    const deep = await f.client.post('/api/token/', { body: '['.repeat(30000) + ']'.repeat(30000), headers: { 'content-type': 'application/json' } });
    assert.deepEqual([deep.status, deep.json()], [400, { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }]);
  });

  it('answers 415 for other media types, naming the type as sent', async () => {
    const plain = await f.client.post('/api/token/', { body: '{"username":"alice","password":"x"}', headers: { 'content-type': 'text/plain' } });
    assert.deepEqual([plain.status, plain.text], [415, '{"detail":"Unsupported media type \\"text/plain\\" in request."}']);
    const none = await f.client.post('/api/token/', { body: '{"username":"alice","password":"x"}' });
    assert.deepEqual([none.status, none.text], [415, '{"detail":"Unsupported media type \\"\\" in request."}']);
    assert.equal(none.header('allow'), 'POST, OPTIONS');
    const charset = await f.client.post('/api/token/', { body: JSON.stringify(ALICE), headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
    assert.equal(charset.status, 200);
  });

  it('answers 405 with Allow for other methods, and DRF metadata for OPTIONS', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const r = await f.client.request(method, '/api/token/', { json: ALICE });
      assert.equal(r.status, 405);
      assert.equal(r.header('allow'), 'POST, OPTIONS');
      assert.equal(r.text, `{"detail":"Method \\"${method}\\" not allowed."}`);
    }
    const options = await f.client.options('/api/token/');
    assert.equal(options.status, 200);
    assert.deepEqual(options.json(), {
      name: 'Token Obtain Pair',
      description: 'Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.',
      renders: ['application/json'],
      parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
      actions: {
        POST: {
          username: { type: 'string', required: true, read_only: false, label: 'Username' },
          password: { type: 'string', required: true, read_only: false, label: 'Password' },
        },
      },
    });
  });

  it('refuses a 1 MB password with a clear 4xx, and ignores a stale Authorization header', async () => {
    const huge = await f.client.post('/api/token/', { json: { username: 'alice', password: 'x'.repeat(1024 * 1024) } });
    assert.equal(huge.status, 413);
    assert.match(huge.json().detail, /larger than the limit/);
    const stale = await f.client.post('/api/token/', { json: ALICE, headers: { authorization: 'Bearer garbage' } });
    assert.equal(stale.status, 200, 'token views run no authentication, as in simplejwt');
  });

  it('updates last_login only with UPDATE_LAST_LOGIN, and upgrades old hashes on login', async () => {
    assert.equal((await f.auth.store.users.byUsername('alice'))!.lastLogin, null);
    const g = await authFixture({ settings: { UPDATE_LAST_LOGIN: true } });
    try {
      // A Django pbkdf2_sha256 hash (password "wonderland-42", 1000 iterations, salt "salt").
      await g.auth.store.users.setPassword(g.aliceId, 'pbkdf2_sha256$1000$salt$9B9x02wpbWCmJHKtm40mxT5QuFUqa3lrR/tmplJxQR8=');
      assert.equal((await g.client.post('/api/token/', { json: ALICE })).status, 200);
      const row = (await g.auth.store.users.byUsername('alice'))!;
      assert.equal(row.lastLogin, START_MS / 1000);
      assert.match(row.password, /^scrypt\$1024\$[A-Za-z0-9]{22}\$8\$1\$/);
      assert.equal((await g.client.post('/api/token/', { json: ALICE })).status, 200, 'the upgraded hash verifies');
    } finally {
      g.close();
    }
  });
});

describe('POST /api/token/refresh/', () => {
  let f: AuthFixture;
  before(async () => (f = await authFixture()));
  after(() => f.close());

  it('rotates: new access + new refresh; the old refresh is blacklisted', async () => {
    const pair = await f.login();
    f.clock.advance(60);
    const r = await f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
    assert.equal(r.status, 200);
    assert.match(r.text, /^\{"access":"[^"]+","refresh":"[^"]+"\}$/);
    const { access, refresh } = r.json();
    const old = decodeToken(pair.refresh).payload;
    const a = decodeToken(access).payload;
    const rf = decodeToken(refresh).payload;
    const now = START_MS / 1000 + 60;
    assert.deepEqual(Object.keys(a), ['token_type', 'exp', 'iat', 'jti', 'user_id']);
    assert.deepEqual([a.token_type, a.exp, a.iat, a.user_id], ['access', now + 300, old.iat, f.aliceId], 'access copies iat and user_id');
    assert.deepEqual(Object.keys(rf), ['token_type', 'exp', 'iat', 'jti', 'user_id']);
    assert.deepEqual([rf.token_type, rf.exp, rf.iat, rf.user_id], ['refresh', now + 86400, now, f.aliceId], 'sliding refresh');
    assert.notEqual(rf.jti, old.jti);
    const reuse = await f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
    assert.deepEqual([reuse.status, reuse.json(), reuse.header('www-authenticate')], [401, BLACKLISTED, CHALLENGE]);
    const next = await f.client.post('/api/token/refresh/', { json: { refresh } });
    assert.equal(next.status, 200, 'the rotated refresh works');
  });

  it('refuses access tokens, garbage, tampered, alg:none and expired tokens', async () => {
    const pair = await f.login();
    const cases: [string, object][] = [
      [pair.access, WRONG_TYPE],
      ['garbage', INVALID],
      [tamperSignature(pair.refresh), INVALID],
      [noneToken(decodeToken(pair.refresh).payload), INVALID],
      ['x'.repeat(9000), INVALID],
    ];
    for (const [refresh, expected] of cases) {
      const r = await f.client.post('/api/token/refresh/', { json: { refresh } });
      assert.deepEqual([r.status, r.json()], [401, expected]);
      assert.equal(r.header('www-authenticate'), CHALLENGE);
    }
    f.clock.advance(86400);
    const expired = await f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
    assert.deepEqual([expired.status, expired.json()], [401, INVALID]);
  });

  it('answers 400 without the field and 405 for GET', async () => {
    const missing = await f.client.post('/api/token/refresh/', { json: {} });
    assert.deepEqual([missing.status, missing.json()], [400, { refresh: ['This field is required.'] }]);
    const get = await f.client.get('/api/token/refresh/');
    assert.deepEqual([get.status, get.json(), get.header('allow')], [405, { detail: 'Method "GET" not allowed.' }, 'POST, OPTIONS']);
  });

  it('refuses a refresh for a deactivated user', async () => {
    const pair = await f.login();
    await f.auth.store.users.setActive(f.aliceId, false);
    try {
      const r = await f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
      assert.deepEqual([r.status, r.json()], [401, { detail: 'No active account found for the given token.', code: 'no_active_account' }]);
    } finally {
      await f.auth.store.users.setActive(f.aliceId, true);
    }
  });

  it('lets exactly one of two concurrent refreshes of the same token win', async () => {
    const pair = await f.login();
    const results = await Promise.all([1, 2, 3].map(() => f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 401, 401]);
  });

  it('without rotation answers only an access token and keeps the refresh usable', async () => {
    const g = await authFixture({ settings: { ROTATE_REFRESH_TOKENS: false, BLACKLIST_AFTER_ROTATION: false } });
    try {
      const pair = await g.login();
      for (let i = 0; i < 2; i++) {
        const r = await g.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
        assert.equal(r.status, 200);
        assert.deepEqual(Object.keys(r.json()), ['access']);
      }
      assert.equal((await g.auth.store.tokens.counts()).blacklisted, 0);
      assert.equal((await g.client.post('/api/token/blacklist/', { json: { refresh: pair.refresh } })).status, 200);
      const loggedOut = await g.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
      assert.deepEqual([loggedOut.status, loggedOut.json()], [401, BLACKLISTED], 'logout holds without rotation too');
    } finally {
      g.close();
    }
  });

  it('rotation without BLACKLIST_AFTER_ROTATION leaves the old refresh valid', async () => {
    const g = await authFixture({ settings: { BLACKLIST_AFTER_ROTATION: false } });
    try {
      const pair = await g.login();
      assert.deepEqual(Object.keys((await g.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } })).json()), ['access', 'refresh']);
      assert.equal((await g.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } })).status, 200);
    } finally {
      g.close();
    }
  });
});

describe('POST /api/token/verify/', () => {
  let f: AuthFixture;
  before(async () => (f = await authFixture()));
  after(() => f.close());

  it('answers {} for valid access and refresh tokens, and for a token without token_type', async () => {
    const pair = await f.login();
    const untyped = f.auth.jwt.sign({ exp: START_MS / 1000 + 300, iat: START_MS / 1000, jti: '2'.repeat(32), user_id: 1 });
    for (const token of [pair.access, pair.refresh, untyped]) {
      const r = await f.client.post('/api/token/verify/', { json: { token } });
      assert.deepEqual([r.status, r.text, r.header('allow')], [200, '{}', 'POST, OPTIONS']);
    }
  });

  it('answers 401 for garbage, tampered, alg:none, expired; with simplejwt detail for missing claims', async () => {
    const pair = await f.login();
    const now = START_MS / 1000;
    const cases: [string, object][] = [
      ['garbage', INVALID],
      [tamperSignature(pair.access), INVALID],
      [noneToken(decodeToken(pair.access).payload), INVALID],
      [f.auth.jwt.sign({ token_type: 'access', exp: now - 60, iat: now - 360, jti: '0'.repeat(32), user_id: 1 }), INVALID],
      [f.auth.jwt.sign({ token_type: 'access', iat: now, jti: '0'.repeat(32), user_id: 1 }), { detail: "Token has no 'exp' claim", code: 'token_not_valid' }],
      [f.auth.jwt.sign({ token_type: 'access', exp: now + 60, iat: now, user_id: 1 }), { detail: 'Token has no id', code: 'token_not_valid' }],
    ];
    for (const [token, expected] of cases) {
      const r = await f.client.post('/api/token/verify/', { json: { token } });
      assert.deepEqual([r.status, r.json(), r.header('www-authenticate')], [401, expected, CHALLENGE]);
    }
  });

  it('answers 400 non_field_errors for a blacklisted refresh, and 400 without the token field', async () => {
    const pair = await f.login();
    assert.equal((await f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } })).status, 200);
    const r = await f.client.post('/api/token/verify/', { json: { token: pair.refresh } });
    assert.deepEqual([r.status, r.text], [400, '{"non_field_errors":["Token is blacklisted"]}']);
    for (const body of [{}, { access: pair.access }]) {
      const m = await f.client.post('/api/token/verify/', { json: body });
      assert.deepEqual([m.status, m.text], [400, '{"token":["This field is required."]}']);
    }
  });
});

describe('POST /api/token/blacklist/ (logout)', () => {
  let f: AuthFixture;
  before(async () => (f = await authFixture()));
  after(() => f.close());

  it('blacklists a refresh token once; afterwards refresh is 401, verify is 400, the access token still works', async () => {
    const pair = await f.login();
    const first = await f.client.post('/api/token/blacklist/', { json: { refresh: pair.refresh } });
    assert.deepEqual([first.status, first.text, first.header('allow')], [200, '{}', 'POST, OPTIONS']);
    const again = await f.client.post('/api/token/blacklist/', { json: { refresh: pair.refresh } });
    assert.deepEqual([again.status, again.json(), again.header('www-authenticate')], [401, BLACKLISTED, CHALLENGE]);
    const refresh = await f.client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
    assert.deepEqual([refresh.status, refresh.json()], [401, BLACKLISTED]);
    const verify = await f.client.post('/api/token/verify/', { json: { token: pair.refresh } });
    assert.deepEqual([verify.status, verify.json()], [400, { non_field_errors: ['Token is blacklisted'] }]);
    const hello = await f.client.get('/api/hello/', { headers: { authorization: `Bearer ${pair.access}` } });
    assert.deepEqual([hello.status, hello.json()], [200, { message: 'hello', user: 'alice' }]);
  });

  it('refuses access tokens, garbage, and a missing field', async () => {
    const pair = await f.login();
    const access = await f.client.post('/api/token/blacklist/', { json: { refresh: pair.access } });
    assert.deepEqual([access.status, access.json()], [401, WRONG_TYPE]);
    const garbage = await f.client.post('/api/token/blacklist/', { json: { refresh: 'garbage' } });
    assert.deepEqual([garbage.status, garbage.json()], [401, INVALID]);
    const missing = await f.client.post('/api/token/blacklist/', { json: {} });
    assert.deepEqual([missing.status, missing.json()], [400, { refresh: ['This field is required.'] }]);
  });

  it('blacklists tokens of a user deleted since, and tokens issued elsewhere with fractional times', async () => {
    const now = START_MS / 1000;
    const orphan = f.auth.jwt.sign({ token_type: 'refresh', exp: now + 100.5, iat: now + 0.25, jti: 'f'.repeat(32), user_id: 999 });
    const r = await f.client.post('/api/token/blacklist/', { json: { refresh: orphan } });
    assert.equal(r.status, 200, r.text);
    const row = (f.auth.store as SqliteStore).db.prepare('SELECT user_id, expires_at FROM outstanding_tokens WHERE jti = ?').get('f'.repeat(32));
    assert.deepEqual(row, { user_id: null, expires_at: now + 101 });
  });
});
