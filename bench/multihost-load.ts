/**
 * The load half of `npm run bench:multihost`, run inside the front's network namespace:
 *
 *   node --import tsx bench/multihost-load.ts <base URL> hello|login <seconds> <connections> <username> <password>
 *
 * Logins cycle over the users <username>0 … <username><connections - 1>, one per connection.
 * Prints one JSON line: {"requests":N,"seconds":S,"non2xx":N,"errors":N}.
 */
import { runAutocannon } from './loaders/autocannon.ts';

const [base = '', scenario = 'hello', seconds = '5', connections = '20', username = '', password = ''] = process.argv.slice(2);
const credentials = JSON.stringify({ username: `${username}0`, password });
const options: Record<string, unknown> = { url: base, duration: Number(seconds), connections: Number(connections) };
if (scenario === 'hello') {
  const res = await fetch(`${base}/api/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: credentials });
  if (res.status !== 200) throw new Error(`login answered ${res.status}`);
  const { access } = (await res.json()) as { access: string };
  options.requests = [{ method: 'GET', path: '/api/hello/', headers: { authorization: `Bearer ${access}` } }];
} else {
  let next = 0;
  const bodies = Array.from({ length: Number(connections) }, (_, i) => JSON.stringify({ username: `${username}${i}`, password }));
  options.requests = [
    {
      method: 'POST',
      path: '/api/token/',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request: Record<string, unknown>) => ({ ...request, body: bodies[next++ % bodies.length] }),
    },
  ];
}
const result = await runAutocannon(options);
process.stdout.write(`${JSON.stringify({ requests: result.requests.total, seconds: result.duration, non2xx: result.non2xx, errors: result.errors })}\n`);
