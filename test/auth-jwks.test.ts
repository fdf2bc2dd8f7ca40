/**
 * Keys other services can verify (issue 10 §5), with jose as the independent oracle: RS256,
 * ES256 and EdDSA tokens carry a `kid` (the key's RFC 7638 thumbprint) and verify against our
 * JWKS endpoint; a rotation signs with the new key while tokens of the retired one still verify;
 * the verify-only mode (JWK_URL) authenticates jose-signed tokens from a JWKS URL, caches the
 * keys, refetches once for a new kid and not for every made-up one.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as jose from 'jose';
import { createAuth, type Auth } from '../app/auth/create-auth.ts';
import { createVerifier } from '../app/auth/create-verifier.ts';
import { Router } from '../app/router.ts';
import { hashPassword } from '../app/store/passwords.ts';
import { TestClient } from '../app/testing.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function authWith(settings: Record<string, unknown>, env: Record<string, string> = {}, now?: () => number): Promise<{ auth: Auth; client: TestClient; login(): Promise<{ access: string; refresh: string }> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jwks-'));
  dirs.push(dataDir);
  const auth = await createAuth({ dataDir, env, settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, ...settings }, passwordParams: CHEAP, purgeIntervalMs: false, userCacheMs: 0, now });
  await auth.store.users.create('alice', await hashPassword('wonderland-42', CHEAP));
  const client = new TestClient(auth.installRoutes(new Router()).app);
  return {
    auth,
    client,
    async login() {
      const r = await client.post('/api/token/', { json: { username: 'alice', password: 'wonderland-42' } });
      assert.equal(r.status, 200, r.text);
      return r.json();
    },
  };
}

/** A JWKS served over HTTP on loopback, whose keys a test can change. */
async function jwksServer(): Promise<{ url: string; keys: object[]; hits: number; close(): Promise<void> }> {
  const state = { keys: [] as object[], hits: 0 };
  const server: Server = createServer((_req, res) => {
    state.hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('signing with a kid and publishing a JWKS', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: tokens carry the key's thumbprint as kid and verify with jose against GET /.well-known/jwks.json`, async () => {
      const { auth, client, login } = await authWith({ ALGORITHM: alg });
      try {
        const { access, refresh } = await login();
        const header = jose.decodeProtectedHeader(access);
        assert.equal(header.alg, alg);
        const response = await client.get('/.well-known/jwks.json');
        assert.equal(response.status, 200);
        assert.match(response.header('cache-control') ?? '', /max-age=\d+/);
        const jwks = response.json() as jose.JSONWebKeySet;
        assert.equal(jwks.keys.length, 1);
        const [jwk] = jwks.keys as [jose.JWK];
        assert.equal(header.kid, await jose.calculateJwkThumbprint(jwk), 'kid is the RFC 7638 thumbprint');
        assert.deepEqual([jwk.kid, jwk.use, jwk.alg, 'd' in jwk], [header.kid, 'sig', alg, false], 'public key only');
        const verified = await jose.jwtVerify(access, jose.createLocalJWKSet(jwks), { algorithms: [alg] });
        assert.equal(verified.payload.token_type, 'access');
        await jose.jwtVerify(refresh, jose.createLocalJWKSet(jwks), { algorithms: [alg] });
      } finally {
        await auth.close();
      }
    });
  }

  it('HS256: no kid, and no JWKS (a shared secret is never published)', async () => {
    const { auth, client, login } = await authWith({});
    try {
      const { access } = await login();
      assert.equal(jose.decodeProtectedHeader(access).kid, undefined);
      assert.equal((await client.get('/.well-known/jwks.json')).status, 404);
    } finally {
      await auth.close();
    }
  });
});

describe('key rotation', () => {
  it('the new key signs; tokens of the retired key verify until they expire; the JWKS lists both', async () => {
    const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
    const oldKey = pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    const newKey = pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    let clock = Date.now();
    const before = await authWith({ ALGORITHM: 'ES256', SIGNING_KEY: oldKey }, {}, () => clock);
    const oldPair = await before.login();
    const oldJwks = (await before.client.get('/.well-known/jwks.json')).text;
    await before.auth.close();

    const retiredFile = join(dirs[dirs.length - 1]!, 'retired-jwks.json');
    writeFileSync(retiredFile, oldJwks);
    const afterRotation = await authWith({ ALGORITHM: 'ES256', SIGNING_KEY: newKey }, { SIMPLE_JWT_RETIRED_KEYS_FILE: retiredFile }, () => clock);
    try {
      const hello = (access: string) => afterRotation.client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } });
      assert.equal((await hello(oldPair.access)).status, 200, 'a token of the retired key still verifies');
      const newPair = await afterRotation.login();
      const oldKid = jose.decodeProtectedHeader(oldPair.access).kid;
      const newKid = jose.decodeProtectedHeader(newPair.access).kid;
      assert.notEqual(newKid, oldKid, 'the new key signs');
      const jwks = (await afterRotation.client.get('/.well-known/jwks.json')).json() as jose.JSONWebKeySet;
      assert.deepEqual(jwks.keys.map((k) => k.kid), [newKid, oldKid]);
      await jose.jwtVerify(oldPair.access, jose.createLocalJWKSet(jwks));
      await jose.jwtVerify(newPair.access, jose.createLocalJWKSet(jwks));
      const refreshed = await afterRotation.client.post('/api/token/refresh/', { json: { refresh: oldPair.refresh } });
      assert.equal(refreshed.status, 200, 'a refresh token of the retired key is honoured, and rotated onto the new key');
      assert.equal(jose.decodeProtectedHeader(refreshed.json().refresh).kid, newKid);
      clock += 6 * 60 * 1000;
      assert.equal((await hello(oldPair.access)).status, 401, 'until it expires');
      const stranger = pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      const forged = await new jose.SignJWT({ token_type: 'access', user_id: 1, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'made-up' })
        .setExpirationTime('5m')
        .sign(await jose.importPKCS8(stranger, 'ES256'));
      assert.equal((await hello(forged)).status, 401, 'an unknown kid is refused');
    } finally {
      await afterRotation.auth.close();
    }
  });

  it('refuses a retired-keys file that is not a JWKS of public keys for the algorithm', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jwks-bad-'));
    dirs.push(dataDir);
    const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const privateJwk = await jose.exportJWK(privateKey);
    for (const retired of [{ keys: [privateJwk] }, { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, { nope: 1 }]) {
      await assert.rejects(createAuth({ dataDir, env: {}, settings: { ALGORITHM: 'ES256', RETIRED_KEYS: retired }, purgeIntervalMs: false }), /RETIRED_KEYS|JWKS/);
    }
  });
});

