/**
 * Routes that misbehave on purpose, for the benchmark's fault scenarios: what one bad request
 * does to a server depends on the layers around the code, and these make that measurable.
 *
 * They are never part of the demo app a deployed stack serves (createDemoApp): only the
 * factory createDemoAppWithFaults() mounts them, and only the bench's own configurations name
 * that factory on their command line (`--app app/demo.ts#createDemoAppWithFaults()`). Every
 * knob is bounded, so even there one request cannot hold a process's event loop longer than
 * MAX_BLOCK_MS, nor wait (without holding it) longer than MAX_SLEEP_MS.
 */
import type { App, Request } from './interface.ts';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { HttpError } from './errors.ts';
import { json } from './response.ts';
import type { Router } from './router.ts';

/** The longest a blocking request may hold its event loop. */
export const MAX_BLOCK_MS = 2000;

/** The longest a slow (non-blocking) request may take to answer. */
export const MAX_SLEEP_MS = 10_000;

/** The ways /api/fault/crash/ ends its process. */
const CRASHES = {
  /** An exception thrown in a callback, after the view returned: no try/catch of the host sees it. */
  throw: () =>
    setImmediate(() => {
      throw new Error('deliberate crash: an uncaught exception in a callback (/api/fault/crash/)');
    }),
  /** Code that calls process.exit, as a library that "handles" an error by exiting would. */
  exit: () => process.exit(70),
} as const;

/**
 * GET or POST /api/fault/crash/?how=throw|exit → the process dies before answering: the client
 * sees its connection closed, and whoever supervises the process decides what happens next.
 */
export const crash: App = (request: Request) => {
  const how = request.params.get('how') ?? 'throw';
  if (!Object.hasOwn(CRASHES, how)) throw new HttpError(400, `how must be one of ${Object.keys(CRASHES).join(', ')}, not ${JSON.stringify(how)}`);
  CRASHES[how as keyof typeof CRASHES]();
  // A response that never arrives: the process is gone before the host could send it.
  return new Promise(() => {});
};

/**
 * GET /api/fault/block/?ms=N → spins the CPU for N ms (1..MAX_BLOCK_MS, default 200) without
 * yielding, as a synchronous library call or a runaway loop would, then answers 200.
 */
export const block: App = (request: Request) => {
  const raw = request.params.get('ms') ?? '200';
  const ms = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(ms >= 1 && ms <= MAX_BLOCK_MS)) throw new HttpError(400, `ms must be a whole number from 1 to ${MAX_BLOCK_MS}, not ${JSON.stringify(raw)}`);
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Deliberately blocking.
  }
  return json(200, { blockedMs: ms, pid: process.pid });
};

/**
 * GET /api/fault/sleep/?ms=N → answers 200 after N ms (1..MAX_SLEEP_MS, default 1000) on a
 * timer, without holding the event loop: a long request as a slow query or a report export is,
 * which a deploy must let finish (or cut) while the process keeps serving others.
 */
export const slow: App = async (request: Request) => {
  const raw = request.params.get('ms') ?? '1000';
  const ms = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(ms >= 1 && ms <= MAX_SLEEP_MS)) throw new HttpError(400, `ms must be a whole number from 1 to ${MAX_SLEEP_MS}, not ${JSON.stringify(raw)}`);
  await sleepFor(ms);
  return json(200, { sleptMs: ms, pid: process.pid });
};

/** Mount the fault routes on `router`. */
export function faultRoutes(router: Router): Router {
  return router.get('/api/fault/crash/', crash).post('/api/fault/crash/', crash).get('/api/fault/block/', block).get('/api/fault/sleep/', slow);
}
