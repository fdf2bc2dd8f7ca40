/**
 * Authentication and permission as middleware (App → App), DRF's two steps:
 *
 *   authenticate(auth)  who is calling? Sets request.state.user from the access token; a request
 *                       without credentials goes on anonymous; bad credentials get a 401 here,
 *                       on any route it wraps (DRF authenticates eagerly, even for AllowAny).
 *   requireUser(auth)   IsAuthenticated: anonymous requests get 401 "Authentication credentials
 *                       were not provided." Put it inside authenticate().
 *
 *   router.get('/api/ping/', authenticate(auth)(ping));
 *   router.get('/api/me/', compose(authenticate(auth), requireUser(auth))(me));
 *
 * Wrap the routes that authenticate, not the token endpoints: simplejwt's token views have no
 * authentication classes, so a stale Authorization header must not block a login.
 */
import type { App, Middleware, Request, Response } from '../interface.ts';
import type { JwtAuthentication } from './authentication.ts';
import { notAuthenticated } from './responses.ts';

/** A permission check: null to allow, or the response that refuses. */
export type Permission = (request: Request) => Response | null;

/** Middleware that authenticates every request it sees (JWTAuthentication as DRF runs it). */
export function authenticate(authentication: JwtAuthentication): Middleware {
  return (next: App): App =>
    (request) => {
      const refused = authentication.authenticate(request);
      if (refused === null) return next(request);
      if (refused instanceof Promise) return refused.then((r) => r ?? next(request));
      return refused;
    };
}

/** DRF's IsAuthenticated as a permission check; run it after authentication. */
export function isAuthenticated(authentication: JwtAuthentication): Permission {
  const challenge = authentication.challenge;
  return (request) => (request.state.user !== undefined ? null : notAuthenticated(challenge));
}

/** Middleware that lets only authenticated requests through (IsAuthenticated). */
export function requireUser(authentication: JwtAuthentication): Middleware {
  const permission = isAuthenticated(authentication);
  return (next: App): App =>
    (request) =>
      permission(request) ?? next(request);
}
