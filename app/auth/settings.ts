/**
 * simplejwt's settings, with simplejwt's names and defaults, read from a config object and from
 * the environment (SIMPLE_JWT_<NAME>, the env twin of Django's SIMPLE_JWT dict; the environment
 * wins, so an operator has the last word). SIGNING_KEY is also read unprefixed, as Django's
 * SECRET_KEY would be, and SIMPLE_JWT_SIGNING_KEY_FILE / _VERIFYING_KEY_FILE name files holding
 * the keys. Durations are seconds, as simplejwt's timedeltas become seconds on the wire; in the
 * environment they may carry a unit: "300", "5m", "1d".
 *
 * Every value is checked here, once: a misspelt name or a value of the wrong kind stops start-up
 * with a message naming the setting, instead of surfacing as a 500 on the first login.
 */
import { readFileSync } from 'node:fs';
import { ALGORITHMS, isAlgorithm, type Algorithm } from './algorithms.ts';
import type { KeyMaterial } from './keys.ts';

/** The resolved settings (simplejwt's names; lifetimes and leeway in seconds). */
export interface AuthSettings {
  readonly ACCESS_TOKEN_LIFETIME: number;
  readonly REFRESH_TOKEN_LIFETIME: number;
  readonly ROTATE_REFRESH_TOKENS: boolean;
  readonly BLACKLIST_AFTER_ROTATION: boolean;
  readonly UPDATE_LAST_LOGIN: boolean;
  readonly ALGORITHM: Algorithm;
  /** null: use the key kept in DATA_DIR (generated on first start). */
  readonly SIGNING_KEY: KeyMaterial | null;
  readonly VERIFYING_KEY: KeyMaterial | null;
  readonly AUDIENCE: string | readonly string[] | null;
  readonly ISSUER: string | null;
  readonly LEEWAY: number;
  readonly AUTH_HEADER_TYPES: readonly string[];
  /** Django META style ("HTTP_AUTHORIZATION") or a plain field name ("Authorization"). */
  readonly AUTH_HEADER_NAME: string;
  readonly USER_ID_FIELD: 'id';
  readonly USER_ID_CLAIM: string;
  readonly TOKEN_TYPE_CLAIM: string;
  readonly JTI_CLAIM: string;
}

/** What a config object may give: any subset of the settings, values loosely typed. */
export type SettingsInput = { readonly [K in keyof AuthSettings]?: unknown };

/** simplejwt's defaults (SIGNING_KEY's default, Django's SECRET_KEY, is our DATA_DIR key file). */
export const DEFAULT_SETTINGS: AuthSettings = Object.freeze({
  ACCESS_TOKEN_LIFETIME: 5 * 60,
  REFRESH_TOKEN_LIFETIME: 24 * 60 * 60,
  ROTATE_REFRESH_TOKENS: false,
  BLACKLIST_AFTER_ROTATION: false,
  UPDATE_LAST_LOGIN: false,
  ALGORITHM: 'HS256',
  SIGNING_KEY: null,
  VERIFYING_KEY: null,
  AUDIENCE: null,
  ISSUER: null,
  LEEWAY: 0,
  AUTH_HEADER_TYPES: Object.freeze(['Bearer']),
  AUTH_HEADER_NAME: 'HTTP_AUTHORIZATION',
  USER_ID_FIELD: 'id',
  USER_ID_CLAIM: 'user_id',
  TOKEN_TYPE_CLAIM: 'token_type',
  JTI_CLAIM: 'jti',
});

/** Prefix of the environment variables read by resolveSettings. */
export const ENV_PREFIX = 'SIMPLE_JWT_';

/**
 * The one unprefixed variable read: SIGNING_KEY, the analogue of Django's SECRET_KEY (simplejwt's
 * default signing key). SIMPLE_JWT_SIGNING_KEY wins when both are set.
 */
export const SIGNING_KEY_ENV = 'SIGNING_KEY';

/** simplejwt settings we know but do not implement: naming one is an error, not a silent no-op. */
const UNSUPPORTED = new Set([
  'JSON_ENCODER',
  'JWK_URL',
  'USER_AUTHENTICATION_RULE',
  'AUTH_TOKEN_CLASSES',
  'TOKEN_USER_CLASS',
  'SLIDING_TOKEN_REFRESH_EXP_CLAIM',
  'SLIDING_TOKEN_LIFETIME',
  'SLIDING_TOKEN_REFRESH_LIFETIME',
  'TOKEN_OBTAIN_SERIALIZER',
  'TOKEN_REFRESH_SERIALIZER',
  'TOKEN_VERIFY_SERIALIZER',
  'TOKEN_BLACKLIST_SERIALIZER',
  'SLIDING_TOKEN_OBTAIN_SERIALIZER',
  'SLIDING_TOKEN_REFRESH_SERIALIZER',
  'CHECK_REVOKE_TOKEN',
  'REVOKE_TOKEN_CLAIM',
  'CHECK_USER_IS_ACTIVE',
]);

