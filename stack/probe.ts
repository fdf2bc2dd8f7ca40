/** Readiness probing: poll a layer over TCP or a unix socket until it answers a GET. */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where a layer listens: a TCP host and port (`tls`: speaking HTTPS), or a unix socket path. */
export type Address = { host: string; port: number; tls?: boolean } | { socketPath: string };

/** One GET; resolves with the status, rejects on a connection error or after 2 s. */
export function get(address: Address, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // Over TLS the probe checks that the child answers, not who it is: the certificate was checked at start.
    const tls = 'tls' in address && address.tls === true;
    const get = tls ? https.get : http.get;
    const req = get({ ...address, path, agent: false, timeout: 2000, headers: { host: 'localhost' }, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** Resolve once `path` answers 200 at `address`, trying every 100 ms; reject after `timeoutMs`. */
export async function waitUntilServing(address: Address, path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await get(address, path)) === 200) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`nothing answered GET ${path} at ${'socketPath' in address ? address.socketPath : `${address.host}:${address.port}`}`);
}
