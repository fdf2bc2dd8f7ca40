/**
 * The contract checker, our `wsgiref.validate`: wrap an app in it during tests and every
 * request and response crossing the seam is checked against app/SPEC.md. A violation throws a
 * ContractViolation naming the rule, so the test that tripped it fails with a useful message
 * (and a server would answer 500, as for any app bug).
 */
import type { App, Middleware, Request, Response, ResponseBody } from './interface.ts';
import { isFileBody } from './response.ts';
import { hasInvalidValueChar, isToken } from '../wire/syntax.ts';

/** A breach of the app interface contract, by either side. */
export class ContractViolation extends Error {
  constructor(side: 'request' | 'response', message: string) {
    super(`${side} breaks the app interface contract: ${message}`);
    this.name = 'ContractViolation';
  }
}

// Hop-by-hop fields belong to the server, never to the app (PEP 3333 forbids them too).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** Middleware that checks both sides of the contract on every call. */
export const validator: Middleware = (next: App): App => {
  const seen = new WeakSet<object>();
  return async (request: Request) => {
    checkRequest(request);
    // Throwing is allowed (it becomes 500 or the HttpError's answer), so errors pass through.
    const response = await next(request);
    checkResponse(request, response, seen);
    const body = response.body;
    if (typeof body === 'object' && body !== null && Symbol.asyncIterator in body) {
      return { ...response, body: checkedChunks(body) };
    }
    return response;
  };
};

/** Re-yield a streamed body, checking every chunk's type as the server pulls it. */
async function* checkedChunks(body: AsyncIterable<unknown>): AsyncIterable<Uint8Array | string> {
  for await (const chunk of body) {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      fail('response', `a streamed body yielded ${chunk === null ? 'null' : typeof chunk}, not bytes or a string`);
    }
    yield chunk;
  }
}

function fail(side: 'request' | 'response', message: string): never {
  throw new ContractViolation(side, message);
}

/** Check what a server handed to an app. */
export function checkRequest(request: Request): void {
  if (typeof request.method !== 'string' || !isToken(request.method)) fail('request', `method ${JSON.stringify(request.method)} is not an HTTP token`);
  if (typeof request.target !== 'string' || request.target.length === 0) fail('request', 'target must be a non-empty string');
  if (request.target !== '*' && !request.target.startsWith('/') && !/^https?:\/\//i.test(request.target)) {
    fail('request', `target ${JSON.stringify(request.target)} must be origin-form, absolute-form or "*"`);
  }
  if (request.target !== '*' && !request.path.startsWith('/')) fail('request', `path ${JSON.stringify(request.path)} must start with "/"`);
  if (request.path.includes('?')) {
    const raw = request.target.split('?', 1)[0]!;
    if (!raw.includes('%3F') && !raw.includes('%3f')) fail('request', 'path must not include the query string');
  }
  if (typeof request.query !== 'string') fail('request', 'query must be a string');
  for (const [name, value] of request.headers) {
    if (name !== name.toLowerCase()) fail('request', `header name ${JSON.stringify(name)} is not lower-case`);
    if (!isToken(name)) fail('request', `header name ${JSON.stringify(name)} is not a token`);
    if (typeof value !== 'string' || hasInvalidValueChar(value)) fail('request', `header ${name} has an illegal value`);
  }
  if (typeof request.body?.[Symbol.asyncIterator] !== 'function' || typeof request.body.bytes !== 'function') {
    fail('request', 'body must be an async iterable with bytes() and text()');
  }
  if (request.scheme !== 'http' && request.scheme !== 'https') fail('request', `scheme ${JSON.stringify(request.scheme)} is neither http nor https`);
  if (typeof request.client?.address !== 'string' || !Number.isInteger(request.client.port)) fail('request', 'client must be {address, port}');
  if (typeof request.server?.address !== 'string' || !Number.isInteger(request.server.port)) fail('request', 'server must be {address, port}');
  if (typeof request.state !== 'object' || request.state === null) fail('request', 'state must be an object');
}

/** Check what an app answered. `seen` catches one response object produced for two requests. */
export function checkResponse(request: Request, response: Response, seen?: WeakSet<object>): void {
  if (response === null || typeof response !== 'object') fail('response', `app returned ${String(response)}, not a response object`);
  if (seen !== undefined) {
    if (seen.has(response)) fail('response', 'the same response object was produced twice (build a new one per request)');
    seen.add(response);
  }
  const { status, headers, body } = response;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    fail('response', `status ${JSON.stringify(status)} must be an integer from 200 to 599 (1xx are the server's)`);
  }
  const names = new Set<string>();
  let declaredLength: number | undefined;
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) fail('response', 'headers must be a plain object of name → value');
    for (const [name, value] of Object.entries(headers)) {
      if (!isToken(name)) fail('response', `header name ${JSON.stringify(name)} is not a token`);
      const lower = name.toLowerCase();
      if (names.has(lower)) fail('response', `header ${name} is given twice with different case; use one name with an array value`);
      names.add(lower);
      if (HOP_BY_HOP.has(lower)) fail('response', `header ${name} is hop-by-hop: the server owns connection framing`);
      const values = typeof value === 'string' ? [value] : typeof value === 'number' ? [String(value)] : value;
      if (!Array.isArray(values)) fail('response', `header ${name} must be a string, a number or an array of strings`);
      for (const v of values) {
        if (typeof v !== 'string') fail('response', `header ${name} has a non-string value ${JSON.stringify(v)}`);
        if (hasInvalidValueChar(v)) fail('response', `header ${name} value contains CR, LF, NUL or another control character`);
      }
      if (lower === 'content-length') {
        if (values.length !== 1 || !/^\d+$/.test(values[0]!)) fail('response', 'content-length must be one non-negative integer');
        declaredLength = Number(values[0]);
      }
    }
  }
  checkBody(status, body, declaredLength, request.method);
}

function checkBody(status: number, body: ResponseBody, declaredLength: number | undefined, method: string): void {
  if (body === null || body === undefined) {
    if (declaredLength !== undefined && declaredLength !== 0 && method !== 'HEAD') fail('response', 'content-length is set but there is no body');
    return;
  }
  if ((status === 204 || status === 304) && !(typeof body === 'string' && body.length === 0)) {
    fail('response', `a ${status} response must not have a body`);
  }
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (declaredLength !== undefined && declaredLength !== length) {
      fail('response', `content-length ${declaredLength} does not match the body's ${length} bytes`);
    }
    return;
  }
  if (isFileBody(body)) {
    if (typeof body.path !== 'string' || !body.path.startsWith('/')) fail('response', 'a file body needs an absolute path');
    for (const key of ['offset', 'length'] as const) {
      const v = body[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) fail('response', `file body ${key} must be a non-negative integer`);
    }
    return;
  }
  if (typeof body === 'object' && typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return;
  fail('response', `body of type ${Array.isArray(body) ? 'array' : typeof body} is not null, a string, bytes, an async iterable or a file`);
}
