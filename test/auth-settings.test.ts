import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createAuth } from '../app/auth/create-auth.ts';
import { KeyConfigError } from '../app/auth/keys.ts';
import { DEFAULT_SETTINGS, headerFieldName, resolveSettings } from '../app/auth/settings.ts';
import { ConfigError } from '../options/index.ts';
import { loadOrCreateSigningKey, signingKeyPath } from '../app/auth/signing-key.ts';
import { Router } from '../app/router.ts';
import { TestClient } from '../app/testing.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'auth-settings-'));
}

describe('settings', () => {
  it("has simplejwt's names and defaults", () => {
    const s = resolveSettings();
    assert.equal(s.ACCESS_TOKEN_LIFETIME, 300);
    assert.equal(s.REFRESH_TOKEN_LIFETIME, 86400);
    assert.deepEqual(
      [s.ROTATE_REFRESH_TOKENS, s.BLACKLIST_AFTER_ROTATION, s.UPDATE_LAST_LOGIN, s.ALGORITHM, s.LEEWAY, s.AUDIENCE, s.ISSUER],
      [false, false, false, 'HS256', 0, null, null],
    );
    assert.deepEqual([...s.AUTH_HEADER_TYPES], ['Bearer']);
    assert.deepEqual([s.AUTH_HEADER_NAME, s.USER_ID_FIELD, s.USER_ID_CLAIM, s.TOKEN_TYPE_CLAIM, s.JTI_CLAIM], ['HTTP_AUTHORIZATION', 'id', 'user_id', 'token_type', 'jti']);
    assert.ok(Object.isFrozen(DEFAULT_SETTINGS));
  });

  it('reads a config object, then SIMPLE_JWT_* variables, which win', () => {
    const s = resolveSettings(
      { ACCESS_TOKEN_LIFETIME: 60, ROTATE_REFRESH_TOKENS: true, AUTH_HEADER_TYPES: 'JWT' },
      {
        SIMPLE_JWT_ACCESS_TOKEN_LIFETIME: '10m',
        SIMPLE_JWT_REFRESH_TOKEN_LIFETIME: '2d',
        SIMPLE_JWT_UPDATE_LAST_LOGIN: 'yes',
        SIMPLE_JWT_AUDIENCE: 'api, admin',
        SIMPLE_JWT_ISSUER: 'layerstack',
        SIMPLE_JWT_LEEWAY: '5',
        PATH: '/usr/bin',
      },
    );
    assert.deepEqual(
      [s.ACCESS_TOKEN_LIFETIME, s.REFRESH_TOKEN_LIFETIME, s.ROTATE_REFRESH_TOKENS, s.UPDATE_LAST_LOGIN, s.AUDIENCE, s.ISSUER, s.LEEWAY, s.AUTH_HEADER_TYPES],
      [600, 172800, true, true, ['api', 'admin'], 'layerstack', 5, ['JWT']],
    );
  });

  it('takes SIGNING_KEY from SIMPLE_JWT_SIGNING_KEY, its _FILE twin, or plain SIGNING_KEY', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'key'), 'from-a-file-0123456789-0123456789\n');
      assert.equal(resolveSettings({}, { SIGNING_KEY: 'plain' }).SIGNING_KEY, 'plain');
      assert.equal(resolveSettings({}, { SIGNING_KEY: 'plain', SIMPLE_JWT_SIGNING_KEY: 'prefixed' }).SIGNING_KEY, 'prefixed');
      assert.equal(resolveSettings({}, { SIMPLE_JWT_SIGNING_KEY_FILE: join(dir, 'key') }).SIGNING_KEY, 'from-a-file-0123456789-0123456789');
      assert.equal(resolveSettings({}, { SIMPLE_JWT_SIGNING_KEY: '-----BEGIN X-----\\nabc\\n-----END X-----' }).SIGNING_KEY, '-----BEGIN X-----\nabc\n-----END X-----');
      assert.throws(() => resolveSettings({}, { SIMPLE_JWT_SIGNING_KEY_FILE: join(dir, 'missing') }), /SIMPLE_JWT_SIGNING_KEY_FILE: expected a readable key file \(ENOENT\), got ".*missing"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unknown, unsupported and invalid settings with a message naming them', () => {
    const cases: [Record<string, unknown>, Record<string, string>, RegExp][] = [
      [{ ACCESS_TOKEN_LIFETIM: 5 }, {}, /^ACCESS_TOKEN_LIFETIM: expected a known setting: ACCESS_TOKEN_LIFETIME, /],
      [{}, { SIMPLE_JWT_ROTATE: 'true' }, /^SIMPLE_JWT_ROTATE: expected a known setting/],
      [{ SLIDING_TOKEN_LIFETIME: 60 }, {}, /^SLIDING_TOKEN_LIFETIME: expected a setting this server implements \("SLIDING_TOKEN_LIFETIME" is a simplejwt setting it does not\)$/],
      [{ ALGORITHM: 'none' }, {}, /^ALGORITHM: expected one of HS256, .*, got "none"$/],
      [{ ALGORITHM: 'hs256' }, {}, /^ALGORITHM: expected one of/],
      [{ ACCESS_TOKEN_LIFETIME: 0 }, {}, /^ACCESS_TOKEN_LIFETIME: expected a duration such as 500ms, 30s or 2m \(a bare number is seconds\), longer than 0, got 0$/],
      [{ ACCESS_TOKEN_LIFETIME: -5 }, {}, /^ACCESS_TOKEN_LIFETIME: expected a duration .*, got -5$/],
      [{}, { SIMPLE_JWT_ACCESS_TOKEN_LIFETIME: '5 minutes' }, /^SIMPLE_JWT_ACCESS_TOKEN_LIFETIME: expected a duration such as 500ms, 30s or 2m/],
      [{}, { SIMPLE_JWT_LEEWAY: 'soon' }, /^SIMPLE_JWT_LEEWAY: expected a duration/],
      [{}, { SIMPLE_JWT_ROTATE_REFRESH_TOKENS: 'maybe' }, /^SIMPLE_JWT_ROTATE_REFRESH_TOKENS: expected true or false \(also yes\/no, on\/off, 1\/0\), got "maybe"$/],
      [{ ROTATE_REFRESH_TOKENS: 'true' }, {}, /^ROTATE_REFRESH_TOKENS: expected true or false, got "true"$/],
      [{ AUTH_HEADER_TYPES: [] }, {}, /^AUTH_HEADER_TYPES: expected a non-empty list/],
      [{ AUTH_HEADER_TYPES: ['Bear er'] }, {}, /^AUTH_HEADER_TYPES: expected/],
      [{ AUTH_HEADER_NAME: 'Auth header' }, {}, /^AUTH_HEADER_NAME: expected a header name/],
      [{ USER_ID_FIELD: 'username' }, {}, /^USER_ID_FIELD: expected "id"/],
      [{ TOKEN_TYPE_CLAIM: null }, {}, /^TOKEN_TYPE_CLAIM: expected a claim name, not null/],
      [{ JTI_CLAIM: 'exp' }, {}, /^JTI_CLAIM: expected a claim name other than the registered JWT claims/],
      [{ USER_ID_CLAIM: 'jti' }, {}, /three different claim names/],
      [{ AUDIENCE: [1] }, {}, /^AUDIENCE: expected null, a string or a non-empty list of strings, got \[1\]$/],
      [{ SIGNING_KEY: '' }, {}, /^SIGNING_KEY: expected a key, or no setting at all/],
      [{ SIGNING_KEY: 42 }, {}, /^SIGNING_KEY: expected a string, bytes/],
    ];
    for (const [config, env, message] of cases) {
      assert.throws(() => resolveSettings(config, env), (e: unknown) => e instanceof ConfigError && message.test(e.message), String(message));
    }
  });

  it('maps AUTH_HEADER_NAME to a header field and reads durations in the one duration grammar', () => {
    assert.equal(headerFieldName('HTTP_AUTHORIZATION'), 'authorization');
    assert.equal(headerFieldName('HTTP_X_AUTH_TOKEN'), 'x-auth-token');
    assert.equal(headerFieldName('X-Api-Token'), 'x-api-token');
    const lifetime = (value: string | number) => resolveSettings({ ACCESS_TOKEN_LIFETIME: value }).ACCESS_TOKEN_LIFETIME;
    assert.deepEqual(['90', '90s', '1.5m', '2h', '1d', '500ms', 30].map(lifetime), [90, 90, 90, 7200, 86400, 0.5, 30]);
    assert.equal(resolveSettings({}, { SIMPLE_JWT_REFRESH_TOKEN_LIFETIME: '12h' }).REFRESH_TOKEN_LIFETIME, 43200);
    assert.equal(resolveSettings({}, { SIMPLE_JWT_ROTATE_REFRESH_TOKENS: 'on' }).ROTATE_REFRESH_TOKENS, true);
  });
});

