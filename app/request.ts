/**
 * The one implementation of the Request interface, shared by every engine and the test client so
 * that an app sees byte-for-byte the same request whichever host runs it. Everything derived from
 * the request line (path, query, params) is computed on first use: a route that never asks pays
 * nothing.
 */
import { HttpError } from './errors.ts';
import type { RequestHeaders } from './headers.ts';
import type { Endpoint, Request, RequestBody, RequestState } from './interface.ts';

/** What a host knows about one request before the app runs. */
export interface RequestInit {
  method: string;
  target: string;
  headers: RequestHeaders;
  body: RequestBody;
  client: Endpoint;
  server: Endpoint;
  scheme?: 'http' | 'https';
  httpVersion?: string;
}

/** A Request built by a host from what it parsed off the wire (or, in tests, from memory). */
export class HostedRequest implements Request {
  readonly method: string;
  readonly target: string;
  readonly headers: RequestHeaders;
  readonly body: RequestBody;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly scheme: 'http' | 'https';
  readonly httpVersion: string;
  #state: RequestState | undefined;
  #path: string | undefined;
  #query: string | undefined;
  #params: URLSearchParams | undefined;

  constructor(init: RequestInit) {
    this.method = init.method;
    this.target = init.target;
    this.headers = init.headers;
    this.body = init.body;
    this.client = init.client;
    this.server = init.server;
    this.scheme = init.scheme ?? 'http';
    this.httpVersion = init.httpVersion ?? '1.1';
  }

  get state(): RequestState {
    return (this.#state ??= {});
  }

  get path(): string {
    if (this.#path === undefined) this.#split();
    return this.#path!;
  }

  get query(): string {
    if (this.#query === undefined) this.#split();
    return this.#query!;
  }

  get params(): URLSearchParams {
    return (this.#params ??= new URLSearchParams(this.query));
  }

  #split(): void {
    let target = this.target;
    // absolute-form (RFC 9112 §3.2.2): keep only the path and query.
    if (target.charCodeAt(0) !== 47 /* / */ && target !== '*') {
      const scheme = target.indexOf('://');
      if (scheme > 0) {
        const slash = target.indexOf('/', scheme + 3);
        target = slash < 0 ? '/' : target.slice(slash);
      }
    }
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    this.#query = q < 0 ? '' : target.slice(q + 1);
    this.#path = decodePath(rawPath);
  }
}

/** Percent-decode a path once; malformed escapes and NUL bytes are the client's error (400). */
export function decodePath(raw: string): string {
  if (raw.indexOf('%') < 0) return raw;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `Malformed percent-encoding in path: ${raw.slice(0, 200)}`);
  }
  if (decoded.includes('\0')) throw new HttpError(400, 'NUL byte in path');
  return decoded;
}
