// `npm start`: build the TypeScript into dist/, then run the stack from dist/ in this process.
// `--help` and `--print-config` have no side effects, so they are answered from the sources
// without building. (Plain JavaScript: this file runs before anything is compiled.)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const options = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
if (options.some((arg) => arg === '--help' || arg === '-h' || arg === '--print-config')) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'stack/cli.ts'), ...argv], { stdio: 'inherit', cwd: process.cwd() });
  process.exit(run.status ?? 1);
}
const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
await import(pathToFileURL(join(root, 'dist/stack/cli.js')).href);
