/**
 * Verify-only mode (simplejwt's JWK_URL): a second service that authenticates requests with
 * access tokens another one issued, taking the keys from that service's JWKS, with no user store
 * and no signing key. The user is built from the token (JWTStatelessUserAuthentication), so it
 * needs nothing but the JWKS URL and the same ALGORITHM (and AUDIENCE/ISSUER, if any).
 *
 *   const verifier = await createVerifier({ jwkUrl: 'https://auth.example/.well-known/jwks.json', settings: { ALGORITHM: 'RS256' } });
 *   router.get('/api/orders/', verifier.middleware(verifier.requireUser(orders)));
 */
import type { Middleware } from '../interface.ts';
import type { Router } from '../router.ts';
import { JwtAuthentication } from './authentication.ts';
import { installHelloRoute } from './hello.ts';
import { JwksClient, type JwksClientOptions } from './jwks-client.ts';
import { JwtCodec } from './jwt.ts';
import { isAsymmetric } from './key-set.ts';
import { KeyConfigError } from './keys.ts';
import { authenticate, requireUser } from './middleware.ts';
import { resolveSettings, type AuthSettings, type SettingsInput } from './settings.ts';
import { stderrLog, storeFailureHandler, type AuthLog } from './store-failure.ts';
import { TokenService } from './tokens.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';

/** How to build a verifier; every field is optional but the JWKS URL must come from somewhere. */
export interface VerifierOptions {
  /** simplejwt settings (ALGORITHM, JWK_URL, AUDIENCE, ISSUER, LEEWAY…); SIMPLE_JWT_* in `env` override them. */
  settings?: SettingsInput;
  /** The JWKS URL. Default: the JWK_URL setting. */
  jwkUrl?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Fetching and caching of the JWKS. */
  jwks?: Omit<JwksClientOptions, 'onError' | 'now'>;
  /** How many validated access tokens to remember; 0 turns it off. Default 10 000. */
  tokenCacheSize?: number;
  log?: AuthLog;
  now?: () => number;
}

/** A verify-only auth stack. */
export interface Verifier {
  readonly settings: AuthSettings;
  readonly jwks: JwksClient;
  readonly authentication: JwtAuthentication;
  readonly middleware: Middleware;
  readonly requireUser: Middleware;
  /** Mount GET /api/hello/ (authenticated; the user comes from the token). */
  installHelloRoute(router: Router): Router;
  close(): Promise<void>;
}

/** Build a verifier: fetches the JWKS once (a failure is logged; a later token's unknown kid refetches). */
export async function createVerifier(options: VerifierOptions = {}): Promise<Verifier> {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const log = options.log ?? stderrLog;
  const settings = resolveSettings(options.settings ?? {}, env);
  const url = options.jwkUrl ?? settings.JWK_URL;
  if (url === null) throw new KeyConfigError('verify-only mode needs JWK_URL: the URL of the signing service\'s JWKS');
  if (!isAsymmetric(settings.ALGORITHM)) {
    throw new KeyConfigError(`JWK_URL needs an asymmetric ALGORITHM (RS*, ES*, EdDSA); ${settings.ALGORITHM} keys are shared secrets and never published`);
  }
  const jwks = new JwksClient(url, settings.ALGORITHM, { ...options.jwks, now, onError: (error) => log('WARNING', `JWKS ${url}: ${error.message}`) });
  await jwks.refresh();
  const jwt = new JwtCodec({
    algorithm: settings.ALGORITHM,
    keys: null,
    keySource: (kid) => jwks.get(kid),
    leeway: settings.LEEWAY,
    audience: settings.AUDIENCE,
    issuer: settings.ISSUER,
    now,
  });
  const tokens = new TokenService(settings, jwt, now);
  const tokenCache = options.tokenCacheSize === 0 ? null : new VerifiedTokenCache({ maxEntries: options.tokenCacheSize, leeway: settings.LEEWAY, now });
  const authentication = new JwtAuthentication(tokens, null, tokenCache, storeFailureHandler(log, { now }), (kid) => jwks.learn(kid));
  return {
    settings,
    jwks,
    authentication,
    middleware: authenticate(authentication),
    requireUser: requireUser(authentication),
    installHelloRoute: (router) => installHelloRoute(router, authentication),
    close: async () => {},
  };
}
