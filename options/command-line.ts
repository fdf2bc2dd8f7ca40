/**
 * The entry point's side of the option system: resolve, answer `--help` and `--print-config`
 * (exit 0, before anything else happens), and turn a ConfigError into one line on stderr and
 * exit 2. A command calls this first, so a mistake never leaves a process or a file behind.
 */
import { type OptionTable } from './declare.ts';
import { ConfigError } from './error.ts';
import { helpText, printConfigText } from './help.ts';
import { type Command, type CommandLine, parseCommandLine, type Resolution, resolveOptions } from './resolve.ts';

/** Exit status of a configuration mistake (as with Gunicorn and Nginx's usage errors). */
export const CONFIG_EXIT_CODE = 2;

/** Print `error` as one line prefixed by the command's name and exit 2; rethrow anything else. */
export function exitOnConfigError(command: { name: string }, error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${command.name}: ${error.message}\n`);
  process.exit(CONFIG_EXIT_CODE);
}

/**
 * Resolve the command's options from argv, the environment and the config file; `check` adds
 * the checks that involve several options (throw ConfigError). Never returns on --help,
 * --print-config or a mistake.
 */
export function optionsOrExit<T extends OptionTable, R = Resolution<T>>(
  command: Command<T>,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
  check: (resolution: Resolution<T>) => R = (r) => r as unknown as R,
): { resolution: Resolution<T>; checked: R; commandLine: CommandLine } {
  try {
    const commandLine = parseCommandLine(command, argv);
    if (commandLine.help) {
      process.stdout.write(`${helpText(command)}\n`);
      process.exit(0);
    }
    const resolution = resolveOptions(command, commandLine, env);
    const checked = check(resolution);
    if (commandLine.printConfig) {
      process.stdout.write(`${printConfigText(command, resolution)}\n`);
      process.exit(0);
    }
    for (const name of resolution.ignoredEnv) process.stderr.write(`${command.name}: note: ${name} is not an option of this command (ignored)\n`);
    return { resolution, checked, commandLine };
  } catch (error) {
    return exitOnConfigError(command, error);
  }
}