describe('verify-only mode (JWK_URL)', () => {
  it('authenticates tokens signed elsewhere with the keys of a JWKS URL, cached, refetched once for a new kid', async () => {
    const server = await jwksServer();
    try {
      const first = await jose.generateKeyPair('ES256', { extractable: true });
      const second = await jose.generateKeyPair('ES256', { extractable: true });
      const third = await jose.generateKeyPair('ES256', { extractable: true });
      server.keys.push({ ...(await jose.exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' });
      const sign = (key: Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'], kid: string | undefined, claims: Record<string, unknown> = {}) =>
        new jose.SignJWT({ token_type: 'access', user_id: 7, username: 'svc', jti: randomUUID().replaceAll('-', ''), ...claims })
          .setProtectedHeader(kid === undefined ? { alg: 'ES256' } : { alg: 'ES256', kid })
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);

      const logged: string[] = [];
      let offset = 0;
      const verifier = await createVerifier({ env: {}, settings: { ALGORITHM: 'ES256', JWK_URL: server.url }, jwks: { cooldownMs: 60_000 }, log: (_l, m) => logged.push(m), now: () => Date.now() + offset });
      const client = new TestClient(verifier.installHelloRoute(new Router()).app);
      const hello = (token: string) => client.get('/api/hello/', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(server.hits, 1, 'fetched at start');

      for (let i = 0; i < 5; i++) {
        const r = await hello(await sign(first.privateKey, 'k1'));
        assert.deepEqual([r.status, r.json()], [200, { message: 'hello', user: 'svc' }], r.text);
      }
      assert.equal(server.hits, 1, 'the keys are cached');

      // The signer rotates: its JWKS now has k2 too; the first token with k2 (past the cooldown
      // since the last fetch) refetches once.
      offset += 61_000;
      server.keys.push({ ...(await jose.exportJWK(second.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' });
      assert.equal((await hello(await sign(second.privateKey, 'k2'))).status, 200);
      assert.equal((await hello(await sign(second.privateKey, 'k2'))).status, 200);
      assert.equal(server.hits, 2);

      // Made-up kids: within the cooldown, no fetch at all (the last fetch was just now).
      const stranger = await hello(await sign(third.privateKey, 'k3'));
      assert.equal(stranger.status, 401);
      assert.equal(stranger.json().code, 'token_not_valid');
      for (let i = 0; i < 5; i++) assert.equal((await hello(await sign(third.privateKey, `x${i}`))).status, 401);
      assert.equal(server.hits, 2, 'unknown kids do not turn into fetches');

      assert.equal((await hello(await sign(first.privateKey, undefined))).status, 401, 'a token without kid names no key');
      assert.equal((await hello(await sign(third.privateKey, 'k1'))).status, 401, 'a known kid with another key: bad signature');
      const hs = await new jose.SignJWT({ token_type: 'access', user_id: 7, jti: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32)));
      assert.equal((await hello(hs)).status, 401, 'another algorithm');
      assert.equal((await hello(await sign(first.privateKey, 'k1', { token_type: 'refresh' }))).status, 401, 'a refresh token is not an access token');
      assert.deepEqual(logged, []);
      await verifier.close();
    } finally {
      await server.close();
    }
  });

  it('verifies the tokens of our own server from its JWKS endpoint', async () => {
    const issuer = await authWith({ ALGORITHM: 'EdDSA' });
    const server = await jwksServer();
    try {
      server.keys.push(...((await issuer.client.get('/.well-known/jwks.json')).json() as { keys: object[] }).keys);
      const verifier = await createVerifier({ env: {}, settings: { ALGORITHM: 'EdDSA', JWK_URL: server.url } });
      const client = new TestClient(verifier.installHelloRoute(new Router()).app);
      const { access } = await issuer.login();
      const r = await client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } });
      assert.equal(r.status, 200, r.text);
    } finally {
      await server.close();
      await issuer.auth.close();
    }
  });

  it('refuses an HMAC algorithm and a missing URL at start', async () => {
    await assert.rejects(createVerifier({ env: {}, settings: { ALGORITHM: 'HS256', JWK_URL: 'http://127.0.0.1:1/jwks' } }), /asymmetric ALGORITHM/);
    await assert.rejects(createVerifier({ env: {}, settings: { ALGORITHM: 'RS256' } }), /needs JWK_URL/);
    await assert.rejects(createVerifier({ env: {}, settings: { ALGORITHM: 'RS256', JWK_URL: 'ftp://x' } }), /JWK_URL/);
  });
});
