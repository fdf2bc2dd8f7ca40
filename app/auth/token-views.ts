/**
 * simplejwt's four token views, answering as a Django + simplejwt stack does (status codes,
 * JSON field names and error codes; docs/auth.md lists the differences):
 *
 *   POST /api/token/            username + password → {"refresh", "access"}      (TokenObtainPairView)
 *   POST /api/token/refresh/    refresh → {"access"} (+ "refresh" when rotating)  (TokenRefreshView)
 *   POST /api/token/verify/     token → {} if valid                               (TokenVerifyView)
 *   POST /api/token/blacklist/  refresh → {} and the refresh token is revoked      (TokenBlacklistView)
 *
 * Like simplejwt's, these views run no authentication (a stale Authorization header does not
 * block a login) and every 401 carries `WWW-Authenticate: Bearer realm="api"`.
 *
 * Deliberate differences from simplejwt 5.2.2, each a fix later simplejwt versions also made or
 * a hardening no client can notice: logins are throttled (429); a refresh for a user who was
 * deactivated or deleted is refused; rotation is a compare-and-set, so two concurrent refreshes
 * of one token cannot both succeed; verify checks the blacklist whatever
 * BLACKLIST_AFTER_ROTATION says; the password field is limited to 4096 characters.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { App, Request, Response } from '../interface.ts';
import { json } from '../response.ts';
import type { Router } from '../router.ts';
import { PASSWORD_MAX_LENGTH } from '../store/password-rules.ts';
import { DEFAULT_SCRYPT, hashPassword, isUsableHash, needsRehash, verifyPassword, type ScryptParams } from '../store/passwords.ts';
import type { Awaitable, Store, TokenRecord } from '../store/store.ts';
import { apiView, mountView, type FieldInfo } from './api-view.ts';
import { validateCharFields, type CharField } from './fields.ts';
import type { Claims } from './jwt.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { readRequestData } from './request-data.ts';
import { invalidToken, throttled, unauthorized, validationError } from './responses.ts';
import { storeFailureHandler, type StoreFailureHandler } from './store-failure.ts';
import { TokenError, type TokenService } from './tokens.ts';

/** What the token views need. */
export interface TokenViewsDeps {
  readonly tokens: TokenService;
  readonly store: Pick<Store, 'users' | 'tokens'>;
  /** The WWW-Authenticate value of every 401. */
  readonly challenge: string;
  /** null disables login throttling. */
  readonly throttle: LoginThrottle | null;
  /** The client's address, for per-address throttling. */
  readonly clientAddress: (request: Request) => string;
  /** Waits before a throttled attempt goes on (inject a recorder in tests). Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Hash parameters for new hashes; older hashes are upgraded on a successful login. */
  readonly passwordParams?: ScryptParams;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
  /** Answers a store that cannot be reached or written (503, logged). Default: log to stderr. */
  readonly onStoreFailure?: StoreFailureHandler;
}

/** A view body whose store failures become the 503 of `deps.onStoreFailure`. */
function guarded(deps: TokenViewsDeps, post: App): App {
  const onFailure = deps.onStoreFailure ?? storeFailureHandler();
  return async (request) => {
    try {
      return await post(request);
    } catch (error) {
      return onFailure(error);
    }
  };
}

const OBTAIN_FIELDS: readonly CharField[] = [{ name: 'username' }, { name: 'password', maxLength: PASSWORD_MAX_LENGTH }];
const REFRESH_FIELDS: readonly CharField[] = [{ name: 'refresh' }];
const TOKEN_FIELDS: readonly CharField[] = [{ name: 'token' }];
const NO_ACTIVE_ACCOUNT = { detail: 'No active account found with the given credentials' };
const NO_ACTIVE_ACCOUNT_FOR_TOKEN = { detail: 'No active account found for the given token.', code: 'no_active_account' };

const writable = (label: string): FieldInfo => ({ type: 'string', required: true, read_only: false, label });
const readOnly = (label: string): FieldInfo => ({ type: 'string', required: false, read_only: true, label });

