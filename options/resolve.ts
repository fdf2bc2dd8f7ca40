/**
 * Resolution: one precedence for every command,
 *
 *   defaults < config file (-c/--config FILE, or LAYERSTACK_CONFIG) < environment < flags
 *
 * Flags: `--name value`, `--name=value`, `-s value`, `--switch` / `--no-switch`; `--` ends the
 * options. Every command also takes -h/--help, --print-config and -c/--config. An unknown flag or
 * config file key is an error (a typo must not fall back to a default silently); an environment
 * variable with the prefix that this command does not declare is reported as ignored, because
 * one environment is shared by every command of a stack.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { type AnyOption, ENV_PREFIX, type OptionTable, type ValuesOf } from './declare.ts';
import { ConfigError, Rejected } from './error.ts';
import { parseAddress } from './grammar.ts';

/** A command: its name as typed, what it does, its options and its positional arguments. */
export interface Command<T extends OptionTable> {
  /** How the user runs it, e.g. "npm run serve". */
  readonly name: string;
  /** One paragraph on what the command does. */
  readonly summary: string;
  readonly options: T;
  /** Positional arguments, e.g. `<username>`; absent: none are accepted. */
  readonly positionals?: { readonly usage: string; readonly min: number; readonly max: number };
  /** Text after the options in `--help` (signals, output lines). */
  readonly epilogue?: string;
}

/** Where an effective value came from. */
export type Source =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly file: string; readonly key: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'flag'; readonly flag: string };

/** The environment name of the config file option. */
export const CONFIG_ENV = `${ENV_PREFIX}CONFIG`;

/** The command line, split but not yet merged with the other sources. */
export interface CommandLine {
  /** Raw flag values by option key (lists: every occurrence). */
  readonly flags: ReadonlyMap<string, { readonly raw: unknown; readonly flag: string }>;
  readonly configFile: string | undefined;
  readonly help: boolean;
  readonly printConfig: boolean;
  readonly positionals: readonly string[];
}

/** The outcome of resolution. */
export interface Resolution<T extends OptionTable> {
  readonly values: ValuesOf<T>;
  readonly sources: { readonly [K in keyof T]: Source };
  /** The absolute path of the config file read, if any. */
  readonly configFile: string | null;
  readonly positionals: readonly string[];
  /** Prefixed environment variables this command does not know (shown, never fatal). */
  readonly ignoredEnv: readonly string[];
}

/** `maxBodySize` → `max-body-size`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The long flag of an option (without dashes). */
export function flagOf(key: string, option: AnyOption): string {
  return option.flag ?? kebab(key);
}

/** The environment names of an option, canonical first. */
export function envNamesOf(key: string, option: AnyOption): readonly string[] {
  return option.env ?? [`${ENV_PREFIX}${flagOf(key, option).toUpperCase().replaceAll('-', '_')}`];
}

function indexFlags(options: OptionTable): Map<string, string> {
  const byFlag = new Map<string, string>();
  for (const [key, option] of Object.entries(options)) {
    const flag = flagOf(key, option);
    if (['help', 'config', 'print-config'].includes(flag) || option.short === 'h' || option.short === 'c') {
      throw new Error(`option ${key}: --${flag}/-${option.short} is reserved for every command`);
    }
    for (const name of [flag, option.short]) {
      if (name === undefined) continue;
      if (byFlag.has(name)) throw new Error(`option ${key}: flag ${name} is declared twice`);
      byFlag.set(name, key);
    }
  }
  return byFlag;
}

function rejected(error: unknown, where: string, raw: unknown): never {
  if (error instanceof Rejected) throw new ConfigError(where, error.accepted, raw);
  throw error;
}

/** Split argv into option values (parsed, so a bad value is reported at once), config file, help. */
export function parseCommandLine<T extends OptionTable>(command: Command<T>, argv: readonly string[]): CommandLine {
  const byFlag = indexFlags(command.options);
  const flags = new Map<string, { raw: unknown; flag: string }>();
  const positionals: string[] = [];
  let configFile: string | undefined;
  let help = false;
  let printConfig = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--print-config') {
      printConfig = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const match = /^(?:--([a-z0-9][a-z0-9-]*)|-([A-Za-z]))(?:=(.*))?$/s.exec(arg);
    if (match === null) throw new ConfigError(arg, `an option from \`${command.name} --help\``);
    let name = match[1] ?? match[2]!;
    const shown = match[1] !== undefined ? `--${name}` : `-${name}`;
    let inline = match[3];
    const next = (flag: string, accepted: string): string => {
      if (inline !== undefined) return inline;
      const value = argv[++i];
      if (value === undefined) throw new ConfigError(flag, `a value: ${accepted}`);
      return value;
    };
    if (name === 'config' || name === 'c') {
      configFile = next(shown, 'the path of a JSON file');
      continue;
    }
    let negated = false;
    if (!byFlag.has(name) && name.startsWith('no-') && command.options[byFlag.get(name.slice(3)) ?? '']?.switch) {
      name = name.slice(3);
      negated = true;
    }
    const key = byFlag.get(name);
    if (key === undefined) throw new ConfigError(shown, `an option from \`${command.name} --help\``);
    const option = command.options[key]!;
    const flag = `--${flagOf(key, option)}`;
    if (option.switch && inline === undefined) {
      flags.set(key, { raw: !negated, flag: negated ? `--no-${flagOf(key, option)}` : flag });
      continue;
    }
    if (negated) throw new ConfigError(shown, `--${flagOf(key, option)} or --no-${flagOf(key, option)} without a value`);
    const raw = next(flag, option.accepted);
    try {
      option.parse(raw);
    } catch (error) {
      rejected(error, flag, raw);
    }
    if (option.separator !== undefined) {
      const earlier = flags.get(key);
      flags.set(key, { raw: earlier === undefined ? raw : `${earlier.raw as string}${option.separator}${raw}`, flag });
    } else flags.set(key, { raw, flag });
  }
  return { flags, configFile, help, printConfig, positionals };
}