describe('the signing key kept in DATA_DIR', () => {
  it('is generated once with mode 0600 and reused, per algorithm', () => {
    const dir = tempDir();
    try {
      const first = loadOrCreateSigningKey(dir, 'HS256');
      assert.equal(statSync(signingKeyPath(dir, 'HS256')).mode & 0o777, 0o600);
      assert.ok(first.length >= 64);
      assert.equal(loadOrCreateSigningKey(dir, 'HS256'), first);
      assert.match(loadOrCreateSigningKey(dir, 'ES256'), /^-----BEGIN PRIVATE KEY-----/);
      assert.match(loadOrCreateSigningKey(dir, 'EdDSA'), /^-----BEGIN PRIVATE KEY-----/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a key file others can read, or an empty one', () => {
    const dir = tempDir();
    try {
      const path = signingKeyPath(dir, 'HS256');
      loadOrCreateSigningKey(dir, 'HS256');
      chmodSync(path, 0o644);
      assert.throws(() => loadOrCreateSigningKey(dir, 'HS256'), (e: unknown) => e instanceof KeyConfigError && /chmod 600/.test(e.message));
      writeFileSync(path, '\n', { mode: 0o600 });
      chmodSync(path, 0o600);
      assert.throws(() => loadOrCreateSigningKey(dir, 'HS256'), /is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets a restarted server (a second createAuth on the same DATA_DIR) accept earlier tokens', async () => {
    const dir = tempDir();
    try {
      const first = await createAuth({ dataDir: dir, env: {}, purgeIntervalMs: false });
      const token = first.jwt.sign({ token_type: 'access', exp: Math.floor(Date.now() / 1000) + 60, jti: 'x', user_id: 1 });
      await first.close();
      const second = await createAuth({ dataDir: dir, env: {}, purgeIntervalMs: false });
      assert.equal(second.jwt.verify(token).user_id, 1);
      await second.close();
      const configured = await createAuth({ dataDir: dir, env: { SIGNING_KEY: 'a-configured-key-that-is-long-enough-0123' }, purgeIntervalMs: false });
      assert.throws(() => configured.jwt.verify(token), 'a configured key replaces the generated one');
      await configured.close();
      assert.ok(readFileSync(signingKeyPath(dir, 'HS256'), 'utf8').length > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works end to end with an asymmetric algorithm and a generated key', async () => {
    const dir = tempDir();
    const auth = await createAuth({ dataDir: dir, env: {}, settings: { ALGORITHM: 'EdDSA' }, purgeIntervalMs: false, passwordParams: { N: 1024, r: 8, p: 1 } });
    try {
      const password = await auth.ensureAdmin(() => {});
      const client = new TestClient(auth.installRoutes(new Router()).app);
      const { access } = (await client.post('/api/token/', { json: { username: 'admin', password } })).json();
      assert.equal(JSON.parse(Buffer.from(access.split('.')[0], 'base64url').toString()).alg, 'EdDSA');
      const hello = await client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } });
      assert.deepEqual(hello.json(), { message: 'hello', user: 'admin' });
    } finally {
      await auth.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
