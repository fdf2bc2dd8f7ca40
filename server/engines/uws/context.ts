/**
 * What the pieces of the uWS engine share: the host's options, resolved once per engine, and the
 * mutable state drain() needs (requests in flight, whether it is draining).
 */
import { performance } from 'node:perf_hooks';
import type { ErrorReporter } from '../../../app/errors.ts';
import type { Endpoint, Request } from '../../../app/interface.ts';
import type { Limits } from '../../../wire/limits.ts';
import { reporterFor } from '../client-gone.ts';
import type { AccessEntry, HostOptions } from '../host.ts';

/** The server endpoint a request on a unix socket reports (and the client's, there). */
export const UNIX_ENDPOINT: Endpoint = Object.freeze({ address: 'unix', port: 0 });

/** One engine's options and state, as every request sees them. */
export class EngineContext {
  /** Requests whose response has not finished. */
  active = 0;
  /** Set by drain(): every response from now on closes its connection. */
  draining = false;
  /** The address the engine listens on (UNIX_ENDPOINT for a unix socket). */
  local: Endpoint = UNIX_ENDPOINT;
  /** While draining: when the last request arrived (ms, Date.now()). */
  lastArrival = 0;

  readonly limits: Limits;
  readonly report: ErrorReporter;
  readonly onAccess: ((entry: AccessEntry) => void) | undefined;
  readonly onRefused: HostOptions['onRefused'];
  readonly serverTiming: boolean;
  /** Whether a request's start time is needed at all (access log or Server-Timing). */
  readonly timed: boolean;

  constructor(options: HostOptions) {
    this.limits = options.limits;
    this.report = reporterFor(options.report, options.onClientGone);
    this.onAccess = options.onAccess;
    this.onRefused = options.onRefused;
    this.serverTiming = options.serverTiming === true;
    this.timed = this.serverTiming || options.onAccess !== undefined;
  }

  /** Record a finished request in the access log (call only when onAccess is set). */
  log(request: Request, status: number, bytes: number, start: number): void {
    this.onAccess!({
      method: request.method,
      target: request.target,
      httpVersion: '1.1',
      status,
      bytes,
      durationMs: performance.now() - start,
      client: request.client,
      headers: request.headers,
    });
  }
}
