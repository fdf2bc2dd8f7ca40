/**
 * The seam between apps and servers: our WSGI. Read app/SPEC.md for the prose contract;
 * this file holds only the types both sides compile against.
 *
 * An App is a function from a Request to a Response (or a promise of one). Servers build the
 * Request from the wire and put the Response back on it; apps never see a socket.
 */
import type { RequestHeaders } from './headers.ts';

/** Per-request bag for middleware; augment it with `declare module` to type your keys. */
export interface RequestState {
  [key: string]: unknown;
}

/** The request body: an async iterable of bytes, plus bounded read-all helpers. */
export interface RequestBody extends AsyncIterable<Uint8Array> {
  /** Declared Content-Length, or null when the body is chunked (or absent with no header). */
  readonly length: number | null;
  /** Read the whole body; rejects with HttpError 413 past `limit` bytes (default: the server's limit). */
  bytes(limit?: number): Promise<Buffer>;
  /** The whole body decoded as UTF-8, bounded like bytes(). */
  text(limit?: number): Promise<string>;
}

/** Where a request came from or arrived at. `port` is 0 on a unix socket. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** What a server gives an app: everything about one HTTP request, already parsed. */
export interface Request {
  /** Method exactly as sent (servers reject lower-case or non-token methods with 400). */
  readonly method: string;
  /** The raw request-target from the request line, undecoded ("/a%20b?x=1"). */
  readonly target: string;
  /** The path, percent-decoded once; never includes the query. Throws HttpError 400 if undecodable. */
  readonly path: string;
  /** The query string without '?', undecoded; '' when absent. */
  readonly query: string;
  /** The query parsed as application/x-www-form-urlencoded (lazy, repeated keys kept). */
  readonly params: URLSearchParams;
  /** Header fields: lower-cased names, repeated fields preserved in arrival order. */
  readonly headers: RequestHeaders;
  /** The body, streamed. Reading it past the server's body limit fails with HttpError 413. */
  readonly body: RequestBody;
  /** The peer that sent the request (the front, when behind one). */
  readonly client: Endpoint;
  /** 'http' or 'https' as the server knows it (a server may trust a proxy's X-Forwarded-Proto). */
  readonly scheme: 'http' | 'https';
  /** The local address the request arrived on. */
  readonly server: Endpoint;
  /** HTTP version as "1.1" or "1.0". */
  readonly httpVersion: string;
  /** Mutable per-request state; middleware puts what it learns here (e.g. the authenticated user). */
  readonly state: RequestState;
}

/** One header value; an array sends the field once per element (e.g. Set-Cookie). */
export type HeaderValue = string | number | readonly string[];

/** Response headers by name. Names are case-insensitive; give each name once. */
export type ResponseHeaders = Readonly<Record<string, HeaderValue>>;

/** A file the server should send itself (sendfile-style), optionally a byte slice of it. */
export interface FileBody {
  readonly kind: 'file';
  /** Absolute path of a regular file. */
  readonly path: string;
  /** First byte to send (default 0). */
  readonly offset?: number;
  /** Number of bytes to send (default: to the end of the file). */
  readonly length?: number;
}

/** What an app may answer with as a body. */
export type ResponseBody =
  | null
  | undefined
  | string
  | Uint8Array
  | AsyncIterable<Uint8Array | string>
  | FileBody;

/** What an app returns: status, headers, body. The server does framing, Date and HEAD. */
export interface Response {
  readonly status: number;
  readonly headers?: ResponseHeaders;
  readonly body?: ResponseBody;
}

/** An application: one request in, one response out. */
export type App = (request: Request) => Response | Promise<Response>;

/** Middleware wraps an app to make another app. */
export type Middleware = (next: App) => App;
