/**
 * Declaring an option: one call per option, naming its kind, default and meaning. Everything
 * else (the flag, the environment variable, the config file key, `--help`, `--print-config`, the
 * error messages) follows from the declaration.
 *
 *   export const SERVE_OPTIONS = {
 *     workers: integer({ min: 1, max: 1024, short: 'w', env: ['LAYERSTACK_WORKERS', 'WEB_CONCURRENCY'],
 *                        default: () => availableParallelism(), help: 'Worker processes.' }),
 *     timeout: duration({ default: 30_000, help: 'Heartbeat timeout.', trips: 'the worker is killed and replaced' }),
 *   } satisfies OptionTable;
 *
 * - The long flag is the table key in kebab-case (`maxBodySize` → `--max-body-size`) unless
 *   `flag` says otherwise; the config file accepts the flag name or the key.
 * - The environment name is `LAYERSTACK_` + the flag in upper snake case unless `env` lists the
 *   names (the first is the canonical one; later ones are conventional aliases such as
 *   WEB_CONCURRENCY). `env: []` means the option has no environment variable.
 * - `default` is a value of the kind (milliseconds for a duration, bytes for a size) or a function
 *   computing one at resolution time; `undefined` means "not set" and the value's type says so.
 * - Public limits and timeouts say in `trips` what a client sees when they are hit
 *   ("413 Payload Too Large", "the connection is closed").
 * - Options shared by several commands are declared once by the layer that owns them and reused
 *   (spread and override `flag`/`env`/`default` where a command needs another name or default).
 */
import {
  type AddressRules,
  addressForm,
  BOOLEAN_FORM,
  type Bounds,
  durationForm,
  enumForm,
  formatAddress,
  formatDuration,
  formatSize,
  integerForm,
  parseAddress,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  parseSize,
  sizeForm,
} from './grammar.ts';
import { Rejected } from './error.ts';

/** The prefix of every option's environment variable, unless an option names its own. */
export const ENV_PREFIX = 'LAYERSTACK_';

export type KindName = 'duration' | 'size' | 'integer' | 'boolean' | 'address' | 'enum' | 'list' | 'string';