function readConfigFile<T extends OptionTable>(command: Command<T>, file: string, byFlag: Map<string, string>): Map<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`config file ${file}`, `a readable JSON file (${reason})`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file}`, 'a JSON object of option names and values');
  const values = new Map<string, unknown>();
  for (const [name, value] of Object.entries(data)) {
    const key = name in command.options ? name : byFlag.get(name);
    if (key === undefined || name.length === 1) {
      throw new ConfigError(`config file ${file}: ${JSON.stringify(name)}`, `an option name from \`${command.name} --help\``);
    }
    values.set(key, value);
  }
  return values;
}

/**
 * Merge the sources into the effective values. `env` is usually process.env. Throws ConfigError
 * naming the option and the accepted form.
 */
export function resolveOptions<T extends OptionTable>(command: Command<T>, commandLine: CommandLine, env: NodeJS.ProcessEnv = process.env): Resolution<T> {
  const byFlag = indexFlags(command.options);
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const rawFile = commandLine.configFile ?? (env[CONFIG_ENV] || undefined);
  const configFile = rawFile === undefined ? null : resolvePath(rawFile);
  const fileValues = configFile === null ? new Map<string, unknown>() : readConfigFile(command, configFile, byFlag);
  const known = new Set<string>([CONFIG_ENV]);

  for (const [key, option] of Object.entries(command.options)) {
    const flag = flagOf(key, option);
    const parse = (raw: unknown, where: string): unknown => {
      try {
        return option.parse(raw);
      } catch (error) {
        return rejected(error, where, raw);
      }
    };
    let value: unknown = typeof option.default === 'function' ? (option.default as () => unknown)() : option.default;
    let source: Source = { kind: 'default' };
    if (fileValues.has(key)) {
      const raw = fileValues.get(key);
      value = parse(raw, `config file ${configFile}: "${flag}"`);
      if (option.fromFile) value = option.fromFile(value, dirname(configFile!));
      source = { kind: 'file', file: configFile!, key: flag };
    }
    if (option.hostEnv !== undefined || option.portEnv !== undefined) {
      // HOST and PORT each replace one half of the address below them (the conventional pair).
      for (const [name, part] of [[option.hostEnv, 'host'], [option.portEnv, 'port']] as const) {
        if (name === undefined) continue;
        known.add(name);
        const raw = env[name];
        if (raw === undefined || raw === '') continue;
        const current = value === undefined ? { kind: 'tcp' as const, host: '127.0.0.1', port: 0 } : parseAddress(value, { unix: true, portZero: true });
        const base = current.kind === 'tcp' ? current : { host: '127.0.0.1', port: 0 };
        const host = part === 'host' ? raw.trim() : base.host;
        const port = part === 'port' ? raw.trim() : String(base.port);
        const combined = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
        try {
          value = option.parse(combined);
        } catch (error) {
          if (!(error instanceof Rejected)) throw error;
          throw new ConfigError(`${name} (--${flag})`, part === 'host' ? 'a host name or IP address' : `a port number${option.accepted.includes('port 0') ? ' from 0' : ' from 1'} to 65535`, raw);
        }
        source = { kind: 'env', name };
      }
    }
    for (const name of envNamesOf(key, option).toReversed()) {
      known.add(name);
      const raw = env[name];
      if (raw === undefined || raw === '') continue;
      // The canonical name (first) is applied last, so it wins over a conventional alias.
      value = parse(raw, `${name} (--${flag})`);
      source = { kind: 'env', name };
    }
    const fromFlag = commandLine.flags.get(key);
    if (fromFlag !== undefined) {
      value = parse(fromFlag.raw, fromFlag.flag);
      source = { kind: 'flag', flag: fromFlag.flag };
    }
    values[key] = value;
    sources[key] = source;
  }

  const positionals = commandLine.positionals;
  const { min, max } = command.positionals ?? { min: 0, max: 0 };
  if (positionals.length < min || positionals.length > max) {
    const usage = command.positionals === undefined ? `options only (see \`${command.name} --help\`)` : `${command.name} -- ${command.positionals.usage}`;
    throw new ConfigError(positionals.length > max ? JSON.stringify(positionals[max]) : 'missing argument', usage);
  }
  const ignoredEnv = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.has(name) && env[name] !== undefined)
    .sort();
  return { values: values as ValuesOf<T>, sources: sources as Resolution<T>['sources'], configFile, positionals, ignoredEnv };
}

/** Parse argv and resolve in one step (for tests and embedding). */
export function resolveArgv<T extends OptionTable>(command: Command<T>, argv: readonly string[], env: NodeJS.ProcessEnv = {}): Resolution<T> {
  return resolveOptions(command, parseCommandLine(command, argv), env);
}

/**
 * The environment that hands `values` to a child process that reads the same declarations: each
 * set value under the option's canonical name, in the option's own grammar.
 */
export function environmentOf<T extends OptionTable>(options: T, values: Partial<ValuesOf<T>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, option] of Object.entries(options)) {
    const value = (values as Record<string, unknown>)[key];
    const name = envNamesOf(key, option)[0];
    if (value === undefined || name === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(option.separator ?? ',') : option.kind === 'duration' ? `${value as number}ms` : String(value);
  }
  return env;
}

