import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import type { Algorithm } from '../app/auth/algorithms.ts';
import { JwtCodec, JwtError, base64url, constantTimeEqual, type JwtFailure } from '../app/auth/jwt.ts';
import { KeyConfigError, resolveKeys, type KeyMaterial } from '../app/auth/keys.ts';
import { tamperSignature } from './auth-fixture.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
const NOW = 1_795_949_239_000;
const NOW_S = NOW / 1000;

function codec(algorithm: Algorithm, signing: KeyMaterial, extra: Partial<ConstructorParameters<typeof JwtCodec>[0]> = {}, verifying: KeyMaterial | null = null): JwtCodec {
  return new JwtCodec({ algorithm, keys: resolveKeys(algorithm, signing, verifying), now: () => NOW, ...extra });
}

function rejects(c: JwtCodec, token: string, reason: JwtFailure): void {
  assert.throws(() => c.verify(token), (e: unknown) => e instanceof JwtError && e.reason === reason, `expected ${reason}`);
}

/** A token with the given header and payload, HMAC-signed with `secret` (for crafting bad tokens). */
function craft(header: object | string, payload: object | string, secret = SECRET, hash = 'sha256'): string {
  const h = typeof header === 'string' ? header : base64url(JSON.stringify(header));
  const p = typeof payload === 'string' ? payload : base64url(JSON.stringify(payload));
  return `${h}.${p}.${createHmac(hash, secret).update(`${h}.${p}`).digest('base64url')}`;
}

const CLAIMS = { token_type: 'access', exp: NOW_S + 300, iat: NOW_S, jti: '12ba2ce2f05f4b54acabddb752a5705d', user_id: 1 };

