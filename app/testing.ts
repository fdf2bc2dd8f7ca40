/**
 * The in-process test client: call any app with a request built in memory, no sockets (the
 * analogue of Django's and Werkzeug's test clients). It goes through the same callApp path as
 * the servers, so a thrown error becomes the same 500 a client would see — unless
 * `raiseErrors` (the default, as in Django) asks for the error itself, which is what a test
 * usually wants to read.
 */
import { readFile } from 'node:fs/promises';
import { bufferedBody } from './body.ts';
import { callApp } from './errors.ts';
import { RequestHeaders } from './headers.ts';
import type { App, Endpoint, Response } from './interface.ts';
import { HostedRequest } from './request.ts';
import { isFileBody } from './response.ts';

/** How to build one in-memory request. */
export interface TestRequestOptions {
  /** Header fields; an array value sends the field once per element. */
  headers?: Record<string, string | string[]>;
  /** Raw body. */
  body?: string | Uint8Array;
  /** A value to send as JSON (sets Content-Type: application/json). */
  json?: unknown;
  /** Fields to send form-encoded (sets Content-Type: application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** Client address the app sees (default 127.0.0.1). */
  client?: string;
  /** Scheme the app sees (default http). */
  scheme?: 'http' | 'https';
  /** Body limit the simulated server enforces (default 1 MiB). */
  maxBodySize?: number;
}

/** Client-wide defaults. */
export interface TestClientOptions {
  /** Re-throw an app's error instead of answering 500 (default true). */
  raiseErrors?: boolean;
  /** Headers sent with every request (per-request headers win). */
  headers?: Record<string, string>;
}

/** What a test reads back: status, lower-cased headers, and the body fully read. */
export class TestResponse {
  constructor(
    readonly status: number,
    /** Header values by lower-cased name, in the order the app gave them. */
    readonly headers: Readonly<Record<string, readonly string[]>>,
    readonly body: Buffer,
  ) {}

  /** One header, repeated values joined with ", "; undefined when absent. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.join(', ');
  }

  /** The body as UTF-8 text. */
  get text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON. */
  json<T = any>(): T {
    return JSON.parse(this.text) as T;
  }
}

const SERVER: Endpoint = Object.freeze({ address: '127.0.0.1', port: 80 });

/** Calls an app in memory. */
export class TestClient {
  readonly #app: App;
  readonly #options: TestClientOptions;

  constructor(app: App, options: TestClientOptions = {}) {
    this.#app = app;
    this.#options = options;
  }

  get(target: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request('GET', target, options);
  }
  head(target: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request('HEAD', target, options);
  }
  post(target: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request('POST', target, options);
  }
  put(target: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request('PUT', target, options);
  }
  delete(target: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request('DELETE', target, options);
  }
  options(target: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request('OPTIONS', target, options);
  }

  /** Send one request and read the whole response. */
  async request(method: string, target: string, options: TestRequestOptions = {}): Promise<TestResponse> {
    const fields: Record<string, string | string[]> = { host: 'testserver', ...this.#options.headers };
    let body: string | Uint8Array | null = options.body ?? null;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      fields['content-type'] = 'application/json';
    } else if (options.form !== undefined) {
      body = new URLSearchParams(options.form).toString();
      fields['content-type'] = 'application/x-www-form-urlencoded';
    }
    Object.assign(fields, lowerKeys(options.headers ?? {}));
    if (body !== null && fields['content-length'] === undefined) {
      fields['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    }
    const request = new HostedRequest({
      method,
      target,
      headers: RequestHeaders.from(fields),
      body: bufferedBody(body, options.maxBodySize ?? 1024 * 1024),
      client: { address: options.client ?? '127.0.0.1', port: 50000 },
      server: SERVER,
      scheme: options.scheme ?? 'http',
    });
    const raise = this.#options.raiseErrors ?? true;
    const response = await callApp(this.#app, request, (error) => {
      if (raise) throw error;
    });
    return read(response, method === 'HEAD');
  }
}

function lowerKeys(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

async function read(response: Response, head: boolean): Promise<TestResponse> {
  const headers: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    const values = typeof value === 'string' ? [value] : typeof value === 'number' ? [String(value)] : [...value];
    (headers[name.toLowerCase()] ??= []).push(...values);
  }
  const body = response.body;
  let bytes: Buffer;
  if (body === null || body === undefined || head) bytes = Buffer.alloc(0);
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else if (body instanceof Uint8Array) bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (isFileBody(body)) {
    const whole = await readFile(body.path);
    const offset = body.offset ?? 0;
    bytes = whole.subarray(offset, body.length === undefined ? undefined : offset + body.length);
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    bytes = Buffer.concat(chunks);
  }
  return new TestResponse(response.status, headers, bytes);
}
