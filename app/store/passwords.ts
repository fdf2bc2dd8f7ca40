/**
 * Password hashing. New hashes are scrypt in Django's own self-describing format,
 *
 *     scrypt$<N>$<salt>$<r>$<p>$<base64 of the 64-byte key>
 *
 * so every stored hash carries its parameters: raising DEFAULT_SCRYPT later only makes old hashes
 * "need a rehash", which the login view does on the next successful login. Django's
 * `pbkdf2_sha256$<iterations>$<salt>$<hash>` hashes verify too (a user table imported from the
 * Django stack keeps working) and are upgraded to scrypt the same way. A hash starting with "!"
 * is Django's "unusable password": nothing matches it.
 *
 * Hashing runs on libuv's thread pool (async scrypt/pbkdf2), never on the event loop: a login
 * costs one hash (~30 ms for N=2^14 on this machine, see docs/auth.md) while other requests go on.
 */
import { pbkdf2, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's cost parameters: CPU/memory cost N (a power of two), block size r, parallelism p. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Django's ScryptPasswordHasher parameters: 16 MiB and about 30 ms per hash here. */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ N: 2 ** 14, r: 8, p: 1 });

/** Derived key length in bytes (Django's). */
export const SCRYPT_KEY_LENGTH = 64;

/** Prefix of Django's unusable passwords (set_unusable_password()). */
export const UNUSABLE_PASSWORD_PREFIX = '!';

// Bounds for parameters read back from the database: a tampered or corrupt row must not be able
// to make one login allocate gigabytes or spin for minutes.
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const SALT_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SALT_LENGTH = 22; // Django's: 22 alphanumerics ≈ 131 bits

type Parsed =
  | { algorithm: 'scrypt'; params: ScryptParams; salt: string; hash: Buffer }
  | { algorithm: 'pbkdf2_sha256'; iterations: number; salt: string; hash: Buffer };

/** Hash `password` with scrypt into the self-describing format above. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkScryptParams(params);
  const salt = randomSalt();
  const key = await scryptAsync(password, salt, params);
  return `scrypt$${params.N}$${salt}$${params.r}$${params.p}$${key.toString('base64')}`;
}

/** Whether `password` matches `encoded`; false (never an exception) for malformed or unusable hashes. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (parsed === null) return false;
  const derived =
    parsed.algorithm === 'scrypt'
      ? await scryptAsync(password, parsed.salt, parsed.params, parsed.hash.byteLength)
      : await pbkdf2Async(password, parsed.salt, parsed.iterations, parsed.hash.byteLength);
  return derived.byteLength === parsed.hash.byteLength && timingSafeEqual(derived, parsed.hash);
}

/** Whether `encoded` is a hash some password can match (a known format, not Django's "!" unusable mark). */
export function isUsableHash(encoded: string): boolean {
  return parseHash(encoded) !== null;
}

/** Whether `encoded` should be replaced by a hash with `params` (other algorithm or weaker parameters). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parseHash(encoded);
  if (parsed === null) return !encoded.startsWith(UNUSABLE_PASSWORD_PREFIX);
  if (parsed.algorithm !== 'scrypt') return true;
  const old = parsed.params;
  return old.N !== params.N || old.r !== params.r || old.p !== params.p || parsed.hash.byteLength !== SCRYPT_KEY_LENGTH;
}

/** The algorithm and parameters of a stored hash, for display (never the salt or the key). */
export function describeHash(encoded: string): string {
  const parsed = parseHash(encoded);
  if (parsed === null) return encoded.startsWith(UNUSABLE_PASSWORD_PREFIX) ? 'unusable' : 'unknown format';
  if (parsed.algorithm === 'scrypt') return `scrypt N=${parsed.params.N} r=${parsed.params.r} p=${parsed.params.p}`;
  return `pbkdf2_sha256 iterations=${parsed.iterations}`;
}

/** Check scrypt parameters: N a power of two > 1, r and p positive, memory within bounds. */
export function checkScryptParams(params: ScryptParams): void {
  const { N, r, p } = params;
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0) throw new RangeError(`scrypt N must be a power of two, got ${N}`);
  if (!Number.isInteger(r) || r < 1 || !Number.isInteger(p) || p < 1 || p > 16) throw new RangeError(`scrypt r and p must be positive integers (p ≤ 16), got r=${r} p=${p}`);
  if (128 * N * r > MAX_SCRYPT_MEMORY) throw new RangeError(`scrypt N=${N} r=${r} needs more than ${MAX_SCRYPT_MEMORY >> 20} MiB`);
}

function parseHash(encoded: string): Parsed | null {
  const parts = encoded.split('$');
  if (parts[0] === 'scrypt' && parts.length === 6) {
    const [, n, salt, r, p, hash] = parts as [string, string, string, string, string, string];
    const params = { N: Number(n), r: Number(r), p: Number(p) };
    try {
      checkScryptParams(params);
    } catch {
      return null;
    }
    const key = Buffer.from(hash, 'base64');
    return key.byteLength === 0 || salt === '' ? null : { algorithm: 'scrypt', params, salt, hash: key };
  }
  if (parts[0] === 'pbkdf2_sha256' && parts.length === 4) {
    const [, iterations, salt, hash] = parts as [string, string, string, string];
    const count = Number(iterations);
    if (!Number.isInteger(count) || count < 1 || count > MAX_PBKDF2_ITERATIONS || salt === '') return null;
    const key = Buffer.from(hash, 'base64');
    return key.byteLength === 0 ? null : { algorithm: 'pbkdf2_sha256', iterations: count, salt, hash: key };
  }
  return null;
}

function randomSalt(): string {
  let salt = '';
  for (let i = 0; i < SALT_LENGTH; i++) salt += SALT_ALPHABET[randomInt(SALT_ALPHABET.length)];
  return salt;
}

function scryptAsync(password: string, salt: string, params: ScryptParams, length = SCRYPT_KEY_LENGTH): Promise<Buffer> {
  // Node refuses 128·N·r above `maxmem` (32 MiB by default, which N=2^15 r=8 already reaches).
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 2 * 128 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function pbkdf2Async(password: string, salt: string, iterations: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, length, 'sha256', (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}
