'use strict';
// Bare node:http writing the same bytes as GET /api/ping/ on our engine: the yardstick for
// "our node:http engine ≥ 0.9× bare node:http". PORT (default 9402).
const http = require('http');
const port = Number(process.env.PORT || 9402);
const body = '{"ok":true}';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1', () => console.log(`READY 127.0.0.1:${port} pid=${process.pid}`));
