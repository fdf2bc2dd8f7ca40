/**
 * How one of this project's programs starts another (the stack its layers, the pool its workers,
 * the dev server its child): from the TypeScript sources through tsx, or from the compiled
 * JavaScript in dist/ that `npm start` builds first.
 *
 * Why two ways: tsx compiles on the fly in a loader thread that costs every process about 33 MB
 * of resident memory (bench/RESULTS.md: the stack's front idles at 82–84 MB under tsx, 54 MB
 * compiled). That is the right trade while developing (`npm run dev`, the tests) and the wrong
 * one for the production stack, where the supervisor, the front, the pool master and every
 * worker would pay it. A process knows which way it runs from its own file name: dist/ holds `.js`.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when this code runs as compiled JavaScript from dist/, false when tsx runs the TypeScript. */
export const COMPILED = import.meta.url.endsWith('.js');

/** The project's root folder (package.json, app/static/), whichever way the code runs. */
export const PROJECT_ROOT = fileURLToPath(new URL(COMPILED ? '../../' : '../', import.meta.url));

/** Where `npm run build` puts the compiled JavaScript (tsconfig.build.json). */
export const DIST = join(PROJECT_ROOT, 'dist');

/** Node's arguments for `npm run build` (tsc with tsconfig.build.json into dist/), for programs that build before they run. */
export const BUILD_ARGV: readonly string[] = [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(PROJECT_ROOT, 'tsconfig.build.json')];

/** How to run one of the project's modules in a new Node process. */
export interface NodeEntry {
  /** The file to run. */
  script: string;
  /** Node's flags before it (tsx's loader when running the TypeScript). */
  execArgv: string[];
}

/** The entry for the project module `source` (a path from the project root, like `proxy/cli.ts`), run the way this process runs. */
export function nodeEntry(source: string): NodeEntry {
  if (COMPILED) return { script: join(DIST, source.replace(/\.ts$/, '.js')), execArgv: [] };
  return { script: join(PROJECT_ROOT, source), execArgv: ['--import', import.meta.resolve('tsx')] };
}

/**
 * The file to import for an app module named on the command line (relative to the working
 * directory). Compiled processes cannot load TypeScript: a `.ts` file of this project maps to its
 * compiled twin in dist/; any other `.ts` file is an error that says what to do.
 */
export function importableModule(file: string): string {
  const absolute = resolve(file);
  if (!COMPILED || !absolute.endsWith('.ts')) return absolute;
  const inProject = relative(PROJECT_ROOT, absolute);
  const twin = join(DIST, inProject.replace(/\.ts$/, '.js'));
  if (!inProject.startsWith('..') && !isAbsolute(inProject) && existsSync(twin)) return twin;
  throw new Error(
    `${file} is TypeScript, and this server runs compiled JavaScript (npm start): compile the app and name its .js file, ` +
      'or run the app server from the sources through tsx (npm run serve)',
  );
}
