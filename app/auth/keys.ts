/**
 * Turns the SIGNING_KEY / VERIFYING_KEY settings into node:crypto KeyObjects, once, at start-up.
 *
 * Every key is checked against the configured algorithm here: an HMAC algorithm gets a secret of
 * at least the digest's size (RFC 7518 §3.2), RS* an RSA key of ≥ 2048 bits, ES* a key on the
 * algorithm's own curve, EdDSA an Ed25519/Ed448 key. Because the algorithm is fixed by
 * configuration and the key is bound to it, a token cannot pick its own verification path: an
 * RS256 public key can never be used as an HS256 secret (the classic key-confusion attack).
 */
import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
} from 'node:crypto';
import { ALGORITHM_SPECS, type Algorithm } from './algorithms.ts';

/** A key as configuration may give it: a secret or PEM string, raw bytes, a JWK, or a KeyObject. */
export type KeyMaterial = string | Uint8Array | JsonWebKey | KeyObject;

/** The keys one algorithm works with; `verifying` is the same secret as `signing` for HMAC. */
export interface KeyPair {
  readonly signing: KeyObject;
  readonly verifying: KeyObject;
}

/** A configuration mistake about keys; the message says what to change. */
export class KeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyConfigError';
  }
}

/**
 * Build the key pair for `algorithm`. For HMAC only `signing` is used (VERIFYING_KEY must be
 * absent, as it would be ignored); for asymmetric algorithms `verifying` defaults to the public
 * half of `signing`.
 */
export function resolveKeys(algorithm: Algorithm, signing: KeyMaterial, verifying: KeyMaterial | null = null): KeyPair {
  const spec = ALGORITHM_SPECS[algorithm];
  if (spec.family === 'hmac') {
    if (verifying !== null) {
      throw new KeyConfigError(`VERIFYING_KEY is only used by asymmetric algorithms; ${algorithm} verifies with SIGNING_KEY`);
    }
    const secret = secretKey(algorithm, signing);
    return { signing: secret, verifying: secret };
  }
  const privateKey = asymmetricKey(algorithm, signing, 'private');
  const publicKey = verifying === null ? createPublicKey(privateKey) : asymmetricKey(algorithm, verifying, 'public');
  if (verifying !== null) assertSamePair(algorithm, privateKey, publicKey);
  return { signing: privateKey, verifying: publicKey };
}

function secretKey(algorithm: Algorithm, material: KeyMaterial): KeyObject {
  let bytes: Buffer;
  if (material instanceof KeyObject) {
    if (material.type !== 'secret') {
      throw new KeyConfigError(`${algorithm} needs a shared secret, but SIGNING_KEY is a ${material.type} key`);
    }
    bytes = material.export();
  } else if (typeof material === 'string') {
    const jwk = parseJwkString(material);
    if (jwk !== null) bytes = octBytes(algorithm, jwk);
    else if (material.includes('-----BEGIN')) {
      // A PEM here means an asymmetric key was configured with an HMAC algorithm: the exact
      // setup that lets an attacker sign HS256 tokens with a *public* key. Refuse it.
      throw new KeyConfigError(`${algorithm} needs a shared secret, but SIGNING_KEY looks like a PEM key; use RS*/ES*/EdDSA for key pairs`);
    } else bytes = Buffer.from(material, 'utf8');
  } else if (material instanceof Uint8Array) bytes = Buffer.from(material);
  else bytes = octBytes(algorithm, material);
  const minimum = ALGORITHM_SPECS[algorithm].minKeySize!;
  if (bytes.byteLength < minimum) {
    throw new KeyConfigError(
      `${algorithm} needs a secret of at least ${minimum} bytes (RFC 7518 §3.2); SIGNING_KEY has ${bytes.byteLength}`,
    );
  }
  return createSecretKey(bytes);
}

function octBytes(algorithm: Algorithm, jwk: JsonWebKey): Buffer {
  checkJwkUse(algorithm, jwk);
  if (jwk.kty !== 'oct' || typeof jwk.k !== 'string') {
    throw new KeyConfigError(`${algorithm} needs an "oct" JWK with a "k" member, got kty ${JSON.stringify(jwk.kty)}`);
  }
  return Buffer.from(jwk.k, 'base64url');
}