/** Claims the JWT layer owns; a simplejwt claim setting may not reuse them. */
const REGISTERED_CLAIMS = new Set(['exp', 'iat', 'nbf', 'aud', 'iss', 'sub']);

/** A setting with a bad name or value; the message names it and says what is expected. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

type Name = keyof AuthSettings;
const NAMES = Object.keys(DEFAULT_SETTINGS) as Name[];

/**
 * Resolve the settings: defaults, then `config`, then `SIMPLE_JWT_*` variables from `env`.
 * Throws SettingsError for an unknown or unsupported name or an invalid value.
 */
export function resolveSettings(config: Readonly<Record<string, unknown>> = {}, env: Readonly<Record<string, string | undefined>> = {}): AuthSettings {
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const [name, value] of Object.entries(config)) {
    checkName(name, name);
    if (value !== undefined) merged[name] = value;
  }
  const plainKey = env[SIGNING_KEY_ENV];
  if (plainKey !== undefined && plainKey !== '' && env[`${ENV_PREFIX}SIGNING_KEY`] === undefined && env[`${ENV_PREFIX}SIGNING_KEY_FILE`] === undefined) {
    merged.SIGNING_KEY = fromEnv('SIGNING_KEY', plainKey, SIGNING_KEY_ENV);
  }
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || raw === undefined) continue;
    let name = variable.slice(ENV_PREFIX.length);
    let value: string = raw;
    if ((name === 'SIGNING_KEY_FILE' || name === 'VERIFYING_KEY_FILE') && raw !== '') {
      name = name.slice(0, -'_FILE'.length);
      value = readKeyFile(variable, raw);
    }
    checkName(name, variable);
    merged[name] = fromEnv(name as Name, value, variable);
  }
  return Object.freeze(validate(merged));
}

/** The lower-cased header field an AUTH_HEADER_NAME setting designates ("HTTP_X_TOKEN" → "x-token"). */
export function headerFieldName(setting: string): string {
  const name = setting.startsWith('HTTP_') ? setting.slice(5).replaceAll('_', '-') : setting;
  return name.toLowerCase();
}

/** Parse "300", "300s", "5m", "2h", "1d" (or a number) into seconds. */
export function parseDuration(value: unknown, setting: string): number {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$/.exec(value);
    if (match === null) throw new SettingsError(`${setting} must be a duration such as "300", "5m", "12h" or "1d", got ${JSON.stringify(value)}`);
    seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  } else throw new SettingsError(`${setting} must be a number of seconds, got ${describe(value)}`);
  if (!Number.isFinite(seconds) || seconds < 0) throw new SettingsError(`${setting} must be a non-negative number of seconds, got ${seconds}`);
  return seconds;
}

function checkName(name: string, shownAs: string): void {
  if (UNSUPPORTED.has(name)) throw new SettingsError(`${shownAs}: "${name}" is a simplejwt setting this server does not implement`);
  if (!(NAMES as string[]).includes(name)) {
    throw new SettingsError(`${shownAs}: unknown setting "${name}"; known settings: ${NAMES.join(', ')}`);
  }
}

function readKeyFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new SettingsError(`${variable}: cannot read ${path}: ${(error as Error).message}`);
  }
}

function fromEnv(name: Name, raw: string, variable: string): unknown {
  switch (name) {
    case 'ROTATE_REFRESH_TOKENS':
    case 'BLACKLIST_AFTER_ROTATION':
    case 'UPDATE_LAST_LOGIN': {
      const word = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(word)) return true;
      if (['0', 'false', 'no', 'off'].includes(word)) return false;
      throw new SettingsError(`${variable} must be true or false, got ${JSON.stringify(raw)}`);
    }
    case 'AUTH_HEADER_TYPES':
      return raw.split(',').map((s) => s.trim());
    case 'AUDIENCE': {
      if (raw.trim() === '') return null;
      const list = raw.split(',').map((s) => s.trim());
      return list.length === 1 ? list[0] : list;
    }
    case 'ISSUER':
    case 'SIGNING_KEY':
    case 'VERIFYING_KEY':
      return raw === '' ? null : raw.includes('-----BEGIN') ? raw.replaceAll('\\n', '\n') : raw;
    default:
      return raw;
  }
}

