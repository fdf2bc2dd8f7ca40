/**
 * The error answers of DRF and simplejwt, byte for byte: the JSON shapes clients of a simplejwt
 * backend parse (`detail`, `code`, `messages[]`), and the `WWW-Authenticate` challenge every 401
 * carries. Bodies that never change are serialised once.
 */
import type { Response, ResponseHeaders } from '../interface.ts';

/** The realm simplejwt names in its challenge. */
export const REALM = 'api';

/** The WWW-Authenticate value for an auth scheme: `Bearer realm="api"`. */
export function challengeFor(scheme: string): string {
  return `${scheme} realm="${REALM}"`;
}

/** A JSON response; `body` is already serialised. */
function jsonResponse(status: number, body: string, headers?: ResponseHeaders): Response {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body };
}

/** 401 with the challenge and a JSON body. */
export function unauthorized(challenge: string, body: unknown): Response {
  return jsonResponse(401, JSON.stringify(body), { 'www-authenticate': challenge });
}

/** 401 "Authentication credentials were not provided." (DRF's NotAuthenticated). */
export function notAuthenticated(challenge: string): Response {
  return jsonResponse(401, NOT_AUTHENTICATED_BODY, { 'www-authenticate': challenge });
}
const NOT_AUTHENTICATED_BODY = JSON.stringify({ detail: 'Authentication credentials were not provided.' });

/** 401 for an Authorization header that is not "<type> <token>". */
export function badAuthorizationHeader(challenge: string): Response {
  return jsonResponse(401, BAD_HEADER_BODY, { 'www-authenticate': challenge });
}
const BAD_HEADER_BODY = JSON.stringify({
  detail: 'Authorization header must contain two space-delimited values',
  code: 'bad_authorization_header',
});

/** 401 from JWTAuthentication when the token fails as an AccessToken; `message` is the TokenError's. */
export function tokenNotValidForAnyType(challenge: string, message: string): Response {
  return unauthorized(challenge, {
    detail: 'Given token not valid for any token type',
    code: 'token_not_valid',
    messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
  });
}

/** 401 simplejwt's InvalidToken with a detail of its own: `{"detail": …, "code": "token_not_valid"}`. */
export function invalidToken(challenge: string, detail: string): Response {
  return unauthorized(challenge, { detail, code: 'token_not_valid' });
}

/** 400 with DRF's validation-error body: field name → list of messages. */
export function validationError(errors: Readonly<Record<string, readonly string[]>>): Response {
  return jsonResponse(400, JSON.stringify(errors));
}

/** 429 as DRF's Throttled: the wait in the detail and in Retry-After. */
export function throttled(seconds: number): Response {
  const wait = Math.max(1, Math.ceil(seconds));
  const detail = `Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}.`;
  return jsonResponse(429, JSON.stringify({ detail }), { 'retry-after': String(wait) });
}