/** POST /api/token/: exchange a username and password for a refresh/access pair. */
export function tokenObtainPairView(deps: TokenViewsDeps): App {
  const { tokens, store, challenge, throttle } = deps;
  const sleep = deps.sleep ?? ((ms: number) => sleepFor(ms));
  const params = deps.passwordParams ?? DEFAULT_SCRYPT;
  const now = deps.now ?? Date.now;
  // Checked when the username is unknown, so that a miss costs one hash, like a wrong password.
  // Made now (on the thread pool), so that the first miss does not pay for two.
  const dummyHash = hashPassword(`unusable-${Math.random()}`, params);
  dummyHash.catch(() => {}); // a failure surfaces where it is awaited, not as an unhandled rejection

  const post: App = async (request) => {
    const parsed = await readRequestData(request);
    if (!parsed.ok) return parsed.response;
    const fields = validateCharFields(parsed.data, parsed.typeName, OBTAIN_FIELDS);
    if (!fields.ok) return validationError(fields.errors);
    const { username, password } = fields.values as { username: string; password: string };

    const admission = throttle === null ? null : await throttle.admit(username, deps.clientAddress(request));
    if (admission !== null) {
      if (!admission.admitted) return throttled(admission.retryAfter);
      if (admission.delayMs > 0) await sleep(admission.delayMs);
    }
    const user = await store.users.byUsername(username);
    const hash = user !== undefined && isUsableHash(user.password) ? user.password : await dummyHash;
    const matches = await verifyPassword(password, hash);
    if (user === undefined || !matches || !user.isActive) return unauthorized(challenge, NO_ACTIVE_ACCOUNT);
    if (admission?.admitted) await throttle!.succeeded(admission.keys);

    const { refresh, access } = tokens.pairFor(user.id);
    await store.tokens.recordOutstanding({ jti: refresh.jti, userId: user.id, token: refresh.token, createdAt: refresh.iat, expiresAt: refresh.exp });
    if (tokens.settings.UPDATE_LAST_LOGIN) await store.users.recordLogin(user.id, Math.floor(now() / 1000));
    if (needsRehash(user.password, params)) await store.users.setPassword(user.id, await hashPassword(password, params));
    return json(200, { refresh: refresh.token, access: access.token });
  };

  return apiView({
    handlers: { POST: guarded(deps, post) },
    metadata: {
      name: 'Token Obtain Pair',
      description:
        'Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.',
      actions: { POST: { username: writable('Username'), password: writable('Password') } },
    },
  });
}

/**
 * The step the refresh and blacklist views share (simplejwt's refresh and blacklist serializers):
 * read the body's `refresh` field and validate it as an unexpired, unblacklisted refresh token.
 * Returns the token and its claims, or the response that refuses the request.
 */
async function liveRefreshToken(request: Request, deps: TokenViewsDeps): Promise<{ raw: string; claims: Claims } | Response> {
  return refreshTokenClaims(request, deps, (jti) => deps.store.tokens.isBlacklisted(jti));
}

/** The `refresh` field validated as a refresh token; the blacklist is checked only when `isBlacklisted` is given. */
async function refreshTokenClaims(request: Request, deps: TokenViewsDeps, isBlacklisted?: (jti: string) => Awaitable<boolean>): Promise<{ raw: string; claims: Claims } | Response> {
  const parsed = await readRequestData(request);
  if (!parsed.ok) return parsed.response;
  const fields = validateCharFields(parsed.data, parsed.typeName, REFRESH_FIELDS);
  if (!fields.ok) return validationError(fields.errors);
  const raw = fields.values.refresh!;
  try {
    const claims = isBlacklisted === undefined ? deps.tokens.validate(raw, 'refresh') : await deps.tokens.validateNotBlacklisted(raw, 'refresh', isBlacklisted);
    return { raw, claims };
  } catch (error) {
    if (error instanceof TokenError) return invalidToken(deps.challenge, error.message);
    throw error;
  }
}

