/**
 * simplejwt's JWTAuthentication (and, with no user lookup, JWTStatelessUserAuthentication):
 * read the Authorization header, validate the access token, load the user, and put both on
 * request.state, or answer the 401 DRF would.
 *
 * The header is split on whitespace as DRF splits it: no header, an empty one, or one whose
 * first word is not an accepted type ("Basic …", "bearer …": types are case-sensitive) means
 * "no credentials" and the request goes on anonymous; "Bearer" followed by anything but exactly
 * one more word is a 401 bad_authorization_header. Authentication is eager, as in DRF: an
 * invalid token is a 401 even on a route that would let anonymous requests in.
 *
 * This runs on every authenticated request, so the usual "Bearer <token>" is recognised without
 * splitting, a token seen before is found in a cache of validated tokens instead of being
 * verified again, and validation throws only for bad tokens.
 */
import type { Request, Response } from '../interface.ts';
import type { Awaitable } from '../store/store.ts';
import { JwtError, type Claims } from './jwt.ts';
import { badAuthorizationHeader, challengeFor, invalidToken, tokenNotValidForAnyType, unauthorized } from './responses.ts';
import { headerFieldName } from './settings.ts';
import { storeFailureHandler, type StoreFailureHandler } from './store-failure.ts';
import { TokenError, type TokenService } from './tokens.ts';
import type { VerifiedTokenCache } from './verified-token-cache.ts';

/** The user an authenticated request carries in request.state.user. */
export interface AuthUser {
  readonly id: number;
  readonly username: string;
  readonly isActive: boolean;
}

/**
 * Finds users by id (the user store, or anything with the same method). SQLite and a cache hit
 * answer at once; Postgres answers with a promise.
 */
export interface UserLookup {
  byId(id: number): Awaitable<AuthUser | undefined>;
}

declare module '../interface.ts' {
  interface RequestState {
    /** The authenticated user (DRF's request.user); absent for anonymous requests. */
    user?: AuthUser;
    /** The validated access token's claims (DRF's request.auth). */
    auth?: Claims;
  }
}

/** DRF's header.split(): runs of ASCII whitespace. */
const WHITESPACE = /[ \t\n\r\v\f]+/;

/** Authenticates requests by their access token. */
export class JwtAuthentication {
  /** The WWW-Authenticate value of every 401 (`Bearer realm="api"`). */
  readonly challenge: string;
  readonly #tokens: TokenService;
  readonly #users: UserLookup | null;
  readonly #headerName: string;
  readonly #types: readonly string[];
  readonly #userIdClaim: string;
  readonly #cache: VerifiedTokenCache | null;
  readonly #onStoreFailure: StoreFailureHandler;
  readonly #learnKey: ((kid: string) => Promise<boolean>) | null;

  /**
   * `users` null is the stateless mode: the user is built from the token, never looked up.
   * `tokenCache` remembers validated access tokens (see verified-token-cache.ts); null for none.
   * `onStoreFailure` answers a user lookup that failed because the store is down (503).
   */
  constructor(
    tokens: TokenService,
    users: UserLookup | null,
    tokenCache: VerifiedTokenCache | null = null,
    onStoreFailure: StoreFailureHandler = storeFailureHandler(),
    learnKey: ((kid: string) => Promise<boolean>) | null = null,
  ) {
    const settings = tokens.settings;
    this.#onStoreFailure = onStoreFailure;
    this.#learnKey = learnKey;
    this.#tokens = tokens;
    this.#users = users;
    this.#cache = tokenCache;
    this.#headerName = headerFieldName(settings.AUTH_HEADER_NAME);
    this.#types = settings.AUTH_HEADER_TYPES;
    this.#userIdClaim = settings.USER_ID_CLAIM;
    this.challenge = challengeFor(settings.AUTH_HEADER_TYPES[0]!);
  }

  /** Whether this instance skips the user lookup (JWTStatelessUserAuthentication). */
  get stateless(): boolean {
    return this.#users === null;
  }

  /**
   * Authenticate `request`: null to go on (request.state.user is set, or the request carried no
   * credentials), or the 401 response to send instead. A promise only when the user had to be
   * looked up in a store that answers later (Postgres, cache miss).
   */
  authenticate(request: Request): Response | null | Promise<Response | null> {
    const header = request.headers.get(this.#headerName);
    if (header === undefined) return null;
    const token = this.#rawToken(header);
    if (token === null) return null;
    if (typeof token !== 'string') return token;
    let claims = this.#cache?.get(token);
    if (claims === undefined) {
      try {
        claims = this.#tokens.validate(token, 'access');
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        // A kid we have not seen: the signer may have rotated its key; ask the JWKS once.
        if (this.#learnKey !== null && error.cause instanceof JwtError && error.cause.reason === 'unknown-key') return this.#afterLearning(request, token, error.message);
        return tokenNotValidForAnyType(this.challenge, error.message);
      }
      this.#cache?.set(token, claims);
    }
    const userId = claims[this.#userIdClaim];
    if (userId === undefined) return invalidToken(this.challenge, 'Token contained no recognizable user identification');
    if (this.#users === null) {
      if (!Number.isSafeInteger(userId)) return invalidToken(this.challenge, 'Token contained no recognizable user identification');
      const user = { id: userId as number, username: typeof claims.username === 'string' ? claims.username : '', isActive: true };
      return this.#accept(request, user, claims);
    }
    if (!Number.isSafeInteger(userId)) return unauthorized(this.challenge, USER_NOT_FOUND);
    let found: Awaitable<AuthUser | undefined>;
    try {
      found = this.#users.byId(userId as number);
    } catch (error) {
      return this.#onStoreFailure(error);
    }
    if (found instanceof Promise) {
      const accepted = claims;
      return found.then(
        (user) => this.#accept(request, user, accepted),
        (error: unknown) => this.#onStoreFailure(error),
      );
    }
    return this.#accept(request, found, claims);
  }

  async #afterLearning(request: Request, token: string, message: string): Promise<Response | null> {
    let kid: unknown;
    try {
      kid = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')).kid;
    } catch {
      kid = undefined;
    }
    if (typeof kid !== 'string' || !(await this.#learnKey!(kid))) return tokenNotValidForAnyType(this.challenge, message);
    const again = this.authenticate(request);
    return again;
  }

  #accept(request: Request, user: AuthUser | undefined, claims: Claims): Response | null {
    if (user === undefined) return unauthorized(this.challenge, USER_NOT_FOUND);
    if (!user.isActive) return unauthorized(this.challenge, USER_INACTIVE);
    const state = request.state;
    state.user = user;
    state.auth = claims;
    return null;
  }

  /** The token from the header; null when the header carries no credentials of ours; a 401 when malformed. */
  #rawToken(header: string): string | Response | null {
    for (const type of this.#types) {
      // Fast path: "<type> <token>" with a single space and nothing else.
      if (header.length > type.length + 1 && header.charCodeAt(type.length) === 32 && header.startsWith(type)) {
        const token = header.slice(type.length + 1);
        if (!WHITESPACE.test(token)) return token;
        break;
      }
    }
    const parts = header.split(WHITESPACE).filter((part) => part !== '');
    if (parts.length === 0 || !this.#types.includes(parts[0]!)) return null;
    if (parts.length !== 2) return badAuthorizationHeader(this.challenge);
    return parts[1]!;
  }
}

const USER_NOT_FOUND = { detail: 'User not found', code: 'user_not_found' };
const USER_INACTIVE = { detail: 'User is inactive', code: 'user_inactive' };