function validate(s: Record<string, unknown>): AuthSettings {
  const algorithm = s.ALGORITHM;
  if (!isAlgorithm(algorithm)) throw new SettingsError(`ALGORITHM must be one of ${ALGORITHMS.join(', ')}, got ${describe(algorithm)}`);
  const settings: AuthSettings = {
    ACCESS_TOKEN_LIFETIME: positive(parseDuration(s.ACCESS_TOKEN_LIFETIME, 'ACCESS_TOKEN_LIFETIME'), 'ACCESS_TOKEN_LIFETIME'),
    REFRESH_TOKEN_LIFETIME: positive(parseDuration(s.REFRESH_TOKEN_LIFETIME, 'REFRESH_TOKEN_LIFETIME'), 'REFRESH_TOKEN_LIFETIME'),
    ROTATE_REFRESH_TOKENS: bool(s.ROTATE_REFRESH_TOKENS, 'ROTATE_REFRESH_TOKENS'),
    BLACKLIST_AFTER_ROTATION: bool(s.BLACKLIST_AFTER_ROTATION, 'BLACKLIST_AFTER_ROTATION'),
    UPDATE_LAST_LOGIN: bool(s.UPDATE_LAST_LOGIN, 'UPDATE_LAST_LOGIN'),
    ALGORITHM: algorithm,
    SIGNING_KEY: keyMaterial(s.SIGNING_KEY, 'SIGNING_KEY'),
    VERIFYING_KEY: keyMaterial(s.VERIFYING_KEY, 'VERIFYING_KEY'),
    AUDIENCE: audience(s.AUDIENCE),
    ISSUER: nullableString(s.ISSUER, 'ISSUER'),
    LEEWAY: parseDuration(s.LEEWAY, 'LEEWAY'),
    AUTH_HEADER_TYPES: headerTypes(s.AUTH_HEADER_TYPES),
    AUTH_HEADER_NAME: headerName(s.AUTH_HEADER_NAME),
    USER_ID_FIELD: userIdField(s.USER_ID_FIELD),
    USER_ID_CLAIM: claimName(s.USER_ID_CLAIM, 'USER_ID_CLAIM'),
    TOKEN_TYPE_CLAIM: claimName(s.TOKEN_TYPE_CLAIM, 'TOKEN_TYPE_CLAIM'),
    JTI_CLAIM: claimName(s.JTI_CLAIM, 'JTI_CLAIM'),
  };
  const claims = [settings.USER_ID_CLAIM, settings.TOKEN_TYPE_CLAIM, settings.JTI_CLAIM];
  if (new Set(claims).size !== claims.length) throw new SettingsError(`USER_ID_CLAIM, TOKEN_TYPE_CLAIM and JTI_CLAIM must differ, got ${claims.join(', ')}`);
  return settings;
}

function positive(seconds: number, name: string): number {
  if (seconds <= 0) throw new SettingsError(`${name} must be longer than 0 seconds`);
  return seconds;
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new SettingsError(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

function keyMaterial(value: unknown, name: string): KeyMaterial | null {
  if (value === null) return null;
  if (typeof value === 'string') {
    if (value === '') throw new SettingsError(`${name} is empty; leave it unset to use the key kept in DATA_DIR`);
    return value;
  }
  if (value instanceof Uint8Array || (typeof value === 'object' && value !== null)) return value as KeyMaterial;
  throw new SettingsError(`${name} must be a string, bytes, a JWK object or a KeyObject, got ${describe(value)}`);
}

function audience(value: unknown): string | readonly string[] | null {
  if (value === null || typeof value === 'string') return value === '' ? null : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) return Object.freeze([...value]);
  throw new SettingsError(`AUDIENCE must be null, a string or a non-empty list of strings, got ${describe(value)}`);
}

function nullableString(value: unknown, name: string): string | null {
  if (value === null) return null;
  if (typeof value === 'string' && value !== '') return value;
  throw new SettingsError(`${name} must be null or a non-empty string, got ${describe(value)}`);
}

function headerTypes(value: unknown): readonly string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(t))) {
    throw new SettingsError(`AUTH_HEADER_TYPES must be a non-empty list of auth scheme names such as ["Bearer"], got ${describe(value)}`);
  }
  return Object.freeze([...(list as string[])]);
}

function headerName(value: unknown): string {
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
    throw new SettingsError(`AUTH_HEADER_NAME must be a header name such as "HTTP_AUTHORIZATION" or "Authorization", got ${describe(value)}`);
  }
  return value;
}

function userIdField(value: unknown): 'id' {
  if (value !== 'id') throw new SettingsError(`USER_ID_FIELD must be "id" (the user store's integer primary key), got ${describe(value)}`);
  return value;
}

function claimName(value: unknown, name: string): string {
  if (value === null) {
    throw new SettingsError(`${name} cannot be null here: tokens are always typed and carry an id (RFC 8725 §3.11, and the blacklist needs the id)`);
  }
  if (typeof value !== 'string' || value === '') throw new SettingsError(`${name} must be a non-empty string, got ${describe(value)}`);
  if (REGISTERED_CLAIMS.has(value)) throw new SettingsError(`${name} cannot be "${value}": that is a registered JWT claim`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return `${Array.isArray(value) ? 'list' : typeof value} ${JSON.stringify(value)?.slice(0, 80)}`;
  } catch {
    return typeof value;
  }
}
