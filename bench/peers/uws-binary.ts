/**
 * The native uWebSockets.js module, loaded from its .node file. The npm package falls back to a
 * slow pure-JS server when the binary fails to load and only prints a warning; a peer baseline
 * must never silently be that fallback, so this throws instead (shared/reference/peers/lib/uws.js).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('uWebSockets.js/package.json'));
const binary = join(packageDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);

/** The few uWS calls the bare peer uses. */
export interface UwsResponse {
  cork(fn: () => void): UwsResponse;
  writeHeader(name: string, value: string): UwsResponse;
  writeStatus(status: string): UwsResponse;
  end(body?: string | Buffer): UwsResponse;
}
/** A uWS app (the subset used here). */
export interface UwsApp {
  get(pattern: string, handler: (res: UwsResponse) => void): UwsApp;
  any(pattern: string, handler: (res: UwsResponse) => void): UwsApp;
  listen(host: string, port: number, callback: (token: unknown) => void): UwsApp;
}

/** The native module (throws when the binary cannot be loaded). */
export const uws = require(binary) as { App(): UwsApp };
