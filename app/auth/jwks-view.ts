/**
 * GET /.well-known/jwks.json: the public keys tokens are signed with (the current one and those
 * retired by a rotation whose tokens may still be alive), for services that verify our tokens on
 * their own (simplejwt's JWK_URL, jose's createRemoteJWKSet). Only asymmetric algorithms have
 * keys to publish; a shared HMAC secret is never published.
 */
import type { App, Response } from '../interface.ts';
import type { Router } from '../router.ts';

/** How long clients may cache the set (seconds): well below the life of a retired key. */
export const JWKS_MAX_AGE_S = 300;

/** The view for a fixed set of public JWKs. */
export function jwksView(keys: readonly object[]): App {
  const body = JSON.stringify({ keys });
  const ok: Response = Object.freeze({
    status: 200,
    headers: Object.freeze({ 'content-type': 'application/json', 'cache-control': `public, max-age=${JWKS_MAX_AGE_S}`, allow: 'GET, HEAD, OPTIONS' }),
    body,
  });
  return (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') return ok;
    if (request.method === 'OPTIONS') return { status: 200, headers: { allow: 'GET, HEAD, OPTIONS' }, body: '' };
    return {
      status: 405,
      headers: { 'content-type': 'application/json', allow: 'GET, HEAD, OPTIONS' },
      body: JSON.stringify({ detail: `Method "${request.method}" not allowed.` }),
    };
  };
}

/** Mount the view at `path` (default /.well-known/jwks.json) for every method. */
export function installJwksRoute(router: Router, keys: readonly object[], path = '/.well-known/jwks.json'): Router {
  const view = jwksView(keys);
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']) router.on(method, path, view);
  return router;
}
