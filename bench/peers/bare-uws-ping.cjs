'use strict';
// Bare uWebSockets.js writing the same bytes as GET /api/ping/ on our engine: the yardstick for
// "our uWS engine ≥ 0.9× bare uWS". Loads the .node binary directly (the package's JS fallback
// would silently measure something else). PORT (default 9401).
const path = require('path');
const pkg = path.dirname(require.resolve('uWebSockets.js/package.json'));
const uWS = require(path.join(pkg, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`));
const port = Number(process.env.PORT || 9401);
uWS
  .App()
  .any('/*', (res) => {
    res.cork(() => {
      res.writeHeader('content-type', 'application/json').end('{"ok":true}');
    });
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) process.exit(3);
    console.log(`READY 127.0.0.1:${port} pid=${process.pid}`);
  });
