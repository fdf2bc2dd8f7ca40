/** Readiness probing: poll a layer over TCP or a unix socket until it answers a GET. */
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, type ParsedAddress } from '../options/grammar.ts';

/** node:https only when the front serves HTTPS: this process lives as long as the stack. */
const requireBuiltin = createRequire(import.meta.url);

/** How to reach a layer: its address, and whether it speaks HTTPS there. */
export interface ProbeTarget {
  address: ParsedAddress;
  tls?: boolean;
}

/** One GET; resolves with the status, rejects on a connection error or after 2 s. */
export function get(target: ProbeTarget, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { address } = target;
    const where = address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
    // Over TLS the probe checks that the child answers, not who it is: the certificate was checked at start.
    const get = target.tls === true ? (requireBuiltin('node:https') as typeof https).get : http.get;
    const req = get({ ...where, path, agent: false, timeout: 2000, headers: { host: 'localhost' }, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** Resolve once `path` answers 200 at `target`, trying every 100 ms; reject after `timeoutMs`. */
export async function waitUntilServing(target: ProbeTarget, path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await get(target, path)) === 200) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`nothing answered GET ${path} at ${formatAddress(target.address)}`);
}

/** Resolve if `host:port` can be bound right now; reject with a clear message if it is taken. */
export function checkPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use; choose another with --listen HOST:PORT (or PORT=…)` : `cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
