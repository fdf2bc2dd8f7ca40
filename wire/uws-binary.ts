/**
 * Loads the native uWebSockets.js binary, and only that. The npm package (installed as an alias
 * of @trufflesuite/uws-js-unofficial) catches a failed binary load, prints a warning and hands
 * back a slow pure-JS server instead; a production server must not quietly become another
 * server, so we require the .node file ourselves and let a failure stop the process. The app
 * server's engine, the front's uWS listener and the bench's bare peer all load it through here.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as UWS from 'uWebSockets.js';

const require = createRequire(import.meta.url);

/** The uWebSockets.js module type, from the package's own declarations. */
export type UwsModule = typeof UWS;

function load(): UwsModule {
  const packageDir = dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = join(packageDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    return require(binary) as UwsModule;
  } catch (error) {
    throw new Error(
      `uWebSockets.js: cannot load the native binary ${binary} (Node ABI ${process.versions.modules}, ` +
        `${process.platform}-${process.arch}): ${(error as Error).message}. Use --engine http, or install a ` +
        `uWebSockets.js build for this platform.`,
      { cause: error },
    );
  }
}

let loaded: UwsModule | undefined;

/**
 * The native module, loaded on first call (so a node:http process never maps it); throws a
 * clear error if the binary cannot be loaded.
 */
export function loadUws(): UwsModule {
  return (loaded ??= load());
}