/** A declared option; V is the resolved value's type (it includes undefined when there is no default). */
export interface Option<V> {
  readonly kind: KindName;
  readonly flag?: string;
  readonly short?: string;
  readonly env?: readonly string[];
  readonly default: V | (() => V);
  /** How `--help` states a computed default ("one per core"). */
  readonly defaultText?: string;
  readonly help: string;
  /** What a client sees when this limit or timeout trips. */
  readonly trips?: string;
  /** Placeholder for the value in `--help` (DURATION, SIZE, N, ADDRESS, …). */
  readonly metavar: string;
  /** The accepted form, as ConfigError and `--help` state it. */
  readonly accepted: string;
  /** Parse one value (flag/env text or a JSON value); throws Rejected. */
  readonly parse: (raw: unknown) => Exclude<V, undefined>;
  /** The value in the option's own grammar, as `--help` and `--print-config` show it. */
  readonly format: (value: Exclude<V, undefined>) => string;
  /** A list: each flag occurrence adds items, and a text value splits on `separator`. */
  readonly separator?: string;
  /** A switch: `--name` alone means true and `--no-name` false. */
  readonly switch?: boolean;
  /** Adjust a value read from a config file (e.g. resolve paths against the file's folder). */
  readonly fromFile?: (value: Exclude<V, undefined>, fileDir: string) => Exclude<V, undefined>;
  /** Address options: environment variables that replace only the host or the port (HOST, PORT). */
  readonly hostEnv?: string;
  readonly portEnv?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOption = Option<any>;

/** A command's options, by key. */
export type OptionTable = Readonly<Record<string, AnyOption>>;

/** The resolved values of a table. */
export type ValuesOf<T extends OptionTable> = { -readonly [K in keyof T]: T[K] extends Option<infer V> ? V : never };

/** What every declaration may say, whatever its kind. */
export interface Declaration<D> {
  /** Long flag without the dashes; default: the table key in kebab-case. */
  flag?: string;
  /** One-letter flag without the dash. -h and -c are taken by --help and --config. */
  short?: string;
  /** Environment names, canonical first; default LAYERSTACK_<FLAG>. `[]`: none. */
  env?: string | readonly string[];
  default: D | (() => D);
  /** How `--help` states a computed default ("one per core"); default: the formatted value. */
  defaultText?: string;
  help: string;
  trips?: string;
}

type Resolved<D, T> = undefined extends D ? T | undefined : T;

function declare<D, T>(
  spec: Declaration<D> & { fromFile?: (value: T, dir: string) => T },
  kind: KindName,
  metavar: string,
  accepted: string,
  parse: (raw: unknown) => T,
  format: (value: T) => string,
  extra: Partial<Option<Resolved<D, T>>> = {},
): Option<Resolved<D, T>> {
  const env = spec.env === undefined ? undefined : typeof spec.env === 'string' ? [spec.env] : spec.env;
  return {
    ...extra,
    kind,
    flag: spec.flag,
    short: spec.short,
    env,
    default: spec.default as Resolved<D, T>,
    defaultText: spec.defaultText,
    help: spec.help,
    trips: spec.trips,
    metavar,
    accepted,
    parse: parse as (raw: unknown) => Exclude<Resolved<D, T>, undefined>,
    format: format as (value: Exclude<Resolved<D, T>, undefined>) => string,
    fromFile: spec.fromFile as Option<Resolved<D, T>>['fromFile'],
  };
}

/** A length of time; the value is in milliseconds. Bounds are milliseconds too. */
export function duration<const D extends number | undefined>(spec: Declaration<D> & Bounds): Option<Resolved<D, number>> {
  return declare(spec, 'duration', 'DURATION', durationForm(spec), (raw) => parseDuration(raw, spec), formatDuration);
}

/** An amount of bytes. */
export function size<const D extends number | undefined>(spec: Declaration<D> & Bounds): Option<Resolved<D, number>> {
  return declare(spec, 'size', 'SIZE', sizeForm(spec), (raw) => parseSize(raw, spec), formatSize);
}

/** A whole number within bounds (min defaults to 0). */
export function integer<const D extends number | undefined>(spec: Declaration<D> & Bounds): Option<Resolved<D, number>> {
  return declare(spec, 'integer', 'N', integerForm(spec), (raw) => parseInteger(raw, spec), String);
}

/** A switch: `--name` / `--no-name` on the command line, true/false elsewhere. */
export function boolean<const D extends boolean | undefined>(spec: Declaration<D>): Option<Resolved<D, boolean>> {
  return declare(spec, 'boolean', '', BOOLEAN_FORM, parseBoolean, String, { switch: true });
}

/** A listen or upstream address; the value is the normalised text (see grammar.ts parseAddress). */
export function address<const D extends string | undefined>(
  spec: Declaration<D> & AddressRules & { hostEnv?: string; portEnv?: string },
): Option<Resolved<D, string>> {
  return declare(spec, 'address', 'ADDRESS', addressForm(spec), (raw) => formatAddress(parseAddress(raw, spec)), String, {
    hostEnv: spec.hostEnv,
    portEnv: spec.portEnv,
  });
}

/** One of a fixed set of words. */
export function oneOf<const C extends string, const D extends C | undefined>(
  choices: readonly C[],
  spec: Declaration<D>,
): Option<Resolved<D, C>> {
  return declare(spec, 'enum', choices.join('|'), enumForm(choices), (raw) => parseEnum(raw, choices), String);
}

/** Free text (a path, a module spec); empty text is refused unless `empty` allows it. */
export function text<const D extends string | undefined>(
  spec: Declaration<D> & { metavar?: string; empty?: boolean; secret?: boolean; fromFile?: (value: string, dir: string) => string },
): Option<Resolved<D, string>> {
  const accepted = spec.empty ? 'text' : 'a non-empty text';
  const parse = (raw: unknown): string => {
    if (typeof raw !== 'string' || (!spec.empty && raw.trim() === '')) throw new Rejected(accepted);
    return raw;
  };
  // A secret (a password in a URL) is never printed back, not even by --print-config.
  return declare(spec, 'string', spec.metavar ?? 'TEXT', accepted, parse, spec.secret ? () => '(set, not shown)' : (value) => value);
}

/**
 * A list of items: the flag may be repeated, a text value (flag or environment) splits on
 * `separator` (default ","), a config file gives a JSON array or one string. A higher source
 * replaces a lower one's list instead of adding to it. `choices` restricts the items; `item`
 * checks each one (throw Rejected).
 */
export function list<const D extends readonly string[] | undefined>(
  spec: Declaration<D> & {
    metavar?: string;
    separator?: string;
    choices?: readonly string[];
    item?: (item: string) => string;
    fromFile?: (value: string[], dir: string) => string[];
  },
): Option<Resolved<D, string[]>> {
  const separator = spec.separator ?? ',';
  const itemForm = spec.choices ? enumForm(spec.choices) : (spec.metavar ?? 'ITEM');
  const accepted = `a list of ${itemForm} (repeat the flag, or separate items with "${separator}")`;
  const parse = (raw: unknown): string[] => {
    const items = typeof raw === 'string' ? raw.split(separator) : Array.isArray(raw) ? raw : null;
    if (items === null || !items.every((i) => typeof i === 'string')) throw new Rejected(accepted);
    return (items as string[])
      .map((i) => i.trim())
      .filter((i) => i !== '')
      .map((i) => {
        if (spec.choices && !spec.choices.includes(i)) throw new Rejected(`${accepted}; "${i}" is not one of them`);
        return spec.item ? spec.item(i) : i;
      });
  };
  return declare(spec, 'list', spec.metavar ?? 'ITEM', accepted, parse, (value) => value.join(separator === ',' ? ',' : `${separator} `), {
    separator,
  });
}
