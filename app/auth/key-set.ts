/**
 * Key identifiers and published keys for the asymmetric algorithms (RS*, ES*, EdDSA): the `kid`
 * of a key is its RFC 7638 thumbprint, the public half goes out as a JWK (RFC 7517), and keys
 * retired by a rotation are kept, verifying only, until the tokens they signed have expired.
 *
 * A rotation of a configured key: publish the current JWKS (GET /.well-known/jwks.json) into a
 * file, set the new SIGNING_KEY and SIMPLE_JWT_RETIRED_KEYS_FILE=<that file>. (The key generated
 * in the data directory rotates with `npm run rotatekey`, key-rotation.ts.) New tokens carry the new key's kid;
 * tokens signed before still verify by their kid; the JWKS lists both, so services verifying with
 * it (JWK_URL) follow. Drop the file once REFRESH_TOKEN_LIFETIME has passed.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ALGORITHM_SPECS, type Algorithm } from './algorithms.ts';
import { KeyConfigError, checkKeyFitsAlgorithm } from './keys.ts';

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/** The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public or private asymmetric key. */
export function thumbprint(key: KeyObject): string {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  const members = THUMBPRINT_MEMBERS[jwk.kty as string];
  if (members === undefined) throw new KeyConfigError(`no thumbprint for key type ${String(jwk.kty)}`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public JWK of `key` as a JWKS publishes it: kty and key members, use "sig", alg, kid. */
export function publicJwk(key: KeyObject, algorithm: Algorithm, kid: string): JsonWebKey {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  return { ...jwk, use: 'sig', alg: algorithm, kid };
}

/** Whether `algorithm` signs with a key pair (and so has keys to publish). */
export function isAsymmetric(algorithm: Algorithm): boolean {
  return ALGORITHM_SPECS[algorithm].family !== 'hmac';
}

/**
 * Public keys from a JWKS (`{"keys":[…]}`) for `algorithm`, by kid. Keys for another algorithm or
 * use are skipped; a key without a kid gets its thumbprint. With `strict`, any key that cannot be
 * used is an error (a configured retired-keys file); otherwise it is skipped (a fetched JWKS may
 * hold keys for other services).
 */
export function keysFromJwks(algorithm: Algorithm, jwks: unknown, strict: boolean, source: string): Map<string, KeyObject> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new KeyConfigError(`${source} is not a JWKS: expected {"keys": [...]}`);
  const found = new Map<string, KeyObject>();
  for (const jwk of keys as JsonWebKey[]) {
    try {
      if (jwk === null || typeof jwk !== 'object') throw new KeyConfigError('not a JWK object');
      if (jwk.use !== undefined && jwk.use !== 'sig') throw new KeyConfigError(`"use" is ${JSON.stringify(jwk.use)}`);
      if (jwk.alg !== undefined && jwk.alg !== algorithm) throw new KeyConfigError(`"alg" is ${JSON.stringify(jwk.alg)}, not ${algorithm}`);
      if (jwk.kty === 'oct' || 'd' in jwk) throw new KeyConfigError('only public keys belong in a JWKS');
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      checkKeyFitsAlgorithm(algorithm, key, source);
      found.set(typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : thumbprint(key), key);
    } catch (error) {
      if (strict) throw new KeyConfigError(`${source}: key ${typeof jwk?.kid === 'string' ? JSON.stringify(jwk.kid) : '#' + keys.indexOf(jwk)}: ${(error as Error).message}`);
    }
  }
  return found;
}
