/**
 * The texts generated from the declarations: `--help` (every option with its flags, environment
 * names, default, accepted form and what a client sees when it trips) and `--print-config` (every
 * option's effective value and where it came from).
 */
import { type AnyOption, type OptionTable } from './declare.ts';
import { type Command, CONFIG_ENV, envNamesOf, flagOf, type Resolution, type Source } from './resolve.ts';

/** An option's default as `--help` shows it ("none" when unset). */
export function defaultTextOf(option: AnyOption): string {
  if (option.defaultText !== undefined) return option.defaultText;
  const value = typeof option.default === 'function' ? (option.default as () => unknown)() : option.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  return value === '' ? '""' : option.format(value);
}

/** `-w, --workers N` / `    --server-timing, --no-server-timing`. */
export function flagsText(key: string, option: AnyOption): string {
  const flag = flagOf(key, option);
  const short = option.short ? `-${option.short}, ` : '    ';
  return option.switch ? `${short}--${flag}, --no-${flag}` : `${short}--${flag} ${option.metavar}`;
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** The `--help` text of a command. */
export function helpText<T extends OptionTable>(command: Command<T>): string {
  const usage = command.positionals ? ` ${command.positionals.usage}` : '';
  const lines = [`Usage: ${command.name} -- [options]${usage}`, '', ...wrap(command.summary, 96, ''), ''];
  lines.push('Options (later sources win: defaults < config file < environment < flags):');
  const indent = '        ';
  for (const [key, option] of Object.entries(command.options)) {
    lines.push(`  ${flagsText(key, option)}`);
    lines.push(...wrap(option.help, 90, indent));
    const env = envNamesOf(key, option);
    const envs = [...env, ...[option.hostEnv, option.portEnv].filter((n) => n !== undefined)];
    lines.push(...wrap(`default: ${defaultTextOf(option)}${envs.length > 0 ? ` · env: ${envs.join(', ')}` : ''}`, 90, indent));
    if (option.kind !== 'boolean' && option.kind !== 'string') lines.push(...wrap(`accepts ${option.accepted}`, 90, indent));
    if (option.trips !== undefined) lines.push(...wrap(`when it trips: ${option.trips}`, 90, indent));
  }
  lines.push('  -c, --config FILE');
  lines.push(...wrap(`A JSON object of options, keys as the flag names (e.g. {"${firstFlag(command)}": …}); durations and sizes as above. env: ${CONFIG_ENV}`, 90, indent));
  lines.push('      --print-config', `${indent}Print every option's effective value and where it came from, then exit.`);
  lines.push('  -h, --help', `${indent}Print this text and exit.`);
  if (command.epilogue !== undefined) lines.push('', command.epilogue);
  return lines.join('\n');
}

function firstFlag<T extends OptionTable>(command: Command<T>): string {
  const [key, option] = Object.entries(command.options)[0] ?? ['option', { flag: 'option' } as AnyOption];
  return flagOf(key, option);
}

/** A source as `--print-config` shows it. */
export function sourceText(source: Source): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `file ${source.file}`;
    case 'env':
      return `env ${source.name}`;
    case 'flag':
      return `flag ${source.flag}`;
  }
}

/** The `--print-config` text: one line per option, `--flag value   (source)`. */
export function printConfigText<T extends OptionTable>(command: Command<T>, resolution: Resolution<T>): string {
  const rows = Object.entries(command.options).map(([key, option]) => {
    const value = (resolution.values as Record<string, unknown>)[key];
    const shown = value === undefined ? '(unset)' : Array.isArray(value) && value.length === 0 ? '(none)' : option.format(value);
    return [`--${flagOf(key, option)}`, shown, sourceText(resolution.sources[key]!)] as const;
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  // A long list (media types) does not push every other line's source off the screen.
  const w1 = Math.min(32, Math.max(...rows.map((r) => r[1].length)));
  const lines = [`# ${command.name}: effective configuration${resolution.configFile ? ` (config file ${resolution.configFile})` : ''}`];
  for (const [flag, value, source] of rows) lines.push(`${flag.padEnd(w0)}  ${value.padEnd(w1)}  (${source})`);
  for (const name of resolution.ignoredEnv) lines.push(`# ignored: ${name} is not an option of ${command.name}`);
  return lines.join('\n');
}
