/**
 * Node's own floor for the TLS scenarios of `npm run bench:edge -- --bare-tls`: a node:tls server
 * with the front's certificate handling (the same secure context options, session tickets renewed
 * as the front renews them) answering every request with the ping response's bytes, in one of two
 * forms:
 *
 *   bare  reads nothing but the end of each head and whether it says `Connection: close`: what
 *         node:tls itself costs per handshake and per request;
 *   wire  the front's HTTP/1.1 server (wire/http1: parsing, limits, deadlines, keep-alive, the
 *         close), with a handler that answers at once: what the wire layer adds on top.
 *
 * The front adds the proxying (the upstream hop, the forwarded head, the request id) on top of
 * `wire`, so no front on node:tls does more handshakes per second than `bare`.
 *
 *   node --import tsx bench/edge/bare-tls.ts bare|wire PORT CERT KEY
 */
import { createServer } from 'node:tls';
import { loadConfig } from '../../proxy/config.ts';
import { loadTlsCredentials } from '../../proxy/tls/credentials.ts';
import { prepareTlsServer, tlsServerOptions } from '../../proxy/tls/server.ts';
import type { Http1Handler } from '../../wire/http1/handler.ts';
import { Http1Server } from '../../wire/http1/server.ts';

const [mode, port, cert, key] = process.argv.slice(2);
if ((mode !== 'bare' && mode !== 'wire') || port === undefined || cert === undefined || key === undefined) {
  process.stderr.write('usage: bare-tls.ts bare|wire PORT CERT KEY\n');
  process.exit(2);
}
const options = tlsServerOptions(loadTlsCredentials({ cert, key, chain: null }), 30_000);
const BODY = '{"ok":true}';
process.on('SIGTERM', () => process.exit(0));

if (mode === 'bare') {
  const head = (close: boolean): string => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
  const KEEP = Buffer.from(head(false) + BODY, 'latin1');
  const CLOSE = Buffer.from(head(true) + BODY, 'latin1');
  const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;
  const server = createServer(options, (socket) => {
    socket.setNoDelay(true);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const close = CONNECTION_CLOSE.test(pending.slice(0, end));
        pending = pending.slice(end + 4);
        if (close) return void socket.end(CLOSE);
        socket.write(KEEP);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  prepareTlsServer(server, () => {});
  server.listen(Number(port), '127.0.0.1');
} else {
  const body = Buffer.from(BODY);
  const handler: Http1Handler = {
    onRequest: (_head, _body, res) => res.send(200, 'OK', ['Content-Type', 'application/json'], body),
    onRefused: () => '',
  };
  // The front's own client-side limits and timeouts, as `npm run proxy` resolves them by default
  // (the upstream is never used: the handler answers every request itself).
  const server = new Http1Server(loadConfig(['--upstream', '127.0.0.1:1', '--tls-cert', cert, '--tls-key', key], {}).client, handler, options);
  prepareTlsServer(server.tlsServer!, () => {});
  await server.listen('127.0.0.1', Number(port));
}
