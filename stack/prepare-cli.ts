/**
 * The stack's preparation step as its own short-lived process: `stack/cli.ts` runs it once before
 * any layer starts, with the data directory as its one argument and the app's settings in its
 * environment (a database password stays out of `ps`). It prints the first admin password, exits
 * 0 when the data directory is ready, or prints one `npm start: …` line and exits 1.
 *
 * Why a process of its own: see stack/prepare.ts (the supervisor stays lean).
 */
import { prepareDataDir } from './prepare.ts';

const dataDir = process.argv[2];
if (dataDir === undefined || dataDir === '') {
  console.error('npm start: the preparation step needs the data directory as its argument');
  process.exit(2);
}
try {
  await prepareDataDir(dataDir, (line) => console.log(line), process.env);
} catch (error) {
  console.error(`npm start: ${(error as Error).message}`);
  process.exitCode = 1;
}