describe('JwtCodec HS256', () => {
  const hs = codec('HS256', SECRET);

  it('signs the simplejwt header and keeps claim order', () => {
    const token = hs.sign(CLAIMS);
    const [header, payload] = token.split('.');
    assert.equal(Buffer.from(header!, 'base64url').toString(), '{"alg":"HS256","typ":"JWT"}');
    assert.equal(Buffer.from(payload!, 'base64url').toString(), JSON.stringify(CLAIMS));
    assert.ok(!token.includes('='), 'base64url without padding');
    assert.deepEqual(hs.verify(token), CLAIMS);
  });

  it('matches the reference stack byte for byte (same key, same claims)', () => {
    const reference = codec('HS256', 'seedstack-insecure-reference-key-do-not-deploy', { now: () => 1795949239_000 });
    const claims = { token_type: 'access', exp: 1795949539, iat: 1795949239, jti: '12ba2ce2f05f4b54acabddb752a5705d', user_id: 1 };
    // An access token a Django + simplejwt stack issued with this key ("Token obtain: success").
    assert.equal(
      reference.sign(claims),
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1OTQ5NTM5LCJpYXQiOjE3OTU5NDkyMzksImp0aSI6IjEyYmEyY2UyZjA1ZjRiNTRhY2FiZGRiNzUyYTU3MDVkIiwidXNlcl9pZCI6MX0.nXuOcOOSomi_0NcfBNN8MqHxc9Tz0ComuBu4b7DzxQw',
    );
  });

  it('verifies the RFC 7515 A.1 / RFC 7519 §3.1 example (JWK key, CRLF in the JSON)', () => {
    const token =
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const jwk = { kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow' };
    const before = codec('HS256', jwk, { now: () => 1300819370_000, issuer: 'joe' });
    assert.deepEqual(before.verify(token), { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
    rejects(codec('HS256', JSON.stringify(jwk), { now: () => 1300819380_000 }), token, 'expired');
    rejects(codec('HS256', jwk, { now: () => 1300819370_000, issuer: 'jane' }), token, 'issuer');
  });

  it('rejects the RFC 7519 §6.1 unsecured JWT and every alg:none token', () => {
    rejects(hs, 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.', 'algorithm');
    const none = `${base64url('{"alg":"none","typ":"JWT"}')}.${base64url(JSON.stringify(CLAIMS))}.`;
    rejects(hs, none, 'algorithm');
    rejects(hs, `${base64url('{"alg":"NONE"}')}.${base64url(JSON.stringify(CLAIMS))}.`, 'algorithm');
  });

  it('rejects other HMAC algorithms signed with the right key (HS512 in the reference)', () => {
    rejects(hs, craft({ alg: 'HS512', typ: 'JWT' }, CLAIMS, SECRET, 'sha512'), 'algorithm');
    rejects(hs, craft({ alg: 'hs256', typ: 'JWT' }, CLAIMS), 'algorithm');
  });

  it('rejects a tampered signature (a non-final character), a tampered payload, another key', () => {
    const token = hs.sign(CLAIMS);
    rejects(hs, tamperSignature(token), 'signature');
    const [h, , s] = token.split('.');
    rejects(hs, `${h}.${base64url(JSON.stringify({ ...CLAIMS, user_id: 2 }))}.${s}`, 'signature');
    rejects(hs, codec('HS256', 'another-secret-that-is-also-long-enough!!').sign(CLAIMS), 'signature');
  });

  it('rejects non-canonical signatures that lenient decoders accept (unused low bits of the last char)', () => {
    const token = hs.sign(CLAIMS);
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!; // same upper 4 bits: decodes to the same bytes
    const variant = token.slice(0, -1) + sibling;
    assert.deepEqual(Buffer.from(variant.split('.')[2]!, 'base64url'), Buffer.from(token.split('.')[2]!, 'base64url'));
    rejects(hs, variant, 'signature');
    rejects(hs, `${token}=`, 'signature');
  });

  it('checks exp and nbf with leeway, and the types of time claims', () => {
    const at = (ms: number, leeway = 0) => codec('HS256', SECRET, { now: () => ms, leeway });
    const token = hs.sign({ ...CLAIMS, nbf: NOW_S + 10 });
    rejects(at(NOW), token, 'not-yet-valid');
    assert.ok(at(NOW, 10).verify(token));
    assert.ok(at((NOW_S + 299) * 1000 + 999).verify(token), 'valid until the second of exp');
    rejects(at((NOW_S + 300) * 1000), token, 'expired');
    assert.ok(at((NOW_S + 304) * 1000, 5).verify(token), 'leeway extends exp');
    rejects(at((NOW_S + 305) * 1000, 5), token, 'expired');
    for (const bad of [{ exp: '9999999999' }, { exp: null }, { nbf: 'soon' }, { iat: [1] }]) {
      rejects(hs, hs.sign({ ...CLAIMS, ...bad }), 'payload');
    }
  });

  it('checks aud and iss when configured and puts them in signed tokens', () => {
    const scoped = codec('HS256', SECRET, { audience: ['api', 'admin'], issuer: 'layerstack' });
    const token = scoped.sign(CLAIMS);
    assert.deepEqual(Object.keys(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).slice(-2), ['aud', 'iss']);
    assert.ok(scoped.verify(token));
    rejects(scoped, hs.sign(CLAIMS), 'audience');
    rejects(scoped, hs.sign({ ...CLAIMS, aud: 'other' }), 'audience');
    assert.ok(scoped.verify(hs.sign({ ...CLAIMS, aud: ['x', 'admin'], iss: 'layerstack' })));
    rejects(scoped, hs.sign({ ...CLAIMS, aud: 'api', iss: 'evil' }), 'issuer');
    assert.ok(hs.verify(token), 'aud/iss are ignored when not configured (as simplejwt/PyJWT)');
  });

  it('refuses malformed input with a reason, never an exception of another kind', () => {
    const good = hs.sign(CLAIMS);
    const [h, p, s] = good.split('.') as [string, string, string];
    const cases: [string, JwtFailure][] = [
      ['', 'malformed'],
      ['garbage', 'malformed'],
      ['a.b', 'malformed'],
      [`${h}.${p}`, 'malformed'],
      [`${h}..${s}`, 'malformed'],
      [`.${p}.${s}`, 'malformed'],
      [`${good}.extra`, 'malformed'],
      [good.slice(0, good.length - 10), 'signature'],
      ['x'.repeat(9000), 'too-long'],
      [`${h}.${p}.${s}${'A'.repeat(9000)}`, 'too-long'],
      [`${base64url('not json')}.${p}.${s}`, 'header'],
      [`${base64url('[1]')}.${p}.${s}`, 'header'],
      [`${h}.${p}\u00ff.${s}`, 'signature'],
    ];
    for (const [token, reason] of cases) rejects(hs, token, reason);
    // Validly signed but not a JSON object, or not UTF-8 (RFC 8725 §3.7).
    rejects(hs, craft({ alg: 'HS256', typ: 'JWT' }, base64url('[1,2]')), 'payload');
    rejects(hs, craft({ alg: 'HS256', typ: 'JWT' }, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')), 'payload');
    rejects(hs, craft({ alg: 'HS256', typ: 'JWT' }, base64url('{"exp":')), 'payload');
  });

  it('rejects headers with crit, b64:false or a non-string kid', () => {
    rejects(hs, craft({ alg: 'HS256', crit: ['exp'], exp: 1 }, CLAIMS), 'header');
    rejects(hs, craft({ alg: 'HS256', b64: false, crit: ['b64'] }, CLAIMS), 'header');
    rejects(hs, craft({ alg: 'HS256', kid: 7 }, CLAIMS), 'header');
    assert.ok(hs.verify(craft({ alg: 'HS256', kid: 'k1' }, CLAIMS)));
  });

  it('compares in constant time over the whole length', () => {
    assert.equal(constantTimeEqual('abc', 'abc'), true);
    assert.equal(constantTimeEqual('abc', 'abd'), false);
    assert.equal(constantTimeEqual('abc', 'ab'), false);
  });
});

describe('asymmetric algorithms', () => {
  const pairs: Record<string, { privateKey: KeyObject; publicKey: KeyObject }> = {
    RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    EdDSA: generateKeyPairSync('ed25519'),
  };
  const pem = (k: KeyObject) => k.export({ format: 'pem', type: k.type === 'private' ? 'pkcs8' : 'spki' }) as string;

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: signs and verifies with PEM and JWK keys; a verify-only codec needs only the public key`, () => {
      const { privateKey, publicKey } = pairs[alg]!;
      const fromPem = codec(alg, pem(privateKey), {}, pem(publicKey));
      const fromJwk = codec(alg, privateKey.export({ format: 'jwk' }), {}, publicKey.export({ format: 'jwk' }));
      const token = fromPem.sign(CLAIMS);
      assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg, alg);
      assert.deepEqual(fromJwk.verify(token), CLAIMS);
      assert.deepEqual(fromPem.verify(fromJwk.sign(CLAIMS)), CLAIMS);
      rejects(fromPem, tamperSignature(token), 'signature');
      rejects(fromPem, codec(alg, generateOther(alg)).sign(CLAIMS), 'signature');
    });
  }

  it('verifies the RFC 7515 A.3 ES256 example', () => {
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
      d: 'jpsQnnGQmL-YBIffH1136cLNCZ4nZiYbgH2k5GKTEbI',
    };
    const es = codec('ES256', jwk, { now: () => 1300819370_000 });
    const token =
      'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';
    assert.equal(es.verify(token).iss, 'joe');
  });

  it('accepts the RFC 8037 A.4 Ed25519 signature (and then refuses its non-JSON payload)', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    const token =
      'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';
    const ed = codec('EdDSA', jwk);
    rejects(ed, token, 'payload'); // the signature check passed: only the payload ("Example of…") is not a JWT
    rejects(ed, tamperSignature(token), 'signature');
  });

  it('blocks HS/RS key confusion: an HS256 token "signed" with the RS256 public key is refused', () => {
    const { privateKey, publicKey } = pairs.RS256!;
    const rs = codec('RS256', pem(privateKey));
    const forged = craft({ alg: 'HS256', typ: 'JWT' }, CLAIMS, pem(publicKey));
    rejects(rs, forged, 'algorithm');
    assert.throws(() => resolveKeys('HS256', pem(publicKey)), KeyConfigError, 'a PEM is never an HMAC secret');
  });
});

function generateOther(alg: 'RS256' | 'ES256' | 'EdDSA'): KeyObject {
  if (alg === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
}

describe('key configuration', () => {
  it('refuses keys that do not fit the algorithm, with a message naming the problem', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const ed = generateKeyPairSync('ed25519');
    const cases: [Algorithm, KeyMaterial, KeyMaterial | null, RegExp][] = [
      ['HS256', 'short', null, /at least 32 bytes/],
      ['HS512', 'x'.repeat(63), null, /at least 64 bytes/],
      ['HS256', SECRET, SECRET, /VERIFYING_KEY is only used by asymmetric/],
      ['HS256', ed.privateKey, null, /needs a shared secret/],
      ['HS256', { kty: 'RSA', n: 'x', e: 'AQAB' }, null, /"oct" JWK/],
      ['HS256', { kty: 'oct', k: base64url(SECRET), alg: 'HS512' }, null, /"alg" "HS512"/],
      ['RS256', rsa1024, null, /at least 2048 bits/],
      ['RS256', SECRET, null, /not a usable private key/],
      ['ES256', p384, null, /curve prime256v1/],
      ['EdDSA', p384, null, /Ed25519 or Ed448/],
      ['ES256', ed.publicKey, null, /must be a private key/],
      ['EdDSA', ed.privateKey, generateKeyPairSync('ed25519').publicKey, /not the public half/],
    ];
    for (const [alg, signing, verifying, message] of cases) {
      assert.throws(() => resolveKeys(alg, signing, verifying), (e: unknown) => e instanceof KeyConfigError && message.test(e.message), String(message));
    }
  });

  it('treats a secret that merely starts with "{" as a secret', () => {
    const keys = resolveKeys('HS256', '{not json but a long enough secret}');
    assert.equal(keys.signing.symmetricKeySize, 35);
  });
});

describe('interop with jose', () => {
  const claims = { ...CLAIMS, exp: Math.floor(Date.now() / 1000) + 300, iat: Math.floor(Date.now() / 1000) };

  it('HS256: jose verifies our tokens and we verify jose tokens', async () => {
    const ours = new JwtCodec({ algorithm: 'HS256', keys: resolveKeys('HS256', SECRET) });
    const secret = new TextEncoder().encode(SECRET);
    const { payload, protectedHeader } = await jose.jwtVerify(ours.sign(claims), secret, { algorithms: ['HS256'] });
    assert.deepEqual(payload, claims);
    assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'JWT' });
    const theirs = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    assert.deepEqual(ours.verify(theirs), claims);
    assert.deepEqual(ours.verify(theirs), claims, 'second time through the accepted-header cache');
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: both ways`, async () => {
      const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
      const ours = new JwtCodec({ algorithm: alg, keys: resolveKeys(alg, await jose.exportPKCS8(privateKey)) });
      const { payload } = await jose.jwtVerify(ours.sign(claims), publicKey, { algorithms: [alg] });
      assert.deepEqual(payload, claims);
      const theirs = await new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(privateKey);
      const verifier = new JwtCodec({ algorithm: alg, keys: resolveKeys(alg, await jose.exportPKCS8(privateKey), await jose.exportJWK(publicKey)) });
      assert.deepEqual(verifier.verify(theirs), claims);
    });
  }

  it('jose-signed tokens with a different alg or key are refused', async () => {
    const ours = new JwtCodec({ algorithm: 'HS256', keys: resolveKeys('HS256', SECRET) });
    assert.throws(() => ours.verify(new jose.UnsecuredJWT(claims).encode()), JwtError);
    const hs384 = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS384' }).sign(new TextEncoder().encode(SECRET + SECRET));
    assert.throws(() => ours.verify(hs384), JwtError);
    const other = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(`${SECRET}-other`));
    assert.throws(() => ours.verify(other), JwtError);
  });
});
