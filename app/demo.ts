/**
 * The demo app: the routes the stack is run, tested and benchmarked with. It is an ordinary app
 * written against the interface, so the dev server, the worker pool and the test client all run
 * it unchanged.
 *
 * Hosts load it as `app/demo.ts#createDemoApp()` (a factory, like Gunicorn's `module:create_app()`).
 */
import { createHash } from 'node:crypto';
import { createAuth } from './auth/create-auth.ts';
import { createVerifier } from './auth/create-verifier.ts';
import { resolveSettings } from './auth/settings.ts';
import { faultRoutes } from './demo-faults.ts';
import { HttpError } from './errors.ts';
import type { App, Request } from './interface.ts';
import { json } from './response.ts';
import { Router } from './router.ts';

/** A loaded app and how to release what it holds (database handles, timers). */
export interface LoadedApp {
  app: App;
  close(): Promise<void>;
}

const PONG = '{"ok":true}';
const JSON_TYPE = { 'content-type': 'application/json' } as const;

/** GET /api/ping/ → {"ok":true}: the cheapest route, the yardstick for every layer. */
export const ping: App = () => ({ status: 200, headers: JSON_TYPE, body: PONG });

/** GET /api/stream/?lines=N → N lines sent as they are produced (chunked on the wire). */
export const stream: App = (request: Request) => {
  const lines = Math.min(Math.max(Number(request.params.get('lines') ?? 10) || 10, 1), 10_000);
  return {
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: (async function* () {
      for (let i = 1; i <= lines; i++) {
        // Yield to the event loop between lines, as a real producer (a DB cursor, a file) would.
        await new Promise((resolve) => setImmediate(resolve));
        yield `line ${i} of ${lines}\n`;
      }
    })(),
  };
};

/** Hash rounds that cost about 5 ms of CPU on the reference 2-core machine. */
export const CPU_ROUNDS = 4200;

/**
 * The most rounds one request may ask for (about 10× the default, ~50 ms): the route is public,
 * and an unbounded count let any anonymous client buy seconds of a worker's CPU per request.
 */
export const MAX_CPU_ROUNDS = 10 * CPU_ROUNDS;

/**
 * GET /api/cpu/?rounds=N → a deliberately CPU-bound answer (~5 ms by default), to show what extra
 * workers buy. N past MAX_CPU_ROUNDS (or not a whole number ≥ 1) is a 400 that names the bound.
 */
export const cpu: App = (request: Request) => {
  const raw = request.params.get('rounds');
  const rounds = raw === null ? CPU_ROUNDS : /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(rounds >= 1 && rounds <= MAX_CPU_ROUNDS)) {
    throw new HttpError(400, `rounds must be a whole number from 1 to ${MAX_CPU_ROUNDS}, not ${JSON.stringify(raw)}`);
  }
  let digest = Buffer.from('layerstack');
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return json(200, { rounds, digest: digest.toString('hex') });
};

/** POST /api/echo/ → the size and SHA-256 of the body it was sent (bounded by the server's limit). */
export const echo: App = async (request: Request) => {
  const body = await request.body.bytes();
  return json(200, { bytes: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') });
};

/** The demo routes that need no database: every host can serve them as they are. */
export function publicRoutes(router: Router = new Router(), wrap: (app: App) => App = (app) => app): Router {
  return router
    .get('/api/ping/', wrap(ping))
    .get('/api/stream/', wrap(stream))
    .get('/api/cpu/', wrap(cpu))
    .post('/api/echo/', wrap(echo));
}

/** How the demo app is built. */
export interface DemoOptions {
  dataDir?: string;
  print?: (line: string) => void;
  /** Mount the fault routes (crash, block). Off unless asked for: see createDemoAppWithFaults. */
  faults?: boolean;
}

/**
 * Build the demo app: the public routes plus simplejwt's token endpoints and the protected
 * `/api/hello/`, with the user store in DATA_DIR. As in Django REST framework, every API view
 * authenticates eagerly (a bad Bearer token is a 401 even on /api/ping/), while the token views
 * themselves run no authentication. Rotation and blacklist-after-rotation are on, as in the
 * reference stack.
 */
export async function createDemoApp(options: DemoOptions = {}): Promise<LoadedApp> {
  // Verify-only mode (JWK_URL): a second service authenticating with another one's tokens.
  if (resolveSettings({}, process.env).JWK_URL !== null) {
    const verifier = await createVerifier();
    const router = publicRoutes(new Router(), verifier.middleware);
    verifier.installHelloRoute(router);
    return { app: router.app, close: () => verifier.close() };
  }
  const auth = await createAuth({ dataDir: options.dataDir, settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true } });
  // First start with no users: create "admin" and print its password once (one worker wins).
  await auth.ensureAdmin(options.print ?? ((line) => console.log(line)));
  const router = publicRoutes(new Router(), auth.middleware);
  auth.installRoutes(router);
  if (options.faults === true) faultRoutes(router);
  return { app: router.app, close: () => auth.close() };
}

/**
 * The demo app plus the routes that crash or block their process on purpose (app/demo-faults.ts),
 * for the benchmark's fault scenarios only. Nothing names this factory by default: a server hosts
 * it only when told `--app app/demo.ts#createDemoAppWithFaults()` (the bench's configurations do).
 */
export function createDemoAppWithFaults(): Promise<LoadedApp> {
  return createDemoApp({ faults: true });
}
