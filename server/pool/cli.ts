/**
 * `npm run serve -- [options]`: the production app server. Parses the configuration (flags,
 * LAYERSTACK_* environment, optional JSON file), then hands over to the arbiter, the master
 * process that runs the workers. `--help` lists every option.
 */
import { LogOpenError } from '../../wire/log-writer.ts';
import { Arbiter } from './arbiter.ts';
import { type CommandLine, ConfigError, helpText, parseArgs, resolveConfig, type ServerConfig } from '../config.ts';

let config: ServerConfig;
let commandLine: CommandLine;
try {
  commandLine = parseArgs(process.argv.slice(2));
  if (commandLine.help) {
    console.log(helpText());
    process.exit(0);
  }
  config = resolveConfig(commandLine);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`layerstack: ${error.message}`);
  process.exit(2);
}

// On HUP the file and the environment are read again; the command line stays as given.
let arbiter: Arbiter;
try {
  arbiter = new Arbiter(config, () => resolveConfig(commandLine));
} catch (error) {
  if (!(error instanceof LogOpenError)) throw error;
  console.error(`layerstack: ${error.message}`);
  process.exit(2);
}
const code = await arbiter.run();
process.exit(code);
