/**
 * Bare uWebSockets.js: GET /api/ping/ answers the same bytes as the demo app's ping
 * ({"ok":true}, application/json), with nothing in between. The yardstick for the app interface
 * on the uWS engine. HOST/PORT from the environment.
 */
import { loadUws } from '../../wire/uws-binary.ts';

const uws = loadUws();

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 0);
const PONG = '{"ok":true}';

uws
  .App()
  .get('/api/ping/', (res) => {
    res.cork(() => {
      res.writeHeader('content-type', 'application/json').end(PONG);
    });
  })
  .any('/*', (res) => {
    res.cork(() => {
      res.writeStatus('404 Not Found').end('not found');
    });
  })
  .listen(host, port, (token) => {
    if (!token) {
      console.error(`bare uWS: cannot listen on ${host}:${port}`);
      process.exit(3);
    }
    console.log(`bare uWS listening on http://${host}:${port}/`);
  });
process.on('SIGTERM', () => process.exit(0));
