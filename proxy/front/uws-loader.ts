/**
 * Loading uWebSockets.js — loudly.
 *
 * The installed package (@trufflesuite/uws-js-unofficial under the alias "uWebSockets.js")
 * catches a failed native load, prints a warning and returns a slow pure-JS fallback. A front
 * that silently ran on the fallback would be a lie about its speed, so the `.node` binary for
 * this platform and Node ABI is required directly and any failure is thrown with the path tried.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as UwsTypes from 'uWebSockets.js';

/** The uWebSockets.js module type. */
export type Uws = typeof UwsTypes;

let loaded: Uws | null = null;

/** The native uWebSockets.js module; throws a clear error if the binary cannot be loaded. */
export function loadUws(): Uws {
  if (loaded !== null) return loaded;
  const require = createRequire(import.meta.url);
  let binary = '(package not found)';
  try {
    const packageDir = dirname(require.resolve('uWebSockets.js/package.json'));
    binary = join(packageDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
    loaded = require(binary) as Uws;
    return loaded;
  } catch (error) {
    throw new Error(`cannot load the uWebSockets.js native binary ${binary}: ${(error as Error).message}. Use --engine http instead.`);
  }
}
