/**
 * Errors that carry an HTTP answer. An app (or a helper such as body.bytes()) throws an HttpError
 * to say "answer this status"; any other thrown value is a bug and becomes a 500.
 */
import type { App, Request, Response, ResponseHeaders } from './interface.ts';

/** An error with a status and a client-safe message; servers answer it instead of a 500. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: ResponseHeaders | undefined;

  constructor(status: number, message: string, headers?: ResponseHeaders) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }

  /** The response that answers this error: a JSON body `{"detail": message}`. */
  toResponse(): Response {
    return {
      status: this.status,
      headers: { 'content-type': 'application/json', ...this.headers },
      body: JSON.stringify({ detail: this.message }),
    };
  }
}

/** The plain 500 a client sees when an app fails: no stack trace, no internals. */
export const INTERNAL_ERROR: Response = Object.freeze({
  status: 500,
  headers: Object.freeze({ 'content-type': 'application/json' }),
  body: '{"detail":"Internal server error. The failure was logged by the server."}',
});

/** How a host reports an app's failure (servers log; the dev server also renders a debug page). */
export type ErrorReporter = (error: unknown, request: Request) => Response | void;

/**
 * Turn whatever an app threw into the response to send: HttpError → its own answer; anything
 * else → reported, then the reporter's page (dev) or the plain 500.
 */
export function responseForError(error: unknown, request: Request, report: ErrorReporter): Response {
  if (error instanceof HttpError) return error.toResponse();
  return report(error, request) ?? INTERNAL_ERROR;
}

/** Check the few things a server needs before it can send what an app returned. */
export function isSendable(value: unknown): value is Response {
  if (value === null || typeof value !== 'object') return false;
  const status = (value as Response).status;
  return Number.isInteger(status) && status >= 200 && status <= 599;
}

/**
 * Call an app and always come back with a response: thrown errors, rejected promises and
 * garbage return values are all turned into an answer here, in one place for every host.
 */
export function callApp(app: App, request: Request, report: ErrorReporter): Response | Promise<Response> {
  let result: Response | Promise<Response>;
  try {
    result = app(request);
  } catch (error) {
    return responseForError(error, request, report);
  }
  if (result instanceof Promise) {
    return (result as Promise<Response>).then(
      (value) => checked(value, request, report),
      (error: unknown) => responseForError(error, request, report),
    );
  }
  return checked(result as Response, request, report);
}

function checked(value: unknown, request: Request, report: ErrorReporter): Response {
  if (isSendable(value)) return value;
  const shown = value === null || typeof value !== 'object' ? String(value) : JSON.stringify(value)?.slice(0, 200);
  return responseForError(new TypeError(`app returned something that is not a response: ${shown}`), request, report);
}
