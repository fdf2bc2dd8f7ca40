/**
 * A small router: (method, path pattern) → app. Unknown paths answer 404; a known path with an
 * unknown method answers 405 with an Allow header; HEAD is served by the GET app (the server drops
 * the body) and OPTIONS answers with Allow, unless the route defines them itself.
 *
 * Patterns are literal segments, `:name` segments (one segment, percent-decoded) and a final `*`
 * (the rest of the path). Literal paths are found by one Map lookup; the rest are tried in order.
 */
import type { App, Request } from './interface.ts';
import { json } from './response.ts';

declare module './interface.ts' {
  interface RequestState {
    /** Values of the matched pattern's `:name` segments (and `*` for the rest). */
    params?: Record<string, string>;
  }
}

type Methods = Map<string, App>;

interface PatternRoute {
  segments: string[];
  rest: boolean;
  methods: Methods;
}

/** Routes requests to apps by method and path. */
export class Router {
  #exact = new Map<string, Methods>();
  #patterns: PatternRoute[] = [];

  /** Register `app` for `method` on `pattern`. */
  on(method: string, pattern: string, app: App): this {
    const methods = this.#methodsFor(pattern);
    if (methods.has(method)) throw new Error(`route ${method} ${pattern} is already defined`);
    methods.set(method, app);
    return this;
  }

  get(pattern: string, app: App): this {
    return this.on('GET', pattern, app);
  }
  post(pattern: string, app: App): this {
    return this.on('POST', pattern, app);
  }
  put(pattern: string, app: App): this {
    return this.on('PUT', pattern, app);
  }
  patch(pattern: string, app: App): this {
    return this.on('PATCH', pattern, app);
  }
  delete(pattern: string, app: App): this {
    return this.on('DELETE', pattern, app);
  }

  /** The router as an app. */
  readonly app: App = (request: Request) => {
    const path = request.path;
    let methods = this.#exact.get(path);
    if (methods === undefined) {
      methods = this.#match(request, path);
      if (methods === undefined) return json(404, { detail: 'Not found.' });
    }
    const app = methods.get(request.method) ?? (request.method === 'HEAD' ? methods.get('GET') : undefined);
    if (app !== undefined) return app(request);
    const allow = allowed(methods);
    if (request.method === 'OPTIONS') return { status: 204, headers: { allow } };
    return json(405, { detail: `Method "${request.method}" not allowed.` }, { allow });
  };

  #methodsFor(pattern: string): Methods {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with '/': ${pattern}`);
    const segments = pattern.split('/').slice(1);
    const dynamic = segments.some((s) => s.startsWith(':') || s === '*');
    if (!dynamic) {
      let methods = this.#exact.get(pattern);
      if (methods === undefined) this.#exact.set(pattern, (methods = new Map()));
      return methods;
    }
    const star = segments.indexOf('*');
    if (star >= 0 && star !== segments.length - 1) throw new Error(`'*' must be the last segment: ${pattern}`);
    const rest = star >= 0;
    if (rest) segments.pop();
    const existing = this.#patterns.find((r) => r.rest === rest && r.segments.join('/') === segments.join('/'));
    if (existing) return existing.methods;
    const route: PatternRoute = { segments, rest, methods: new Map() };
    this.#patterns.push(route);
    return route.methods;
  }

  #match(request: Request, path: string): Methods | undefined {
    if (this.#patterns.length === 0) return undefined;
    const parts = path.split('/').slice(1);
    for (const route of this.#patterns) {
      const { segments } = route;
      if (route.rest ? parts.length < segments.length : parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length; i++) {
        const want = segments[i]!;
        const got = parts[i]!;
        if (want.startsWith(':')) {
          if (got === '') {
            ok = false;
            break;
          }
          params[want.slice(1)] = got;
        } else if (want !== got) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (route.rest) params['*'] = parts.slice(segments.length).join('/');
      request.state.params = params;
      return route.methods;
    }
    return undefined;
  }
}

function allowed(methods: Methods): string {
  const names = [...methods.keys()];
  if (methods.has('GET') && !methods.has('HEAD')) names.splice(names.indexOf('GET') + 1, 0, 'HEAD');
  if (!methods.has('OPTIONS')) names.push('OPTIONS');
  return names.join(', ');
}
