/**
 * The raw-request corpus: one request (or a pipelined few) per `.http` file, exact bytes, with
 * the expected outcome beside it in `NAME.expect.json` — Gunicorn's tests/requests layout, in
 * our format. Any HTTP/1.1 server of the project (the front's engines, the app server's
 * engines) runs the same files: `loadRequestCorpus()` reads them, `sendRaw` sends one,
 * `startRecordingUpstream` stands behind a front and records what it forwards.
 *
 * requests/valid/NAME.expect.json:
 *   { "about": "…", "source": "gunicorn tests/requests/valid/001.http",
 *     "forwarded": [ { "method": "PUT", "target": "/stuff/here?foo=bar",
 *                      "headers": [["Content-Type", "application/json"]],   // must be present (name case-insensitive)
 *                      "absent": ["keep-alive"],                            // must not be present
 *                      "body": "…" } ],                                     // latin1 text of the bytes
 *     "closed": true }            // the server closes the connection after the last response
 *   Each request in `forwarded` is answered in order; a front forwards exactly these, an app
 *   server's handler sees exactly these.
 * requests/invalid/NAME.expect.json:
 *   { "about": "…", "status": 400, "kind": "content-length", "forwarded": [ …requests before it… ] }
 *   The requests in `forwarded` are answered, then the refusal with `status`, then the
 *   connection closes; nothing after the refused request is ever read. `kind` is the
 *   RequestFailureKind of wire/http1/failure.ts.
 * A `"front": {…}` or `"app": {…}` object overrides any of these fields for that layer.
 *
 * responses/valid/NAME.http holds an upstream's response (head, maybe body) and NAME.expect.json
 * what the front's response-head parser makes of it: { "status", "reason", "headers" (the
 * fields passed on, in order), "contentLength", "chunked", "keepAlive", "obsText" };
 * responses/invalid/NAME.expect.json: { "kind" } (a ResponseFailureKind of proxy/upstream/response-head.ts).
 *
 * Every file is sent whole; for the "incomplete" kind the client then half-closes its side, so
 * the request that stops early ends in a refusal instead of a timeout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestFailureKind } from '../../wire/http1/failure.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** One request as it must reach the upstream (front) or the handler (app server). */
export interface ExpectedRequest {
  method: string;
  target: string;
  /** Fields that must be present, value exact, name case-insensitive. */
  headers?: [string, string][];
  /** Lower-case names that must not be present. */
  absent?: string[];
  /** The body as latin1 text ('' for none). */
  body: string;
}

interface Outcome {
  forwarded: ExpectedRequest[];
  closed?: boolean;
  status?: number;
  kind?: RequestFailureKind;
}

/** One corpus file with its expected outcome for the chosen layer. */
export interface RequestCase extends Outcome {
  name: string;
  valid: boolean;
  about: string;
  source?: string;
  bytes: Buffer;
}

export type Layer = 'front' | 'app';

/** Every request case, with the overrides for `layer` applied; valid ones first, by name. */
export function loadRequestCorpus(layer: Layer): RequestCase[] {
  const cases: RequestCase[] = [];
  for (const folder of ['valid', 'invalid'] as const) {
    const dir = join(HERE, 'requests', folder);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.http')).sort()) {
      const name = file.slice(0, -5);
      const expect = JSON.parse(readFileSync(join(dir, `${name}.expect.json`), 'utf8')) as Outcome & { about: string; source?: string; front?: Partial<Outcome>; app?: Partial<Outcome> };
      const { front, app, ...base } = expect;
      const outcome = { ...base, ...(layer === 'front' ? front : app) };
      cases.push({ ...outcome, forwarded: outcome.forwarded ?? [], name, valid: folder === 'valid', bytes: readFileSync(join(dir, file)) });
    }
  }
  return cases;
}

/** One response-head file with what the parser must make of it. */
export interface ResponseCase {
  name: string;
  valid: boolean;
  about: string;
  bytes: Buffer;
  status?: number;
  reason?: string;
  headers?: [string, string][];
  contentLength?: number;
  chunked?: boolean;
  keepAlive?: boolean;
  obsText?: boolean;
  kind?: string;
}

/** Every response case, valid ones first, by name. */
export function loadResponseCorpus(): ResponseCase[] {
  const cases: ResponseCase[] = [];
  for (const folder of ['valid', 'invalid'] as const) {
    const dir = join(HERE, 'responses', folder);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.http')).sort()) {
      const name = file.slice(0, -5);
      const expect = JSON.parse(readFileSync(join(dir, `${name}.expect.json`), 'utf8')) as Omit<ResponseCase, 'name' | 'valid' | 'bytes'>;
      cases.push({ ...expect, name, valid: folder === 'valid', bytes: readFileSync(join(dir, file)) });
    }
  }
  return cases;
}

/** One parsed response from a raw exchange. */
export interface RawResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** What came back for one corpus file. */
export interface RawExchange {
  responses: RawResponse[];
  /** The server closed the connection. */
  closed: boolean;
  /** Bytes after the last complete response (should be none). */
  rest: Buffer;
}

