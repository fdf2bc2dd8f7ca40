/**
 * Errors that carry an HTTP answer. An app (or a helper such as body.bytes()) throws an HttpError
 * to say "answer this status"; any other thrown value is a bug and becomes a 500.
 */
import type { App, FileBody, Request, Response, ResponseHeaders } from './interface.ts';

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

/**
 * Why a value an app returned cannot be sent, or null when it can: a status from 200 to 599,
 * headers as an object of strings, numbers or lists of strings, and a body of a kind the
 * interface names. Checked once here, for every host, because an engine that met a number as a
 * body or an object as a header value would fail halfway through writing the response.
 * (Whether a header's text is legal on the wire, the engines check as they write it.)
 */
export function responseProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return 'not an object';
  const { status, headers, body } = value as Response;
  if (!Number.isInteger(status) || status < 200 || status > 599) return `status ${String(status)} is not an integer from 200 to 599`;
  if (headers !== undefined) {
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return 'headers are not an object';
    for (const name in headers) {
      const v = headers[name];
      if (typeof v === 'string' || typeof v === 'number') continue;
      if (!Array.isArray(v)) return `header ${JSON.stringify(name)} is ${v === null ? 'null' : typeof v}, not a string, number or list of strings`;
      for (const item of v) if (typeof item !== 'string') return `header ${JSON.stringify(name)} holds a ${typeof item}, not a string`;
    }
  }
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) return null;
  if (typeof body !== 'object') return `body is a ${typeof body}`;
  if ((body as FileBody).kind === 'file') {
    const { path, offset, length } = body as FileBody;
    if (typeof path !== 'string') return 'file body without a path';
    if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0)) return 'file body offset is not a whole number';
    if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) return 'file body length is not a whole number';
    return null;
  }
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') return 'body is an object that is neither a file nor an async iterable';
  return null;
}

/** Whether a value an app returned can be sent (see responseProblem). */
export function isSendable(value: unknown): value is Response {
  return responseProblem(value) === null;
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
  const problem = responseProblem(value);
  if (problem === null) return value as Response;
  const shown = value === null || typeof value !== 'object' ? String(value) : safeJson(value);
  return responseForError(new TypeError(`app returned something that is not a response (${problem}): ${shown}`), request, report);
}

/** A short rendering for the log; an object JSON cannot show (a cycle, a BigInt) is named only. */
function safeJson(value: object): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
