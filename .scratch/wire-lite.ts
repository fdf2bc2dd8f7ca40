import { Http1Server } from '../wire/http1/server.ts';
import { loadTlsCredentials } from '../proxy/tls/credentials.ts';
import { prepareTlsServer, tlsServerOptions } from '../proxy/tls/server.ts';
const [port, cert, key] = process.argv.slice(2);
const BODY = Buffer.from('{"ok":true}');
const server = new Http1Server(
  { maxHeaderSize: 16384, maxRequestLine: 8190, maxHeaderFields: 100, maxBodySize: 1 << 20, headerTimeoutMs: 30000, bodyTimeoutMs: 60000, keepAliveTimeoutMs: 75000, sendTimeoutMs: 60000 } as any,
  { onRequest(head, body, res) { res.send(200, 'OK', ['Content-Type', 'application/json'], BODY); }, onRefused() { return ''; } } as any,
  tlsServerOptions(loadTlsCredentials({ cert: cert!, key: key!, chain: null }), 30000),
);
prepareTlsServer(server.tlsServer!, () => {});
await server.listen('127.0.0.1', Number(port));
process.on('SIGTERM', () => process.exit(0));
