/**
 * Bare node:http: GET /api/ping/ answers the same bytes as the demo app's ping
 * ({"ok":true}, application/json), with nothing in between. The yardstick for the app interface
 * on the node:http engine. HOST/PORT from the environment.
 */
import { createServer } from 'node:http';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 0);
const PONG = Buffer.from('{"ok":true}');

const server = createServer((req, res) => {
  if (req.url === '/api/ping/' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': PONG.length });
    res.end(PONG);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 9 });
  res.end('not found');
});
server.keepAliveTimeout = 65_000;
server.on('error', (error) => {
  console.error(`bare node:http: cannot listen on ${host}:${port}: ${error.message}`);
  process.exit(3);
});
server.listen(port, host, () => console.log(`bare node:http listening on http://${host}:${port}/`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
