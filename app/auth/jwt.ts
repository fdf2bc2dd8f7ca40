/**
 * Compact JWS (RFC 7515) / JWT (RFC 7519) signing and verification on node:crypto.
 *
 * The algorithm comes from configuration, never from the token: a token whose header names any
 * other `alg` (including "none") is rejected before its signature is looked at (RFC 8725 §3.1).
 * The registered time claims are checked as PyJWT checks them for simplejwt: `exp` must be later
 * than now − leeway, `nbf` no later than now + leeway, both in whole seconds; `aud` and `iss` are
 * enforced only when configured.
 *
 * verify() sits on every authenticated request, so it is written for speed: the usual header is
 * recognised by comparing its base64url text with the one we sign (no decoding, no JSON), the
 * HMAC key is a KeyObject built once, and the signature is compared as base64url text, in
 * constant time, against the one we compute, which also rejects non-canonical encodings of it.
 */
import { isUtf8 } from 'node:buffer';
import { createHmac, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ALGORITHM_SPECS, type Algorithm } from './algorithms.ts';
import type { KeyPair } from './keys.ts';

/** A JWT payload: the claims as a plain JSON object. */
export type Claims = Record<string, unknown>;

/** Why a token was refused; the client only ever hears "invalid or expired", logs may want more. */
export type JwtFailure =
  | 'malformed'
  | 'too-long'
  | 'header'
  | 'algorithm'
  | 'signature'
  | 'payload'
  | 'expired'
  | 'not-yet-valid'
  | 'audience'
  | 'issuer'
  /** The header's `kid` names no key this codec knows (a JWKS source may learn it by refreshing). */
  | 'unknown-key';

/** A token that failed verification. */
export class JwtError extends Error {
  readonly reason: JwtFailure;

  constructor(reason: JwtFailure) {
    super(`token rejected: ${reason}`);
    this.name = 'JwtError';
    this.reason = reason;
  }
}

/** How a JwtCodec signs and what it checks. */
export interface JwtOptions {
  algorithm: Algorithm;
  /** The current key pair; null for a verify-only codec (keys from `keySource` only; sign() throws). */
  keys: KeyPair | null;
  /** The `kid` header of tokens signed with `keys` (asymmetric algorithms); null: no kid. */
  kid?: string | null;
  /** Other keys that still verify, by kid (keys retired by a rotation). */
  retired?: ReadonlyMap<string, KeyObject>;
  /** Keys found by kid at verification time (a JWKS fetched from JWK_URL). */
  keySource?: (kid: string) => KeyObject | undefined;
  /** Seconds of clock skew tolerated on `exp` and `nbf` (simplejwt's LEEWAY). Default 0. */
  leeway?: number;
  /** Expected `aud`: when set, tokens must carry one of these, and signed tokens get it. */
  audience?: string | readonly string[] | null;
  /** Expected `iss`: when set, tokens must carry it, and signed tokens get it. */
  issuer?: string | null;
  /** The clock, in milliseconds since the epoch (inject a fake one in tests). */
  now?: () => number;
  /** Longest token accepted, in characters; longer ones are refused unread. Default 8192. */
  maxLength?: number;
}

/** Default cap on token length: far above any token we issue (~240 chars), far below header limits. */
export const MAX_TOKEN_LENGTH = 8192;

/** Header segments of validly signed tokens other than our own (jose omits "typ"): skip re-parsing them. */
const ACCEPTED_HEADER_CACHE_SIZE = 16;

