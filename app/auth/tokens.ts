/**
 * simplejwt's token semantics on top of the JWT codec: which claims a new access or refresh token
 * gets and in which order, how an access token is derived from a refresh token, how a refresh
 * token is rotated, and which checks a received token goes through, with simplejwt's messages.
 *
 * A new token's claims are, in this order: token_type, exp, iat, jti, user_id (the claim names
 * follow the TOKEN_TYPE_CLAIM, JTI_CLAIM and USER_ID_CLAIM settings). `jti` is uuid4().hex.
 */
import { randomUUID } from 'node:crypto';
import { JwtError, type Claims, type JwtCodec } from './jwt.ts';
import type { AuthSettings } from './settings.ts';

/** The two token types simplejwt's pair views issue. */
export type TokenType = 'access' | 'refresh';

/** What simplejwt says for every token that fails signature, format or expiry checks. */
export const TOKEN_INVALID = 'Token is invalid or expired';

/** A token refused for a simplejwt reason; `message` is simplejwt's text, sent to the client as is. */
export class TokenError extends Error {
  /** `cause` is the JwtError (with its precise reason) when the JWT checks failed; for logs only. */
  constructor(message: string, cause?: JwtError) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenError';
  }
}

/** A token we just signed, with the claims inside it. */
export interface IssuedToken {
  readonly token: string;
  readonly claims: Claims;
  /** The `jti` claim. */
  readonly jti: string;
  /** Epoch seconds. */
  readonly exp: number;
  readonly iat: number;
}

/** Answers "was this token id blacklisted?" (the token_blacklist app's check). */
export type BlacklistCheck = (jti: string) => boolean | Promise<boolean>;

/** Issues and validates access/refresh tokens the way simplejwt's token classes do. */
export class TokenService {
  readonly settings: AuthSettings;
  readonly #jwt: JwtCodec;
  readonly #now: () => number;
  readonly #typeClaim: string;
  readonly #jtiClaim: string;
  readonly #userIdClaim: string;

  /** `now` is the clock in epoch milliseconds (the same one the codec uses). */
  constructor(settings: AuthSettings, jwt: JwtCodec, now: () => number = Date.now) {
    this.settings = settings;
    this.#jwt = jwt;
    this.#now = now;
    this.#typeClaim = settings.TOKEN_TYPE_CLAIM;
    this.#jtiClaim = settings.JTI_CLAIM;
    this.#userIdClaim = settings.USER_ID_CLAIM;
  }

  /** The claim names in use, for code that reads claims out of a validated token. */
  get claimNames(): { readonly type: string; readonly jti: string; readonly userId: string } {
    return { type: this.#typeClaim, jti: this.#jtiClaim, userId: this.#userIdClaim };
  }

  /** A refresh token for a user and the access token derived from it (simplejwt's for_user()). */
  pairFor(userId: number): { refresh: IssuedToken; access: IssuedToken } {
    const now = this.#now();
    const claims = this.#fresh('refresh', this.settings.REFRESH_TOKEN_LIFETIME, now);
    claims[this.#userIdClaim] = userId;
    const refresh = this.#issue(claims);
    return { refresh, access: this.accessFrom(refresh.claims, now) };
  }

  /**
   * The access token for a refresh token's claims: a new type, exp and jti; every other claim,
   * `iat` and the user id included, copied from the refresh token as simplejwt does.
   */
  accessFrom(refreshClaims: Claims, now = this.#now()): IssuedToken {
    const claims = this.#fresh('access', this.settings.ACCESS_TOKEN_LIFETIME, now);
    for (const [name, value] of Object.entries(refreshClaims)) {
      if (name === this.#typeClaim || name === 'exp' || name === this.#jtiClaim || name === 'jti') continue;
      claims[name] = value;
    }
    return this.#issue(claims);
  }

  /** The rotated refresh token: same claims, with a new jti, exp = now + lifetime and iat = now. */
  rotate(refreshClaims: Claims): IssuedToken {
    const now = this.#now();
    const claims: Claims = { ...refreshClaims };
    claims[this.#jtiClaim] = newJti();
    claims.exp = Math.floor(now / 1000 + this.settings.REFRESH_TOKEN_LIFETIME);
    claims.iat = Math.floor(now / 1000);
    return this.#issue(claims);
  }

  /**
   * Check a received token as simplejwt's Token(token) does and return its claims. `expected`
   * null skips the type check (UntypedToken, used by the verify view). Throws TokenError with simplejwt's message.
   */
  validate(token: string, expected: TokenType | null): Claims {
    const claims = this.#verified(token);
    this.#checkClaims(claims, expected);
    return claims;
  }

  /**
   * validate() with the blacklist check of simplejwt's BlacklistMixin, which runs first among
   * the claim checks; the store may answer it later (Postgres).
   */
  async validateNotBlacklisted(token: string, expected: TokenType | null, isBlacklisted: BlacklistCheck): Promise<Claims> {
    const claims = this.#verified(token);
    const jti = claims[this.#jtiClaim];
    if (jti !== undefined && (await isBlacklisted(String(jti)))) throw new TokenError('Token is blacklisted');
    this.#checkClaims(claims, expected);
    return claims;
  }

  #verified(token: string): Claims {
    try {
      return this.#jwt.verify(token);
    } catch (error) {
      if (error instanceof JwtError) throw new TokenError(TOKEN_INVALID, error);
      throw error;
    }
  }

  #checkClaims(claims: Claims, expected: TokenType | null): void {
    if (claims.exp === undefined) throw new TokenError("Token has no 'exp' claim");
    if (claims[this.#jtiClaim] === undefined) throw new TokenError('Token has no id');
    if (expected !== null) {
      const type = claims[this.#typeClaim];
      if (type === undefined) throw new TokenError('Token has no type');
      if (type !== expected) throw new TokenError('Token has wrong type');
    }
  }

  #fresh(type: TokenType, lifetime: number, now: number): Claims {
    return {
      [this.#typeClaim]: type,
      exp: Math.floor(now / 1000 + lifetime),
      iat: Math.floor(now / 1000),
      [this.#jtiClaim]: newJti(),
    };
  }

  #issue(claims: Claims): IssuedToken {
    return {
      token: this.#jwt.sign(claims),
      claims,
      jti: claims[this.#jtiClaim] as string,
      exp: claims.exp as number,
      iat: claims.iat as number,
    };
  }
}

/** A token id as simplejwt makes it: uuid4().hex, 32 lower-case hex digits. */
export function newJti(): string {
  return randomUUID().replaceAll('-', '');
}
