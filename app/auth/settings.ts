/**
 * simplejwt's settings, with simplejwt's names and defaults, read from a config object and from
 * the environment (SIMPLE_JWT_<NAME>, the env twin of Django's SIMPLE_JWT dict; the environment
 * wins, so an operator has the last word). SIGNING_KEY is also read unprefixed, as Django's
 * SECRET_KEY would be, and SIMPLE_JWT_SIGNING_KEY_FILE / _VERIFYING_KEY_FILE name files holding
 * the keys. Durations are seconds, as simplejwt's timedeltas become seconds on the wire, written
 * in the project's one duration grammar (options/): a bare number is seconds, or "500ms", "5m",
 * "12h", "1d"; booleans as every option's (true/false, yes/no, on/off, 1/0).
 *
 * Every value is checked here, once: a misspelt name or a value of the wrong kind stops start-up
 * with a ConfigError naming the setting (or its variable) and the accepted form, instead of
 * surfacing as a 500 on the first login.
 */
import { readFileSync } from 'node:fs';
import { BOOLEAN_FORM, ConfigError, durationForm, parseBoolean, parseDuration as parseDurationMs } from '../../options/index.ts';
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
  /** simplejwt's JWK_URL: verify with the keys of this JWKS (verify-only mode, createVerifier). */
  readonly JWK_URL: string | null;
  /** Keys retired by a rotation that still verify (a JWKS object; asymmetric algorithms). */
  readonly RETIRED_KEYS: { readonly keys: readonly unknown[] } | null;
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
  JWK_URL: null,
  RETIRED_KEYS: null,
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

type Name = keyof AuthSettings;
const NAMES = Object.keys(DEFAULT_SETTINGS) as Name[];

/**
 * Resolve the settings: defaults, then `config`, then `SIMPLE_JWT_*` variables from `env`.
 * Throws ConfigError for an unknown or unsupported name or an invalid value.
 */
export function resolveSettings(config: Readonly<Record<string, unknown>> = {}, env: Readonly<Record<string, string | undefined>> = {}): AuthSettings {
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  /** How each setting is named in an error: the environment variable it came from, else its name. */
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(config)) {
    checkName(name, name);
    if (value !== undefined) merged[name] = value;
  }
  const plainKey = env[SIGNING_KEY_ENV];
  if (plainKey !== undefined && plainKey !== '' && env[`${ENV_PREFIX}SIGNING_KEY`] === undefined && env[`${ENV_PREFIX}SIGNING_KEY_FILE`] === undefined) {
    merged.SIGNING_KEY = fromEnv('SIGNING_KEY', plainKey, SIGNING_KEY_ENV);
    shown.SIGNING_KEY = SIGNING_KEY_ENV;
  }
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || raw === undefined) continue;
    let name = variable.slice(ENV_PREFIX.length);
    let value: string = raw;
    if ((name === 'SIGNING_KEY_FILE' || name === 'VERIFYING_KEY_FILE' || name === 'RETIRED_KEYS_FILE') && raw !== '') {
      name = name.slice(0, -'_FILE'.length);
      value = readKeyFile(variable, raw);
    }
    checkName(name, variable);
    merged[name] = fromEnv(name as Name, value, variable);
    shown[name] = variable;
  }
  return Object.freeze(validate(merged, (name) => shown[name] ?? name));
}

/** The lower-cased header field an AUTH_HEADER_NAME setting designates ("HTTP_X_TOKEN" → "x-token"). */
export function headerFieldName(setting: string): string {
  const name = setting.startsWith('HTTP_') ? setting.slice(5).replaceAll('_', '-') : setting;
  return name.toLowerCase();
}

/** A duration setting in seconds, in the one duration grammar; `positive`: 0 is refused. */
function seconds(value: unknown, setting: string, positive = false): number {
  const accepted = positive ? `${durationForm({})}, longer than 0` : durationForm({});
  let ms: number;
  try {
    ms = parseDurationMs(value);
  } catch {
    throw new ConfigError(setting, accepted, value);
  }
  if (positive && ms <= 0) throw new ConfigError(setting, accepted, value);
  return ms / 1000;
}

function checkName(name: string, shownAs: string): void {
  if (UNSUPPORTED.has(name)) throw new ConfigError(shownAs, `a setting this server implements ("${name}" is a simplejwt setting it does not)`);
  if (!(NAMES as string[]).includes(name)) throw new ConfigError(shownAs, `a known setting: ${NAMES.join(', ')}`);
}

function readKeyFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(variable, `a readable key file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, path);
  }
}

function fromEnv(name: Name, raw: string, variable: string): unknown {
  switch (name) {
    case 'ROTATE_REFRESH_TOKENS':
    case 'BLACKLIST_AFTER_ROTATION':
    case 'UPDATE_LAST_LOGIN':
      try {
        return parseBoolean(raw);
      } catch {
        throw new ConfigError(variable, BOOLEAN_FORM, raw);
      }
    case 'AUTH_HEADER_TYPES':
      return raw.split(',').map((s) => s.trim());
    case 'AUDIENCE': {
      if (raw.trim() === '') return null;
      const list = raw.split(',').map((s) => s.trim());
      return list.length === 1 ? list[0] : list;
    }
    case 'JWK_URL':
      return raw === '' ? null : raw;
    case 'RETIRED_KEYS':
      if (raw.trim() === '') return null;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new ConfigError(variable, 'a JWKS in JSON: {"keys": [...]}', raw.slice(0, 80));
      }
    case 'ISSUER':
    case 'SIGNING_KEY':
    case 'VERIFYING_KEY':
      return raw === '' ? null : raw.includes('-----BEGIN') ? raw.replaceAll('\\n', '\n') : raw;
    default:
      return raw;
  }
}

function validate(s: Record<string, unknown>, shown: (name: Name) => string): AuthSettings {
  const algorithm = s.ALGORITHM;
  if (!isAlgorithm(algorithm)) throw new ConfigError(shown('ALGORITHM'), `one of ${ALGORITHMS.join(', ')}`, algorithm);
  const settings: AuthSettings = {
    ACCESS_TOKEN_LIFETIME: seconds(s.ACCESS_TOKEN_LIFETIME, shown('ACCESS_TOKEN_LIFETIME'), true),
    REFRESH_TOKEN_LIFETIME: seconds(s.REFRESH_TOKEN_LIFETIME, shown('REFRESH_TOKEN_LIFETIME'), true),
    ROTATE_REFRESH_TOKENS: bool(s.ROTATE_REFRESH_TOKENS, shown('ROTATE_REFRESH_TOKENS')),
    BLACKLIST_AFTER_ROTATION: bool(s.BLACKLIST_AFTER_ROTATION, shown('BLACKLIST_AFTER_ROTATION')),
    UPDATE_LAST_LOGIN: bool(s.UPDATE_LAST_LOGIN, shown('UPDATE_LAST_LOGIN')),
    ALGORITHM: algorithm,
    SIGNING_KEY: keyMaterial(s.SIGNING_KEY, shown('SIGNING_KEY')),
    VERIFYING_KEY: keyMaterial(s.VERIFYING_KEY, shown('VERIFYING_KEY')),
    AUDIENCE: audience(s.AUDIENCE, shown('AUDIENCE')),
    ISSUER: nullableString(s.ISSUER, shown('ISSUER')),
    LEEWAY: seconds(s.LEEWAY, shown('LEEWAY')),
    AUTH_HEADER_TYPES: headerTypes(s.AUTH_HEADER_TYPES, shown('AUTH_HEADER_TYPES')),
    AUTH_HEADER_NAME: headerName(s.AUTH_HEADER_NAME, shown('AUTH_HEADER_NAME')),
    USER_ID_FIELD: userIdField(s.USER_ID_FIELD, shown('USER_ID_FIELD')),
    USER_ID_CLAIM: claimName(s.USER_ID_CLAIM, shown('USER_ID_CLAIM')),
    TOKEN_TYPE_CLAIM: claimName(s.TOKEN_TYPE_CLAIM, shown('TOKEN_TYPE_CLAIM')),
    JTI_CLAIM: claimName(s.JTI_CLAIM, shown('JTI_CLAIM')),
    JWK_URL: jwkUrl(s.JWK_URL, shown('JWK_URL')),
    RETIRED_KEYS: jwks(s.RETIRED_KEYS, shown('RETIRED_KEYS')),
  };
  const claims = [settings.USER_ID_CLAIM, settings.TOKEN_TYPE_CLAIM, settings.JTI_CLAIM];
  if (new Set(claims).size !== claims.length) throw new ConfigError('USER_ID_CLAIM, TOKEN_TYPE_CLAIM and JTI_CLAIM', 'three different claim names', claims.join(', '));
  return settings;
}

function jwkUrl(value: unknown, name: string): string | null {
  if (value === null) return null;
  if (typeof value === 'string') {
    try {
      const url = new URL(value);
      if (url.protocol === 'https:' || url.protocol === 'http:') return value;
    } catch {
      // refused below
    }
  }
  throw new ConfigError(name, 'an http:// or https:// URL of a JWKS', value);
}

function jwks(value: unknown, name: string): { readonly keys: readonly unknown[] } | null {
  if (value === null) return null;
  if (typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys)) return value as { keys: unknown[] };
  throw new ConfigError(name, 'a JWKS: {"keys": [...]}', value);
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(name, 'true or false', value);
  return value;
}

function keyMaterial(value: unknown, name: string): KeyMaterial | null {
  if (value === null) return null;
  if (typeof value === 'string') {
    if (value === '') throw new ConfigError(name, 'a key, or no setting at all to use the key kept in the data directory', value);
    return value;
  }
  if (value instanceof Uint8Array || (typeof value === 'object' && value !== null)) return value as KeyMaterial;
  throw new ConfigError(name, 'a string, bytes, a JWK object or a KeyObject', value);
}

function audience(value: unknown, name: string): string | readonly string[] | null {
  if (value === null || typeof value === 'string') return value === '' ? null : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) return Object.freeze([...value]);
  throw new ConfigError(name, 'null, a string or a non-empty list of strings', value);
}

function nullableString(value: unknown, name: string): string | null {
  if (value === null) return null;
  if (typeof value === 'string' && value !== '') return value;
  throw new ConfigError(name, 'null or a non-empty string', value);
}

function headerTypes(value: unknown, name: string): readonly string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(t))) {
    throw new ConfigError(name, 'a non-empty list of auth scheme names such as ["Bearer"]', value);
  }
  return Object.freeze([...(list as string[])]);
}

function headerName(value: unknown, name: string): string {
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
    throw new ConfigError(name, 'a header name such as "HTTP_AUTHORIZATION" or "Authorization"', value);
  }
  return value;
}

function userIdField(value: unknown, name: string): 'id' {
  if (value !== 'id') throw new ConfigError(name, '"id" (the user store\'s integer primary key)', value);
  return value;
}

function claimName(value: unknown, name: string): string {
  if (value === null) {
    throw new ConfigError(name, 'a claim name, not null: tokens are always typed and carry an id (RFC 8725 §3.11, and the blacklist needs the id)', null);
  }
  if (typeof value !== 'string' || value === '') throw new ConfigError(name, 'a non-empty string', value);
  if (REGISTERED_CLAIMS.has(value)) throw new ConfigError(name, `a claim name other than the registered JWT claims (${[...REGISTERED_CLAIMS].join(', ')})`, value);
  return value;
}
