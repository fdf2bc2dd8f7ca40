/**
 * The whole auth stack in one call: settings, keys, the user store, token service, the
 * authentication middleware, the token views and the demo's protected route.
 *
 *   import { createAuth } from './auth/create-auth.ts';
 *
 *   const auth = await createAuth({ settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true } });
 *   await auth.ensureAdmin((line) => console.log(line));   // first start: prints admin's password
 *   const router = new Router();
 *   auth.installRoutes(router);                         // /api/token/{,refresh/,verify/,blacklist/}, /api/hello/
 *   router.get('/api/ping/', auth.middleware(ping));    // DRF authenticates eagerly: a bad Bearer is 401 here too
 *   // ...and when the app is unloaded: await auth.close();
 *
 * Settings come from `settings` (simplejwt's names) overridden by SIMPLE_JWT_* variables (and
 * SIGNING_KEY) from `env`; the data directory from `dataDir`, else DATA_DIR, else ./data. With
 * no SIGNING_KEY configured, a key is generated once and kept in the data directory. The store
 * is Postgres when DATABASE_URL is set (then SIGNING_KEY must be set too: every host behind the
 * database must sign with the same key), else SQLite in the data directory. A generated
 * asymmetric key is rotated with `npm run rotatekey` (key-rotation.ts): its predecessors, kept
 * beside it, verify their tokens until these expire.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Middleware, Request } from '../interface.ts';
import type { Router } from '../router.ts';
import { resolveDataDir, prepareDataDir } from '../store/data-dir.ts';
import { ensureAdmin } from '../store/ensure-admin.ts';
import { DEFAULT_SCRYPT, type ScryptParams } from '../store/passwords.ts';
import { storeSettingsFromEnv } from '../store/store-options.ts';
import { authSettingsFromEnv, DEFAULT_USER_CACHE_MS } from './auth-options.ts';
import { openConfiguredStore } from '../store/open.ts';
import { startPurge } from '../store/purge.ts';
import { StoreStartError } from '../store/store-error.ts';
import type { Store } from '../store/store.ts';
import { JwtAuthentication } from './authentication.ts';
import { DEFAULT_TRUSTED_PROXIES, clientAddress, trustedProxyCheck } from './client-address.ts';
import { installHelloRoute } from './hello.ts';
import { JwtCodec } from './jwt.ts';
import { isAsymmetric, keysFromJwks, publicJwk, thumbprint } from './key-set.ts';
import { loadRetiredKeys } from './key-rotation.ts';
import { installJwksRoute } from './jwks-view.ts';
import { KeyConfigError, resolveKeys } from './keys.ts';
import { LoginThrottle, type ThrottleRule } from './login-throttle.ts';
import { authenticate, requireUser } from './middleware.ts';
import { resolveSettings, type AuthSettings, type SettingsInput } from './settings.ts';
import { loadOrCreateSigningKey } from './signing-key.ts';
import { stderrLog, storeFailureHandler, type AuthLog } from './store-failure.ts';
import { installTokenRoutes, type TokenViewsDeps } from './token-views.ts';
import { TokenService } from './tokens.ts';
import { CachedUserLookup } from './user-cache.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';

/** How to build the auth stack; every field is optional. */
export interface AuthOptions {
  /** Where the database and generated key live. Default: DATA_DIR from `env`, else ./data. */
  dataDir?: string;
  /** postgres://user:password@host:port/database for the Postgres store. Default: DATABASE_URL from `env`; empty = SQLite. */
  databaseUrl?: string;
  /** Error-log lines (a store that cannot be reached or written). Default: stderr in the error log's format. */
  log?: AuthLog;
  /** simplejwt settings by name (SIMPLE_JWT_* variables in `env` override them). */
  settings?: SettingsInput;
  /** Environment to read SIMPLE_JWT_*, SIGNING_KEY, DATA_DIR, FORWARDED_ALLOW_IPS, LAYERSTACK_USER_CACHE (app/auth/auth-options.ts) from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** JWTStatelessUserAuthentication: trust the token's user_id without loading the user. Default false. */
  stateless?: boolean;
  /**
   * Reuse a loaded user row for this many ms (see user-cache.ts): deactivation then takes effect
   * within that time instead of at once; 0 looks the user up on every request, exactly as
   * simplejwt. Default: LAYERSTACK_USER_CACHE from `env` (a duration), else 1000 (a per-request lookup costs as much
   * as the whole ping route; see docs/auth.md).
   */
  userCacheMs?: number;
  /** How many validated access tokens to remember (verified-token-cache.ts); 0 turns it off. Default 10 000. */
  tokenCacheSize?: number;
  /** Clock in epoch milliseconds, for tokens, throttling and purges. Default Date.now. */
  now?: () => number;
  /** How a throttled login waits. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Login throttling rules, or false to disable it. Default: PAIR_RULE, ADDRESS_RULE and USERNAME_RULE (null: none). */
  throttle?: { pair?: ThrottleRule; address?: ThrottleRule; username?: ThrottleRule | null } | false;
  /** Peers whose X-Forwarded-For is believed. Default: FORWARDED_ALLOW_IPS from `env` ("*" = all), else loopback. */
  trustedProxies?: readonly string[];
  /** scrypt parameters for new password hashes. Default DEFAULT_SCRYPT (Django's). */
  passwordParams?: ScryptParams;
  /** Milliseconds between purges of expired tokens and stale login counters, or false for none. Default one hour. */
  purgeIntervalMs?: number | false;
}

