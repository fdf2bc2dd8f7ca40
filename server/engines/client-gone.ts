/**
 * A client that leaves before it has sent its whole request body is an ordinary event (a closed
 * laptop, a cancelled upload), not a failure of the app that was reading the body. Both engines
 * recognise it here so the worker logs one INFO line instead of an ERROR with a stack trace.
 */
import type { ErrorReporter } from '../../app/errors.ts';
import type { Request, Response } from '../../app/interface.ts';

/** What a body read throws on the uWS engine when the client has gone. */
export class ClientGone extends Error {
  readonly kind = 'client-gone';
  constructor() {
    super('the client closed the connection before sending the whole body');
    this.name = 'ClientGone';
  }
}

/** Whether `error` says the client went away mid-body (uWS's ClientGone, or node:http's 'aborted'). */
export function isClientGone(error: unknown): boolean {
  if (error instanceof ClientGone) return true;
  const e = error as NodeJS.ErrnoException | null;
  return e !== null && typeof e === 'object' && e.code === 'ECONNRESET' && e.message === 'aborted';
}

/**
 * Never sent (the client is gone); it is what the access log records for the request. 400, as
 * the request never arrived whole.
 */
const INCOMPLETE: Response = Object.freeze({ status: 400, body: '{"detail":"The client closed the connection before sending the whole body."}' });

/**
 * The reporter an engine hands to callApp: a client that left mid-body goes to `onClientGone`
 * (one line), everything else to the host's reporter.
 */
export function reporterFor(report: ErrorReporter, onClientGone: ((request: Request) => void) | undefined): ErrorReporter {
  return (error, request) => {
    if (!isClientGone(error)) return report(error, request);
    onClientGone?.(request);
    return INCOMPLETE;
  };
}
