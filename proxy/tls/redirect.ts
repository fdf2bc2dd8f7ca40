/**
 * The plain-HTTP listener of a TLS front (`--redirect-http HOST:PORT`): every request is answered
 * `301 Moved Permanently` to the same host and target over HTTPS, like Nginx's
 * `return 301 https://$host$request_uri;`. Nothing is proxied or served over plain HTTP.
 *
 * The Host header decides the redirect's host, so it is checked (a name or an IP literal, with an
 * optional port that is replaced by the HTTPS port): a missing or malformed one gets 400, never a
 * Location built from arbitrary bytes.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TEXT_PLAIN } from '../../wire/plain-reply.ts';

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::\d{1,5})?$/;

/** Settings of the redirect listener. */
export interface RedirectOptions {
  /** The HTTPS port clients are sent to (omitted from the URL when 443). */
  httpsPort: number;
  /** Milliseconds to receive a request head; idle keep-alive connections close after `keepAliveTimeoutMs`. */
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderSize: number;
  /** Strict-Transport-Security is NOT sent here: RFC 6797 §7.2 forbids it over plain HTTP. */
  log: (line: string) => void;
}

/** The Location for a request to `host` (Host header) and `target`, or null when Host is unusable. */
export function httpsLocation(host: string | undefined, target: string, httpsPort: number): string | null {
  const match = host === undefined ? null : HOST.exec(host.trim());
  if (match === null) return null;
  const path = target.startsWith('/') ? target : '/';
  return `https://${match[1]}${httpsPort === 443 ? '' : `:${httpsPort}`}${path}`;
}

function answer(req: IncomingMessage, res: ServerResponse, options: RedirectOptions): void {
  const location = httpsLocation(req.headers.host, req.url ?? '/', options.httpsPort);
  const status = location === null ? 400 : 301;
  const body = location === null ? 'Bad request: a valid Host header is needed to redirect to HTTPS.\n' : `Moved permanently to ${location}\n`;
  const headers: string[] = ['Content-Type', TEXT_PLAIN, 'Content-Length', String(Buffer.byteLength(body)), 'X-Request-Id', randomUUID()];
  if (location !== null) headers.push('Location', location);
  else res.shouldKeepAlive = false;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A running redirect listener. */
export interface RedirectListener {
  readonly port: number;
  close(): void;
}

/** Start the redirect listener on `host:port`; rejects if the address cannot be bound. */
export function startRedirect(host: string, port: number, options: RedirectOptions): Promise<RedirectListener> {
  const server = http.createServer(
    {
      maxHeaderSize: options.maxHeaderSize,
      headersTimeout: options.headerTimeoutMs,
      requestTimeout: options.headerTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, options.headerTimeoutMs / 4)),
    },
    (req, res) => {
      // A body is never wanted here; it is read and dropped so keep-alive stays in step.
      req.resume();
      answer(req, res, options);
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    options.log(`redirect listener: refused a request from ${socket.remoteAddress ?? '-'}: ${error.code ?? error.message}`);
    if (socket.writable && error.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : port,
        close(): void {
          server.close();
          server.closeAllConnections();
        },
      });
    });
  });
}
