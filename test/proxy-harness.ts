/**
 * Shared pieces for the test/proxy-*.test.ts files: a recording upstream, an in-process front on
 * a free port, and clients (node:http for ordinary requests, raw sockets for bytes no well-behaved
 * client would send). Everything binds 127.0.0.1:0 and is closed by the caller's t.after / after.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { configFrom } from '../proxy/config.ts';
import { startFront } from '../proxy/front.ts';
import type { RunningFront } from '../proxy/front.ts';

/** The client-side engines every behaviour is checked on. */
export const ENGINES = ['net', 'http'] as const;

/** One request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** A node:http upstream that records requests; `handler` may answer itself (default: JSON echo). */
export interface TestUpstream {
  port: number;
  address: string;
  requests: SeenRequest[];
  server: http.Server;
  /** TCP connections accepted so far, and those open now. */
  accepted: number;
  open: number;
  close(): Promise<void>;
}

export type UpstreamHandler = (seen: SeenRequest, req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Start a recording upstream on 127.0.0.1:0 (or a unix socket path). */
export async function startUpstream(handler?: UpstreamHandler, socketPath?: string): Promise<TestUpstream> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      if (handler) return handler(seen, req, res);
      const body = JSON.stringify({ ok: true, method: seen.method, url: seen.url });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 75_000;
  const upstream: TestUpstream = {
    port: 0,
    address: '',
    requests,
    server,
    accepted: 0,
    open: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket: net.Socket) => {
    upstream.accepted++;
    upstream.open++;
    socket.on('close', () => upstream.open--);
  });
  await new Promise<void>((resolve) => (socketPath ? server.listen(socketPath, resolve) : server.listen(0, '127.0.0.1', resolve)));
  if (socketPath) upstream.address = `unix:${socketPath}`;
  else {
    upstream.port = (server.address() as net.AddressInfo).port;
    upstream.address = `127.0.0.1:${upstream.port}`;
  }
  return upstream;
}

/** A front started in-process on a free port, with its error log captured. */
export interface TestFront {
  front: RunningFront;
  port: number;
  errors: string[];
  close(): Promise<void>;
}

/** Start a front with option overrides (names as the CLI flags); access log off unless given. */
export async function startTestFront(engine: string, overrides: Record<string, string | number | boolean | string[]>): Promise<TestFront> {
  const config = configFrom({ listen: '127.0.0.1:0', 'access-log': 'off', 'front-engine': engine, ...overrides });
  const errors: string[] = [];
  const front = await startFront(config, (line) => errors.push(line));
  return { front, port: front.port, errors, close: () => front.close(2000) };
}

/** A response as the tests look at it. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

/** One request with node:http, no keep-alive agent (each test controls its own connections). */
export function request(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What came back on a raw socket: the bytes, and whether the front closed the connection. */
export interface RawReply {
  text: string;
  status: number | null;
  closed: boolean;
}

/**
 * Send raw bytes and collect the answer until the front closes the connection or `quietMs` pass
 * without data (a kept-alive connection after a complete response).
 */
export function rawRequest(port: number, bytes: string | Buffer, quietMs = 300): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout = setTimeout(done, quietMs * 4);
    function done(): void {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      socket.destroy();
      resolve({ text, status: match ? Number(match[1]) : null, closed });
    }
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      done();
    });
  });
}

/** Poll `check` until it holds (or fail after `ms`): for effects that land after a response. */
export async function eventually(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw TCP upstream: `respond` gets each request head (as text) and writes whatever bytes it likes. */
export interface RawUpstream {
  port: number;
  address: string;
  heads: string[];
  accepted: number;
  open: number;
  close(): Promise<void>;
}

/** Start a raw upstream; bodies are not read (use it for GET/HEAD). */
export async function startRawUpstream(respond: (head: string, socket: net.Socket, index: number) => void): Promise<RawUpstream> {
  const sockets = new Set<net.Socket>();
  const upstream: RawUpstream = {
    port: 0,
    address: '',
    heads: [],
    accepted: 0,
    open: 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    upstream.accepted++;
    upstream.open++;
    socket.on('close', () => {
      upstream.open--;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        upstream.heads.push(head);
        respond(head, socket, upstream.heads.length - 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.port = (server.address() as net.AddressInfo).port;
  upstream.address = `127.0.0.1:${upstream.port}`;
  return upstream;
}
