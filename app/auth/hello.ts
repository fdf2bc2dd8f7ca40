/**
 * The protected demo route, GET /api/hello/ → {"message":"hello","user":"<username>"}: DRF's
 * IsAuthenticated function view. It is the benchmark's authenticated request, so its answer is
 * built with no work beyond one JSON.stringify of the username.
 */
import type { App } from '../interface.ts';
import type { Router } from '../router.ts';
import { apiView, mountView } from './api-view.ts';
import type { JwtAuthentication } from './authentication.ts';
import { isAuthenticated } from './middleware.ts';

const HEADERS = Object.freeze({ 'content-type': 'application/json', allow: 'GET, HEAD, OPTIONS' });

/** The view's handler: greets request.state.user (authentication has run before it). */
export const hello: App = (request) => ({
  status: 200,
  headers: HEADERS,
  body: `{"message":"hello","user":${JSON.stringify(request.state.user!.username)}}`,
});

/** The hello view with JWT authentication and IsAuthenticated. */
export function helloView(authentication: JwtAuthentication): App {
  return apiView({
    handlers: { GET: hello },
    authentication,
    permission: isAuthenticated(authentication),
    metadata: { name: 'Hello', description: '' },
  });
}

/** Mount GET /api/hello/ (or `path`) on `router`. */
export function installHelloRoute(router: Router, authentication: JwtAuthentication, path = '/api/hello/'): Router {
  return mountView(router, path, helloView(authentication));
}