export { DEFAULT_USER_CACHE_MS };

/** The assembled auth stack. */
export interface Auth {
  readonly settings: AuthSettings;
  readonly store: Store;
  readonly tokens: TokenService;
  readonly jwt: JwtCodec;
  readonly authentication: JwtAuthentication;
  /** Eager JWT authentication (sets request.state.user; 401 on bad credentials). */
  readonly middleware: Middleware;
  /** IsAuthenticated: 401 for anonymous requests. Use inside `middleware`. */
  readonly requireUser: Middleware;
  /** Mount POST /api/token/, /api/token/refresh/, /api/token/verify/, /api/token/blacklist/. */
  installTokenRoutes(router: Router): Router;
  /** Mount GET /api/hello/ (authenticated). */
  installHelloRoute(router: Router): Router;
  /** Mount GET /.well-known/jwks.json (asymmetric algorithms only; a no-op for HMAC). */
  installJwksRoute(router: Router): Router;
  /** All of the above. */
  installRoutes(router: Router): Router;
  /** On first start (no users), create "admin" with a random password and print it; returns it, or null. */
  ensureAdmin(print: (line: string) => void): Promise<string | null>;
  /** Stop the purge timer and close the database. */
  close(): Promise<void>;
}

/** Build the auth stack (opens the database; generates the signing key on first use). */
export async function createAuth(options: AuthOptions = {}): Promise<Auth> {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const log = options.log ?? stderrLog;
  const settings = resolveSettings(options.settings ?? {}, env);
  const fromEnv = { ...storeSettingsFromEnv(env), ...authSettingsFromEnv(env) };
  const databaseUrl = options.databaseUrl ?? fromEnv.databaseUrl ?? '';
  if (databaseUrl !== '' && settings.SIGNING_KEY === null) {
    throw new StoreStartError('unsupported', 'with DATABASE_URL set, set SIGNING_KEY too: every app host sharing the database must sign and verify with the same key');
  }
  const dataDir = prepareDataDir(options.dataDir ?? resolveDataDir(env));
  const signingKey = settings.SIGNING_KEY ?? loadOrCreateSigningKey(dataDir, settings.ALGORITHM);
  if (settings.JWK_URL !== null) {
    throw new KeyConfigError('JWK_URL is set: this service only verifies tokens another one signs; build it with createVerifier (app/auth/create-verifier.ts)');
  }
  const keys = resolveKeys(settings.ALGORITHM, signingKey, settings.VERIFYING_KEY);
  // Asymmetric keys get a kid (their RFC 7638 thumbprint) and are published with the retired ones.
  const asymmetric = isAsymmetric(settings.ALGORITHM);
  const kid = asymmetric ? thumbprint(keys.signing) : null;
  const retired = settings.RETIRED_KEYS === null ? new Map() : keysFromJwks(settings.ALGORITHM, settings.RETIRED_KEYS, true, 'RETIRED_KEYS');
  // The generated key's predecessors (`npm run rotatekey`), while their tokens can be valid.
  if (settings.SIGNING_KEY === null && asymmetric) {
    for (const [id, key] of loadRetiredKeys(dataDir, settings.ALGORITHM, Math.floor(now() / 1000))) if (!retired.has(id)) retired.set(id, key);
  }
  retired.delete(kid);
  const publishedKeys = asymmetric ? [publicJwk(keys.verifying, settings.ALGORITHM, kid!), ...[...retired].map(([id, key]) => publicJwk(key, settings.ALGORITHM, id))] : [];
  const jwt = new JwtCodec({
    algorithm: settings.ALGORITHM,
    keys,
    kid,
    retired,
    leeway: settings.LEEWAY,
    audience: settings.AUDIENCE,
    issuer: settings.ISSUER,
    now,
  });
  const tokens = new TokenService(settings, jwt, now);
  const userCacheMs = options.userCacheMs ?? fromEnv.userCache;
  if (!Number.isFinite(userCacheMs) || userCacheMs < 0) throw new RangeError(`userCacheMs must be a number of milliseconds ≥ 0, got ${userCacheMs}`);
  const store = await openConfiguredStore({
    databaseUrl,
    dataDir,
    env,
    onIdleError: (error) => log('WARNING', `store: an idle Postgres connection failed (${error.message}); it will be replaced`),
  });
  const users = userCacheMs > 0 ? new CachedUserLookup(store.users, { ttlMs: userCacheMs, now }) : store.users;
  const tokenCache = options.tokenCacheSize === 0 ? null : new VerifiedTokenCache({ maxEntries: options.tokenCacheSize, leeway: settings.LEEWAY, now });
  const onStoreFailure = storeFailureHandler(log, { now });
  const authentication = new JwtAuthentication(tokens, options.stateless ? null : users, tokenCache, onStoreFailure);
  const passwordParams = options.passwordParams ?? DEFAULT_SCRYPT;
  const isTrusted = trustedProxyCheck(options.trustedProxies ?? trustedFromEnv(env));
  const deps: TokenViewsDeps = {
    tokens,
    store,
    challenge: authentication.challenge,
    throttle: options.throttle === false ? null : new LoginThrottle(store.loginAttempts, { ...options.throttle, now }),
    clientAddress: (request: Request) => clientAddress(request, isTrusted),
    passwordParams,
    now,
    sleep: options.sleep ?? ((ms: number) => sleepFor(ms)),
    onStoreFailure,
  };
  const stopPurge = options.purgeIntervalMs === false ? () => {} : startPurge(store, { intervalMs: options.purgeIntervalMs, now });

  const auth: Auth = {
    settings,
    store,
    tokens,
    jwt,
    authentication,
    middleware: authenticate(authentication),
    requireUser: requireUser(authentication),
    installTokenRoutes: (router) => installTokenRoutes(router, deps),
    installHelloRoute: (router) => installHelloRoute(router, authentication),
    installJwksRoute: (router) => (asymmetric ? installJwksRoute(router, publishedKeys) : router),
    installRoutes: (router) => auth.installJwksRoute(auth.installHelloRoute(auth.installTokenRoutes(router))),
    ensureAdmin: (print) => ensureAdmin(store, print, passwordParams),
    async close() {
      stopPurge();
      await store.close();
    },
  };
  return auth;
}

function trustedFromEnv(env: Readonly<Record<string, string | undefined>>): readonly string[] {
  const configured = authSettingsFromEnv(env).forwardedAllowIps;
  return configured === undefined || configured.length === 0 ? DEFAULT_TRUSTED_PROXIES : configured;
}
