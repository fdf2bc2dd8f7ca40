/**
 * The demo app's verify-only switch (issue 10 §5), end to end over real sockets: one worker pool
 * hosts the demo app signing with RS256 and publishing its JWKS; a second pool hosts the same
 * demo app with SIMPLE_JWT_JWK_URL pointing at the first one's JWKS, and no user store. A token
 * the first signs is accepted by the second; a token with a kid no JWKS names, or signed by
 * another key under the first one's kid, gets simplejwt's 401 body. jose is the oracle for the
 * JWKS and signs the strangers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import { hashPassword } from '../app/store/passwords.ts';
import { openStore } from '../app/store/store.ts';
import { PoolProcess } from './fixtures/pool.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };
const INVALID = {
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is invalid or expired' }],
};

describe('the demo app with JWK_URL verifies another instance\'s tokens', () => {
  const dirs: string[] = [];
  const stops: (() => unknown)[] = [];
  after(async () => {
    for (const stop of stops) await stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  // Each pool's stop is registered before it starts (a start that throws leaves nothing running).
  const owner = { after: (stop: () => unknown) => void stops.push(stop) };
  let signer: PoolProcess;
  let verifier: PoolProcess;
  let verifierDir: string;
  const jwksUrl = () => `http://127.0.0.1:${signer.port}/.well-known/jwks.json`;

  before(async () => {
    const signerDir = mkdtempSync(join(tmpdir(), 'jwk-url-signer-'));
    verifierDir = mkdtempSync(join(tmpdir(), 'jwk-url-verifier-'));
    dirs.push(signerDir, verifierDir);
    const store = openStore(signerDir);
    store.users.create('alice', await hashPassword('wonderland-42', CHEAP));
    store.close();
    // No SIGNING_KEY: the signer generates its RS256 key in its data directory.
    const env = { SIGNING_KEY: undefined, SIMPLE_JWT_SIGNING_KEY: undefined, SIMPLE_JWT_ALGORITHM: 'RS256', DATABASE_URL: undefined, LAYERSTACK_DATABASE_URL: undefined };
    signer = await PoolProcess.start(owner, ['--workers', '1', '--access-log', 'off'], { env: { ...env, DATA_DIR: signerDir } });
    verifier = await PoolProcess.start(owner, ['--workers', '1', '--access-log', 'off'], {
      env: { ...env, DATA_DIR: verifierDir, SIMPLE_JWT_JWK_URL: jwksUrl() },
    });
  });

  const hello = (token: string) => fetch(`http://127.0.0.1:${verifier.port}/api/hello/`, { headers: { authorization: `Bearer ${token}` } });

  it('accepts an access token the signer issued, checked by its kid against the signer\'s JWKS', async () => {
    const login = await fetch(`http://127.0.0.1:${signer.port}/api/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'wonderland-42' }),
    });
    assert.equal(login.status, 200, await login.clone().text());
    const { access } = (await login.json()) as { access: string };
    // The oracle: jose verifies the token with the JWKS the signer serves.
    const { protectedHeader } = await jose.jwtVerify(access, jose.createRemoteJWKSet(new URL(jwksUrl())));
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(typeof protectedHeader.kid, 'string');

    const r = await hello(access);
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(((await r.json()) as { message: string }).message, 'hello');
    assert.equal((await hello(access)).status, 200, 'and again, from the cached keys');
  });

  it('refuses a token whose kid no JWKS names, and another key under the signer\'s kid, with simplejwt\'s 401', async () => {
    const stranger = await jose.generateKeyPair('RS256');
    const kid = (((await (await fetch(jwksUrl())).json()) as jose.JSONWebKeySet).keys[0]!.kid)!;
    const forge = (header: { alg: string; kid: string }) =>
      new jose.SignJWT({ token_type: 'access', user_id: 1, jti: randomUUID().replaceAll('-', '') }).setProtectedHeader(header).setIssuedAt().setExpirationTime('5m').sign(stranger.privateKey);
    for (const token of [await forge({ alg: 'RS256', kid: 'no-such-key' }), await forge({ alg: 'RS256', kid })]) {
      const r = await hello(token);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="api"');
      assert.deepEqual(await r.json(), INVALID);
    }
  });

  it('runs without a user store: no token views, no database file', async () => {
    const r = await fetch(`http://127.0.0.1:${verifier.port}/api/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 404);
    assert.equal(existsSync(join(verifierDir, 'auth.sqlite3')), false);
  });
});
