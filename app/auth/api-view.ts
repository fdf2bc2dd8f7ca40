/**
 * DRF's APIView, reduced to what clients can observe: authentication and permission run first,
 * for every method (so POST /api/hello/ without a token is 401, not 405, as in DRF); then the
 * method's handler, or OPTIONS with DRF's metadata body, or 405 `Method "X" not allowed.`.
 * Every answer carries `Allow` (e.g. "POST, OPTIONS"), as DRF's do.
 *
 * Because the view decides about methods itself, mountView() registers it on the router for
 * every common method instead of letting the router answer 405 first.
 */
import type { App, Request, Response } from '../interface.ts';
import type { Router } from '../router.ts';
import type { JwtAuthentication } from './authentication.ts';
import type { Permission } from './middleware.ts';
import { PARSED_MEDIA_TYPES } from './request-data.ts';

/** A field as DRF's SimpleMetadata describes it under "actions". */
export interface FieldInfo {
  readonly type: 'string';
  readonly required: boolean;
  readonly read_only: boolean;
  readonly label: string;
}

/** What OPTIONS tells about a view (DRF: the view's name, its docstring, its serializer's fields). */
export interface ViewMetadata {
  readonly name: string;
  readonly description: string;
  readonly actions?: Readonly<Record<string, Readonly<Record<string, FieldInfo>>>>;
}

/** A view: handlers by method, plus who may call it. */
export interface ApiViewSpec {
  readonly handlers: Readonly<Record<string, App>>;
  /** Runs first for every method; omit for views without authentication (the token views). */
  readonly authentication?: JwtAuthentication;
  /** Runs after authentication; omit for AllowAny. */
  readonly permission?: Permission;
  readonly metadata: ViewMetadata;
}

/** Methods mountView() registers a view under (the view answers 405 itself for the ones it lacks). */
export const VIEW_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** DRF lists allowed methods in Django's http_method_names order. */
const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** Build the app for one view. */
export function apiView(spec: ApiViewSpec): App {
  const { handlers, authentication, permission } = spec;
  const methods = new Set(Object.keys(handlers));
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  const allow = METHOD_ORDER.filter((m) => methods.has(m)).join(', ');
  const withAllow = (response: Response): Response =>
    response.headers?.allow !== undefined ? response : { ...response, headers: { ...response.headers, allow } };
  const metadata = JSON.stringify({
    name: spec.metadata.name,
    description: spec.metadata.description,
    renders: ['application/json'],
    parses: PARSED_MEDIA_TYPES,
    ...(spec.metadata.actions === undefined ? {} : { actions: spec.metadata.actions }),
  });
  const optionsResponse: Response = { status: 200, headers: { 'content-type': 'application/json', allow }, body: metadata };

  const afterAuthentication = (request: Request): Response | Promise<Response> => {
    if (permission !== undefined) {
      const refused = permission(request);
      if (refused !== null) return withAllow(refused);
    }
    const handler = handlers[request.method] ?? (request.method === 'HEAD' ? handlers.GET : undefined);
    if (handler !== undefined) {
      const result = handler(request);
      return result instanceof Promise ? result.then(withAllow) : withAllow(result);
    }
    if (request.method === 'OPTIONS') return optionsResponse;
    return {
      status: 405,
      headers: { 'content-type': 'application/json', allow },
      body: JSON.stringify({ detail: `Method "${request.method}" not allowed.` }),
    };
  };

  return (request: Request) => {
    if (authentication !== undefined) {
      const refused = authentication.authenticate(request);
      if (refused instanceof Promise) return refused.then((r) => (r === null ? afterAuthentication(request) : withAllow(r)));
      if (refused !== null) return withAllow(refused);
    }
    return afterAuthentication(request);
  };
}

/** Register `view` on `router` at `pattern` for every method in VIEW_METHODS. */
export function mountView(router: Router, pattern: string, view: App): Router {
  for (const method of VIEW_METHODS) router.on(method, pattern, view);
  return router;
}