/** Parse consecutive responses (Content-Length or no body; the servers under test never chunk these). */
function parseResponses(data: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = data.toString('latin1', at, end).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers = lines.slice(1).map((line): [string, string] => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
    if (status === 100) {
      at = end + 4;
      continue;
    }
    const length = Number(headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1] ?? 0);
    if (data.length < end + 4 + length) break;
    responses.push({ status, headers, body: data.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return { responses, rest: data.subarray(at) };
}

/**
 * Send `bytes` and collect responses until the server closes the connection, or `expected`
 * responses arrived and nothing more came for a moment (unless `closes`: then until the close,
 * however long a busy machine takes), or `quietMs` passed without data. `halfClose`: close the
 * sending side after the bytes (a client that stops mid-request).
 */
export function sendRaw(port: number, bytes: Buffer, expected: number, halfClose = false, closes = false, quietMs = 5000): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let closed = false;
    let settled = false;
    let timer = setTimeout(done, quietMs);
    function done(): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const { responses, rest } = parseResponses(Buffer.concat(chunks));
      resolve({ responses, closed, rest });
    }
    socket.on('connect', () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      clearTimeout(timer);
      const complete = parseResponses(Buffer.concat(chunks)).responses.length >= expected;
      timer = setTimeout(done, complete && !closes ? 150 : quietMs);
    });
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('error', () => {
      closed = true;
      done();
    });
  });
}

/** A request as the recording upstream received it. */
export interface RecordedRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: string;
  /** Why the bytes would be read differently by another parser ('' when they are clean). */
  problem: string;
}

/** A raw upstream that records exactly what it receives and answers 200 to each request. */
export interface RecordingUpstream {
  port: number;
  address: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Read one forwarded request strictly, the way a careful app server would: CRLF lines, token
 * names, no control characters, at most one Content-Length, no Transfer-Encoding (the front
 * re-frames every body with a length). Anything else is a `problem`: a request another parser
 * could read differently.
 */
function readForwarded(head: string, body: string): RecordedRequest {
  const lines = head.split('\r\n');
  const [method = '', target = '', version = ''] = lines[0]!.split(' ');
  const headers: [string, string][] = [];
  let problem = version === 'HTTP/1.1' && lines[0]!.split(' ').length === 3 ? '' : `request line ${JSON.stringify(lines[0])}`;
  let lengths = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (colon <= 0 || !TOKEN.test(name)) problem ||= `field line ${JSON.stringify(line.slice(0, 40))}`;
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f\n]/.test(value)) problem ||= `control character in ${name}`;
    const lower = name.toLowerCase();
    if (lower === 'content-length') lengths++;
    if (lower === 'transfer-encoding') problem ||= 'Transfer-Encoding forwarded';
    headers.push([name, value]);
  }
  if (lengths > 1) problem ||= 'more than one Content-Length';
  if (head.includes('\n') && head.split('\r\n').join('').includes('\n')) problem ||= 'bare LF';
  return { method, target, headers, body, problem };
}

/** Start a recording upstream on 127.0.0.1:0. */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.toString('latin1', 0, end);
        const match = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
        const length = match ? Number(match[1]) : 0;
        if (buffered.length < end + 4 + length) return;
        requests.push(readForwarded(head, buffered.toString('latin1', end + 4, end + 4 + length)));
        buffered = buffered.subarray(end + 4 + length);
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Differences between what a server received and what the case expects ([] when it matches). */
export function compareForwarded(expected: readonly ExpectedRequest[], received: readonly { method: string; target: string; headers: readonly [string, string][]; body: string }[]): string[] {
  const problems: string[] = [];
  if (received.length !== expected.length) {
    problems.push(`expected ${expected.length} request(s), got ${received.length}: ${received.map((r) => `${r.method} ${r.target}`).join(', ')}`);
  }
  expected.forEach((want, i) => {
    const got = received[i];
    if (got === undefined) return;
    if (got.method !== want.method) problems.push(`#${i}: method ${JSON.stringify(got.method)}, expected ${JSON.stringify(want.method)}`);
    if (got.target !== want.target) problems.push(`#${i}: target ${JSON.stringify(got.target)}, expected ${JSON.stringify(want.target)}`);
    if (got.body !== want.body) problems.push(`#${i}: body ${JSON.stringify(got.body.slice(0, 60))}, expected ${JSON.stringify(want.body.slice(0, 60))}`);
    for (const [name, value] of want.headers ?? []) {
      if (!got.headers.some(([n, v]) => n.toLowerCase() === name.toLowerCase() && v === value)) problems.push(`#${i}: missing ${name}: ${value}`);
    }
    for (const name of want.absent ?? []) {
      if (got.headers.some(([n]) => n.toLowerCase() === name)) problems.push(`#${i}: ${name} should not be there`);
    }
  });
  return problems;
}