function asymmetricKey(algorithm: Algorithm, material: KeyMaterial, want: 'private' | 'public'): KeyObject {
  const setting = want === 'private' ? 'SIGNING_KEY' : 'VERIFYING_KEY';
  let key: KeyObject;
  try {
    if (material instanceof KeyObject) key = material;
    else if (typeof material === 'string') {
      const jwk = parseJwkString(material);
      if (jwk !== null) {
        checkJwkUse(algorithm, jwk);
        key = want === 'private' ? createPrivateKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: jwk, format: 'jwk' });
      } else key = want === 'private' ? createPrivateKey(material) : createPublicKey(material);
    } else if (material instanceof Uint8Array) {
      key = want === 'private' ? createPrivateKey(Buffer.from(material)) : createPublicKey(Buffer.from(material));
    } else {
      checkJwkUse(algorithm, material);
      key = want === 'private' ? createPrivateKey({ key: material, format: 'jwk' }) : createPublicKey({ key: material, format: 'jwk' });
    }
  } catch (error) {
    if (error instanceof KeyConfigError) throw error;
    throw new KeyConfigError(`${setting} is not a usable ${want} key for ${algorithm}: ${(error as Error).message}`);
  }
  if (key.type === 'secret') throw new KeyConfigError(`${algorithm} needs a key pair, but ${setting} is a shared secret`);
  if (want === 'private' && key.type !== 'private') {
    throw new KeyConfigError(`${setting} must be a private key for ${algorithm} (the server signs tokens with it)`);
  }
  if (want === 'public' && key.type === 'private') key = createPublicKey(key);
  checkKeyFitsAlgorithm(algorithm, key, setting);
  return key;
}

/** Throws KeyConfigError unless `key` is the right kind for `algorithm` (RSA ≥ 2048 bits, the algorithm's curve…). */
export function checkKeyFitsAlgorithm(algorithm: Algorithm, key: KeyObject, setting: string): void {
  const spec = ALGORITHM_SPECS[algorithm];
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (spec.family === 'rsa') {
    if (type !== 'rsa') throw new KeyConfigError(`${algorithm} needs an RSA key, but ${setting} is ${type}`);
    if ((details.modulusLength ?? 0) < spec.minKeySize!) {
      throw new KeyConfigError(`${algorithm} needs an RSA key of at least ${spec.minKeySize} bits (RFC 7518 §3.3); ${setting} has ${details.modulusLength}`);
    }
  } else if (spec.family === 'ec') {
    if (type !== 'ec' || details.namedCurve !== spec.curve) {
      throw new KeyConfigError(`${algorithm} needs an EC key on curve ${spec.curve}, but ${setting} is ${type} ${details.namedCurve ?? ''}`.trimEnd());
    }
  } else if (type !== 'ed25519' && type !== 'ed448') {
    throw new KeyConfigError(`EdDSA needs an Ed25519 or Ed448 key, but ${setting} is ${type}`);
  }
}

function checkJwkUse(algorithm: Algorithm, jwk: JsonWebKey): void {
  if (jwk.alg !== undefined && jwk.alg !== algorithm) {
    throw new KeyConfigError(`the JWK is for "alg" ${JSON.stringify(jwk.alg)}, but ALGORITHM is ${algorithm}`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new KeyConfigError(`the JWK has "use" ${JSON.stringify(jwk.use)}; signing keys need "sig"`);
}

/** A JSON object with a "kty" member is a JWK; anything else is not (a secret may contain '{'). */
function parseJwkString(text: string): JsonWebKey | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (value !== null && typeof value === 'object' && typeof (value as JsonWebKey).kty === 'string') return value as JsonWebKey;
  } catch {
    // not JSON: a secret that happens to start with '{'
  }
  return null;
}

/** A configured key pair whose halves do not belong together would fail on every request; fail now. */
function assertSamePair(algorithm: Algorithm, privateKey: KeyObject, publicKey: KeyObject): void {
  const probe = Buffer.from('key-pair-probe');
  const digest = ALGORITHM_SPECS[algorithm].digest;
  const dsaEncoding = 'ieee-p1363' as const;
  const signature = cryptoSign(digest, probe, { key: privateKey, dsaEncoding });
  if (!cryptoVerify(digest, probe, { key: publicKey, dsaEncoding }, signature)) {
    throw new KeyConfigError('VERIFYING_KEY is not the public half of SIGNING_KEY');
  }
}