/** POST /api/token/refresh/: a new access token for a refresh token (and a rotated refresh token). */
export function tokenRefreshView(deps: TokenViewsDeps): App {
  const { tokens, store, challenge } = deps;
  const now = deps.now ?? Date.now;
  const settings = tokens.settings;

  // Rotation with blacklisting: the blacklist check, the user check, the compare-and-set and the
  // new token's record are one store step (one round trip on Postgres) instead of four.
  const rotating = settings.ROTATE_REFRESH_TOKENS && settings.BLACKLIST_AFTER_ROTATION;

  const post: App = async (request) => {
    const checked = rotating ? await refreshTokenClaims(request, deps) : await liveRefreshToken(request, deps);
    if (!('claims' in checked)) return checked;
    const { raw, claims } = checked;
    const userId = userIdOf(claims, tokens);
    if (rotating) {
      const access = tokens.accessFrom(claims);
      const rotated = tokens.rotate(claims);
      const outcome = await store.tokens.rotate(
        recordOf(raw, claims, userId, tokens),
        { jti: rotated.jti, userId, token: rotated.token, createdAt: rotated.iat, expiresAt: rotated.exp },
        Math.floor(now() / 1000),
      );
      if (outcome === 'blacklisted') return invalidToken(challenge, 'Token is blacklisted');
      if (outcome === 'no-active-user') return unauthorized(challenge, NO_ACTIVE_ACCOUNT_FOR_TOKEN);
      return json(200, { access: access.token, refresh: rotated.token });
    }
    const user = userId === null ? undefined : await store.users.byId(userId);
    if (user === undefined || !user.isActive) return unauthorized(challenge, NO_ACTIVE_ACCOUNT_FOR_TOKEN);

    if (!settings.ROTATE_REFRESH_TOKENS) return json(200, { access: tokens.accessFrom(claims).token });
    const access = tokens.accessFrom(claims);
    const rotated = tokens.rotate(claims);
    await store.tokens.recordOutstanding({ jti: rotated.jti, userId, token: rotated.token, createdAt: rotated.iat, expiresAt: rotated.exp });
    return json(200, { access: access.token, refresh: rotated.token });
  };

  return apiView({
    handlers: { POST: guarded(deps, post) },
    metadata: {
      name: 'Token Refresh',
      description: 'Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.',
      actions: { POST: { refresh: writable('Refresh'), access: readOnly('Access') } },
    },
  });
}

/** POST /api/token/verify/: 200 {} for any valid token (of either type) that is not blacklisted. */
export function tokenVerifyView(deps: TokenViewsDeps): App {
  const { tokens, store, challenge } = deps;
  const jtiClaim = tokens.settings.JTI_CLAIM;

  const post: App = async (request) => {
    const parsed = await readRequestData(request);
    if (!parsed.ok) return parsed.response;
    const fields = validateCharFields(parsed.data, parsed.typeName, TOKEN_FIELDS);
    if (!fields.ok) return validationError(fields.errors);
    let claims: Claims;
    try {
      claims = tokens.validate(fields.values.token!, null);
    } catch (error) {
      if (error instanceof TokenError) return invalidToken(challenge, error.message);
      throw error;
    }
    // simplejwt raises a ValidationError here, hence a 400, where every other refusal is a 401.
    if (await store.tokens.isBlacklisted(String(claims[jtiClaim]))) return validationError({ non_field_errors: ['Token is blacklisted'] });
    return json(200, {});
  };

  return apiView({
    handlers: { POST: guarded(deps, post) },
    metadata: {
      name: 'Token Verify',
      description: "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
      actions: { POST: { token: writable('Token') } },
    },
  });
}

/** POST /api/token/blacklist/: revoke a refresh token (logout). */
export function tokenBlacklistView(deps: TokenViewsDeps): App {
  const { tokens, store, challenge } = deps;
  const now = deps.now ?? Date.now;

  const post: App = async (request) => {
    const checked = await liveRefreshToken(request, deps);
    if (!('claims' in checked)) return checked;
    const { raw, claims } = checked;
    if (!(await store.tokens.blacklist(recordOf(raw, claims, userIdOf(claims, tokens), tokens), Math.floor(now() / 1000)))) {
      return invalidToken(challenge, 'Token is blacklisted');
    }
    return json(200, {});
  };

  return apiView({
    handlers: { POST: guarded(deps, post) },
    metadata: {
      name: 'Token Blacklist',
      description: 'Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.',
      actions: { POST: { refresh: writable('Refresh') } },
    },
  });
}

/** Mount the four token views under `prefix` (default "/api/token/"). */
export function installTokenRoutes(router: Router, deps: TokenViewsDeps, prefix = '/api/token/'): Router {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  mountView(router, base, tokenObtainPairView(deps));
  mountView(router, `${base}refresh/`, tokenRefreshView(deps));
  mountView(router, `${base}verify/`, tokenVerifyView(deps));
  mountView(router, `${base}blacklist/`, tokenBlacklistView(deps));
  return router;
}

function userIdOf(claims: Claims, tokens: TokenService): number | null {
  const id = claims[tokens.settings.USER_ID_CLAIM];
  return Number.isSafeInteger(id) ? (id as number) : null;
}

function recordOf(raw: string, claims: Claims, userId: number | null, tokens: TokenService): TokenRecord {
  const iat = claims.iat;
  return { jti: String(claims[tokens.settings.JTI_CLAIM]), userId, token: raw, expiresAt: claims.exp as number, createdAt: typeof iat === 'number' ? iat : null };
}
