/**
 * The JWS algorithms we sign and verify with (RFC 7518 §3, RFC 8037 for EdDSA), as data: which
 * key family each needs, which digest, and how its signature is laid out. Keeping this a table
 * lets keys.ts check "is this key right for this algorithm?" once, at start-up, which is what
 * shuts the door on HS/RS key confusion (RFC 8725 §2.1).
 */

/** Every algorithm this server accepts in its ALGORITHM setting. */
export const ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** A supported JWS algorithm name, exactly as it appears in a token's `alg` header. */
export type Algorithm = (typeof ALGORITHMS)[number];

/** What an algorithm needs from its key and how its signature is computed. */
export interface AlgorithmSpec {
  /** 'hmac' uses one shared secret; the others a private key to sign and a public key to verify. */
  readonly family: 'hmac' | 'rsa' | 'ec' | 'okp';
  /** node:crypto digest name; null for EdDSA, which hashes internally. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** Smallest acceptable key: secret bytes (hmac, RFC 7518 §3.2) or modulus bits (rsa, §3.3). */
  readonly minKeySize?: number;
  /** The EC curve, as node:crypto names it in asymmetricKeyDetails. */
  readonly curve?: string;
}

/** The specification of every supported algorithm. */
export const ALGORITHM_SPECS: Readonly<Record<Algorithm, AlgorithmSpec>> = {
  HS256: { family: 'hmac', digest: 'sha256', minKeySize: 32 },
  HS384: { family: 'hmac', digest: 'sha384', minKeySize: 48 },
  HS512: { family: 'hmac', digest: 'sha512', minKeySize: 64 },
  RS256: { family: 'rsa', digest: 'sha256', minKeySize: 2048 },
  RS384: { family: 'rsa', digest: 'sha384', minKeySize: 2048 },
  RS512: { family: 'rsa', digest: 'sha512', minKeySize: 2048 },
  ES256: { family: 'ec', digest: 'sha256', curve: 'prime256v1' },
  ES384: { family: 'ec', digest: 'sha384', curve: 'secp384r1' },
  ES512: { family: 'ec', digest: 'sha512', curve: 'secp521r1' },
  EdDSA: { family: 'okp', digest: null },
};

/** Whether `name` is a supported algorithm (case-sensitive, as RFC 7515 requires). */
export function isAlgorithm(name: unknown): name is Algorithm {
  return typeof name === 'string' && (ALGORITHMS as readonly string[]).includes(name);
}