/** Signs claims into compact JWTs and verifies them, for one fixed algorithm and key pair. */
export class JwtCodec {
  readonly algorithm: Algorithm;
  readonly #signingKey: KeyObject | null;
  readonly #verifyingKey: KeyObject | null;
  readonly #kid: string | null;
  readonly #retired: ReadonlyMap<string, KeyObject>;
  readonly #keySource: ((kid: string) => KeyObject | undefined) | null;
  readonly #digest: 'sha256' | 'sha384' | 'sha512' | null;
  readonly #hmac: boolean;
  readonly #signatureLength: number;
  readonly #headerSegment: string;
  /** Header segments already checked, with the key they select (static keys only). */
  readonly #acceptedHeaders = new Map<string, KeyObject>();
  readonly #leeway: number;
  readonly #audiences: readonly string[] | null;
  readonly #audienceClaim: string | readonly string[] | null;
  readonly #issuer: string | null;
  readonly #now: () => number;
  readonly #maxLength: number;

  constructor(options: JwtOptions) {
    const spec = ALGORITHM_SPECS[options.algorithm];
    this.algorithm = options.algorithm;
    this.#signingKey = options.keys?.signing ?? null;
    this.#verifyingKey = options.keys?.verifying ?? null;
    this.#kid = options.kid ?? null;
    this.#retired = options.retired ?? new Map();
    this.#keySource = options.keySource ?? null;
    this.#digest = spec.digest;
    this.#hmac = spec.family === 'hmac';
    this.#headerSegment = base64url(JSON.stringify(this.#kid === null ? { alg: options.algorithm, typ: 'JWT' } : { alg: options.algorithm, typ: 'JWT', kid: this.#kid }));
    this.#leeway = options.leeway ?? 0;
    const audience = options.audience ?? null;
    this.#audienceClaim = audience;
    this.#audiences = audience === null ? null : typeof audience === 'string' ? [audience] : [...audience];
    this.#issuer = options.issuer ?? null;
    this.#now = options.now ?? Date.now;
    this.#maxLength = options.maxLength ?? MAX_TOKEN_LENGTH;
    this.#signatureLength = this.#hmac && this.#signingKey !== null ? base64url(this.#signatureOf('')).length : 0;
  }

  /** The kid of the signing key, or null. */
  get kid(): string | null {
    return this.#kid;
  }

