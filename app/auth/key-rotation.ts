/**
 * Rotating the signing key the data directory keeps (signing-key.ts generates it on first start
 * when no SIGNING_KEY is configured), for the asymmetric algorithms (RS*, ES*, EdDSA).
 *
 * A rotation puts the current key's public half in the retired-keys file beside it, with the
 * time until which tokens it signed can still be valid, then replaces the key with a new one.
 * An app started afterwards (a reload: SIGHUP) signs with the new key and, because tokens carry
 * the kid of the key that signed them, still verifies the old key's tokens until they expire,
 * and publishes both keys in its JWKS so services verifying with JWK_URL follow.
 *
 * The retired-keys file is a JWKS (RFC 7517) whose keys carry one more member, `exp`: the
 * NumericDate after which no token the key signed is valid any more (RFC 7517 §4: members a
 * reader does not know are ignored). Keys past it are no longer loaded, and are dropped at the
 * next rotation.
 *
 * HMAC keys cannot be rotated this way: HS256 tokens carry no kid (as simplejwt's), so a
 * verifier could not tell which secret signed a token.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Algorithm } from './algorithms.ts';
import { isAsymmetric, keysFromJwks, publicJwk, thumbprint } from './key-set.ts';
import { KeyConfigError } from './keys.ts';
import { withRotationLock } from './rotation-lock.ts';
import { generateKey, readKeyFile, signingKeyPath } from './signing-key.ts';

/** Path of the retired-keys file for `algorithm` inside `dataDir`. */
export function retiredKeysPath(dataDir: string, algorithm: Algorithm): string {
  return join(dataDir, `jwt-retired-keys.${algorithm.toLowerCase()}.json`);
}

/** A retired key as the file keeps it: its public JWK (kid, alg, use) and `exp`, epoch seconds. */
type RetiredJwk = JsonWebKey & { kid: string; exp: number };

/**
 * The retired keys of `dataDir` for `algorithm` that may still have valid tokens at `nowSeconds`,
 * by kid; empty when there is no file. A file that is not a JWKS of public keys for the
 * algorithm is a KeyConfigError naming it.
 */
export function loadRetiredKeys(dataDir: string, algorithm: Algorithm, nowSeconds: number): Map<string, KeyObject> {
  const path = retiredKeysPath(dataDir, algorithm);
  const live = readRetired(path).filter((jwk) => jwk.exp > nowSeconds);
  return keysFromJwks(algorithm, { keys: live }, true, path);
}

/** What a rotation did. */
export interface Rotation {
  readonly oldKid: string;
  readonly newKid: string;
  /** Until when (epoch seconds) the old key keeps verifying. */
  readonly oldKeyUntil: number;
  /** Retired keys whose tokens had all expired, dropped from the file. */
  readonly dropped: number;
}

/**
 * Rotate the key of `dataDir` for `algorithm`: the current key is retired until
 * `nowSeconds + keepSeconds`, a new one takes its place. The retired-keys file is written before
 * the key is replaced, so a crash in between leaves the old key both current and retired
 * (harmless), never a key that signed tokens and is no longer known. One rotation at a time
 * (rotation-lock.ts). Throws KeyConfigError (one line for the operator) when there is nothing to
 * rotate or another rotation is running.
 */
export function rotateSigningKey(dataDir: string, algorithm: Algorithm, keepSeconds: number, nowSeconds: number): Rotation {
  return withRotationLock(rotationLockPath(dataDir, algorithm), () => rotate(dataDir, algorithm, keepSeconds, nowSeconds));
}

/** Path of the lock a rotation of `algorithm`'s key in `dataDir` holds (rotation-lock.ts). */
export function rotationLockPath(dataDir: string, algorithm: Algorithm): string {
  return join(dataDir, `jwt-signing-key.${algorithm.toLowerCase()}.rotating`);
}

function rotate(dataDir: string, algorithm: Algorithm, keepSeconds: number, nowSeconds: number): Rotation {
  if (!isAsymmetric(algorithm)) {
    throw new KeyConfigError(
      `${algorithm} keys cannot be rotated with old tokens still valid: HMAC tokens carry no kid, so the verifier could not tell which secret signed them (use RS256, ES256 or EdDSA; deleting the key file makes every token invalid)`,
    );
  }
  const keyPath = signingKeyPath(dataDir, algorithm);
  const pem = readKeyFile(keyPath);
  if (pem === null) throw new KeyConfigError(`there is no ${algorithm} signing key in ${dataDir} yet (${keyPath}): it is generated on first start, nothing to rotate`);
  let current: KeyObject;
  try {
    current = createPrivateKey(pem);
  } catch (error) {
    throw new KeyConfigError(`the signing key file ${keyPath} does not hold a private key (${(error as Error).message})`);
  }
  const oldKid = thumbprint(current);
  const retiredPath = retiredKeysPath(dataDir, algorithm);
  const kept = readRetired(retiredPath);
  const live = kept.filter((jwk) => jwk.exp > nowSeconds && jwk.kid !== oldKid);
  const earlier = kept.find((jwk) => jwk.kid === oldKid)?.exp ?? 0;
  const oldKeyUntil = Math.max(earlier, nowSeconds + keepSeconds);
  const retired: RetiredJwk[] = [{ ...publicJwk(current, algorithm, oldKid), kid: oldKid, exp: oldKeyUntil }, ...live];
  writePrivateFile(retiredPath, `${JSON.stringify({ keys: retired }, null, 2)}\n`);
  const next = generateKey(algorithm);
  writePrivateFile(keyPath, `${next}\n`);
  const dropped = kept.filter((jwk) => jwk.exp <= nowSeconds && jwk.kid !== oldKid).length;
  return { oldKid, newKid: thumbprint(createPrivateKey(next)), oldKeyUntil, dropped };
}

function readRetired(path: string): RetiredJwk[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KeyConfigError(`the retired-keys file ${path} is not JSON (${(error as Error).message})`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new KeyConfigError(`the retired-keys file ${path} is not a JWKS: expected {"keys": [...]}`);
  for (const jwk of keys) {
    if (typeof (jwk as RetiredJwk | null)?.kid !== 'string' || !Number.isFinite((jwk as RetiredJwk).exp)) {
      throw new KeyConfigError(`the retired-keys file ${path}: every key needs a "kid" and an "exp" (epoch seconds)`);
    }
  }
  return keys as RetiredJwk[];
}

/** Replace `path` with `content` (mode 0600): a temporary file, flushed, renamed over it. */
function writePrivateFile(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
  // The rename itself is durable once the directory is flushed too.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
