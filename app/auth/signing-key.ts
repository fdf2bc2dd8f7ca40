/**
 * The signing key used when none is configured: generated on first start and kept in the data
 * directory (mode 0600), so tokens survive restarts and every worker signs with the same key.
 * Several workers starting at once are safe: the key is written to a private temporary file and
 * hard-linked into place, which either creates the complete file or fails because another
 * process already did; the loser reads the winner's key.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ALGORITHM_SPECS, type Algorithm } from './algorithms.ts';
import { KeyConfigError } from './keys.ts';

/** Path of the key file for `algorithm` inside `dataDir`. */
export function signingKeyPath(dataDir: string, algorithm: Algorithm): string {
  return join(dataDir, `jwt-signing-key.${algorithm.toLowerCase()}`);
}

/** The key kept in `dataDir` for `algorithm` (a secret string or a PKCS#8 PEM), generated if absent. */
export function loadOrCreateSigningKey(dataDir: string, algorithm: Algorithm): string {
  const path = signingKeyPath(dataDir, algorithm);
  const existing = readKeyFile(path);
  if (existing !== null) return existing;
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${generateKey(algorithm)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  const key = readKeyFile(path);
  if (key === null) throw new KeyConfigError(`could not create the signing key file ${path}`);
  return key;
}

/** The key in `path`, or null when there is none; refuses a file other users can read. */
export function readKeyFile(path: string): string | null {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyConfigError(`the signing key file ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  const key = readFileSync(path, 'utf8').trim();
  if (key === '') throw new KeyConfigError(`the signing key file ${path} is empty; delete it to have a new key generated`);
  return key;
}

/** A new key for `algorithm`: a secret string (HMAC) or a PKCS#8 PEM. */
export function generateKey(algorithm: Algorithm): string {
  const spec = ALGORITHM_SPECS[algorithm];
  const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;
  switch (spec.family) {
    case 'hmac':
      // 64 random bytes as base64url text: 512 bits, enough for HS512 too.
      return randomBytes(64).toString('base64url');
    case 'rsa':
      return pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    case 'ec':
      return pkcs8(generateKeyPairSync('ec', { namedCurve: spec.curve! }).privateKey);
    case 'okp':
      return pkcs8(generateKeyPairSync('ed25519').privateKey);
  }
}
