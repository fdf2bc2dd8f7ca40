/**
 * `npm run serve -- [options]`: the production app server. Resolves the options (see
 * server/options.ts and `--help`), checks the data directory, then hands over to the arbiter, the
 * master process that runs the workers.
 */
import { resolve } from 'node:path';
import { checkDataDir } from '../../app/store/data-dir.ts';
import { environmentOf, optionsOrExit } from '../../options/index.ts';
import { LogOpenError } from '../../wire/log-writer.ts';
import { Arbiter } from './arbiter.ts';
import { reloadServerConfig, serverConfigOf } from '../config.ts';
import { HOSTED_APP_OPTIONS, SERVE_COMMAND } from '../options.ts';

const argv = process.argv.slice(2);
const { checked: config, commandLine, resolution } = optionsOrExit(SERVE_COMMAND, argv, process.env, (resolution) => {
  const config = serverConfigOf(resolution);
  checkDataDir(config.dataDir);
  return config;
});
// The workers' app reads its data directory and its own settings from the environment, with the
// same declarations (app/store/data-dir.ts, app/store/store-options.ts, app/auth/auth-options.ts).
process.env.DATA_DIR = resolve(config.dataDir);
delete process.env.LAYERSTACK_DATA_DIR;
Object.assign(process.env, environmentOf(HOSTED_APP_OPTIONS, resolution.values));

// On HUP the file and the environment are read again; the command line stays as given.
let arbiter: Arbiter;
try {
  arbiter = new Arbiter(config, () => reloadServerConfig(commandLine));
} catch (error) {
  // The access and error logs are opened here, before any worker starts: a bad path is one line.
  if (!(error instanceof LogOpenError)) throw error;
  process.stderr.write(`${SERVE_COMMAND.name}: ${error.message}\n`);
  process.exit(2);
}
const code = await arbiter.run();
process.exit(code);