  /** Sign `claims` (keys kept in their order) into a compact JWT; adds `aud`/`iss` when configured. */
  sign(claims: Claims): string {
    if (this.#signingKey === null) throw new Error('this codec only verifies (JWK_URL): it has no signing key');
    let payload = claims;
    if (this.#audienceClaim !== null || this.#issuer !== null) {
      payload = { ...claims };
      if (this.#audienceClaim !== null) payload.aud = this.#audienceClaim;
      if (this.#issuer !== null) payload.iss = this.#issuer;
    }
    const input = `${this.#headerSegment}.${base64url(JSON.stringify(payload))}`;
    return `${input}.${base64url(this.#signatureOf(input))}`;
  }

  /** Verify `token` and return its claims; throws JwtError saying why it was refused. */
  verify(token: string): Claims {
    if (token.length > this.#maxLength) throw new JwtError('too-long');
    const dot1 = token.indexOf('.');
    const dot2 = dot1 < 1 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 < 0 || dot2 === dot1 + 1 || token.indexOf('.', dot2 + 1) >= 0) throw new JwtError('malformed');
    const header = token.slice(0, dot1);
    let key = header === this.#headerSegment ? this.#verifyingKey : this.#acceptedHeaders.get(header);
    let cacheable = false;
    if (key === undefined || key === null) {
      const chosen = this.#keyForHeader(header);
      key = chosen.key;
      cacheable = chosen.stable;
    }
    if (!this.#signatureMatches(token.slice(0, dot2), token.slice(dot2 + 1), key)) throw new JwtError('signature');
    if (cacheable && this.#acceptedHeaders.size < ACCEPTED_HEADER_CACHE_SIZE) this.#acceptedHeaders.set(header, key);
    const claims = decodeObject(token.slice(dot1 + 1, dot2), 'payload');
    this.#checkClaims(claims);
    return claims;
  }

  #signatureOf(input: string): Buffer {
    if (this.#hmac) return createHmac(this.#digest!, this.#signingKey!).update(input).digest();
    return cryptoSign(this.#digest, Buffer.from(input), { key: this.#signingKey!, dsaEncoding: 'ieee-p1363' });
  }

  #signatureMatches(input: string, signature: string, key: KeyObject): boolean {
    if (this.#hmac) {
      if (signature.length !== this.#signatureLength) return false;
      const expected = createHmac(this.#digest!, key).update(input).digest('base64url');
      return constantTimeEqual(expected, signature);
    }
    const bytes = Buffer.from(signature, 'base64url');
    // Buffer's decoder skips junk characters and ignores unused trailing bits; insist on the
    // one canonical spelling so a signature cannot be altered and still accepted.
    if (bytes.toString('base64url') !== signature) return false;
    return cryptoVerify(this.#digest, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, bytes);
  }

  /**
   * Check a header we have not seen and choose its key: with no kid (or HMAC, whose one secret
   * has no id) the current key; else the current, a retired or a fetched key with that kid.
   * `stable`: the choice can be remembered for this header (not for fetched keys, which a later
   * JWKS may withdraw).
   */
  #keyForHeader(segment: string): { key: KeyObject; stable: boolean } {
    const header = decodeObject(segment, 'header');
    if (header.alg !== this.algorithm) throw new JwtError('algorithm');
    // We implement no JWS extensions, so any "crit" list names one we do not understand
    // (RFC 7515 §4.1.11); "b64": false (RFC 7797) would change what the signature covers.
    if (header.crit !== undefined || (header.b64 !== undefined && header.b64 !== true)) throw new JwtError('header');
    const kid = header.kid;
    if (kid !== undefined && typeof kid !== 'string') throw new JwtError('header');
    if (kid === undefined || this.#hmac || kid === this.#kid) {
      if (this.#verifyingKey === null) throw new JwtError('unknown-key');
      return { key: this.#verifyingKey, stable: true };
    }
    const retired = this.#retired.get(kid);
    if (retired !== undefined) return { key: retired, stable: true };
    const fetched = this.#keySource?.(kid);
    if (fetched !== undefined) return { key: fetched, stable: false };
    throw new JwtError('unknown-key');
  }

  #checkClaims(claims: Claims): void {
    const now = Math.floor(this.#now() / 1000);
    const { exp, nbf, iat } = claims;
    if (exp !== undefined) {
      if (!isNumericDate(exp)) throw new JwtError('payload');
      if (exp <= now - this.#leeway) throw new JwtError('expired');
    }
    if (nbf !== undefined) {
      if (!isNumericDate(nbf)) throw new JwtError('payload');
      if (nbf > now + this.#leeway) throw new JwtError('not-yet-valid');
    }
    if (iat !== undefined && !isNumericDate(iat)) throw new JwtError('payload');
    if (this.#audiences !== null && !audienceMatches(claims.aud, this.#audiences)) throw new JwtError('audience');
    if (this.#issuer !== null && claims.iss !== this.#issuer) throw new JwtError('issuer');
  }
}

/** base64url without padding (RFC 7515 §2) of a string's UTF-8 bytes or of raw bytes. */
export function base64url(data: string | Uint8Array): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString(
    'base64url',
  );
}

/**
 * Compare two strings in time that depends only on their length, never on where they differ,
 * so a forger cannot learn a valid signature one character at a time.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function decodeObject(segment: string, part: 'header' | 'payload'): Claims {
  const bytes = Buffer.from(segment, 'base64url');
  // RFC 8725 §3.7: JSON in a JWT must be UTF-8; refuse rather than guess with U+FFFD.
  if (!isUtf8(bytes)) throw new JwtError(part);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new JwtError(part);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new JwtError(part);
  return value as Claims;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function audienceMatches(aud: unknown, expected: readonly string[]): boolean {
  if (typeof aud === 'string') return expected.includes(aud);
  if (!Array.isArray(aud)) return false;
  for (const item of aud) if (typeof item === 'string' && expected.includes(item)) return true;
  return false;
}
