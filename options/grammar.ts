/**
 * One grammar per kind of value, the same in flags, environment variables and config files:
 *
 *   duration  `500ms`, `30s`, `2m`, `1h`, `1d`; a bare number (text or JSON) is seconds
 *   size      `16k`, `1m`, `1g` (powers of 1024); a bare number (text or JSON) is bytes
 *   integer   decimal digits (or a JSON integer), within the option's bounds
 *   boolean   true/false, yes/no, on/off, 1/0 (or a JSON boolean)
 *   address   HOST:PORT, [IPv6]:PORT, or unix:/path/to.sock where the option allows it
 *
 * Every parser throws Rejected with the accepted form; resolution adds where the value came from.
 * Durations are returned in milliseconds, sizes in bytes.
 */
import { Rejected } from './error.ts';

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bounds in the option's own unit (milliseconds, bytes, or plain numbers). */
export interface Bounds {
  min?: number;
  max?: number;
}

function within(n: number, bounds: Bounds, accepted: string): number {
  if ((bounds.min !== undefined && n < bounds.min) || (bounds.max !== undefined && n > bounds.max)) throw new Rejected(accepted);
  return n;
}

/** "a duration such as 500ms, 30s or 2m (a bare number is seconds), at least 1ms" */
export function durationForm(bounds: Bounds): string {
  return `a duration such as 500ms, 30s or 2m (a bare number is seconds)${boundsText(bounds, formatDuration)}`;
}

export function parseDuration(raw: unknown, bounds: Bounds = {}): number {
  const accepted = durationForm(bounds);
  let ms: number;
  if (typeof raw === 'number') ms = raw * 1000;
  else if (typeof raw === 'string') {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
    if (match === null) throw new Rejected(accepted);
    ms = Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
  } else throw new Rejected(accepted);
  if (!Number.isFinite(ms) || ms < 0) throw new Rejected(accepted);
  return within(Math.round(ms * 1000) / 1000, bounds, accepted);
}

/**
 * The largest exact unit that counts at least 2 (seconds below that): 30000 → "30s", 60000 →
 * "60s", 120000 → "2m", 86400000 → "24h", 1500 → "1500ms".
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm'] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms % size === 0 && ms >= 2 * size) return `${ms / size}${unit}`;
  }
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function sizeForm(bounds: Bounds): string {
  return `a size such as 16k, 1m or 1048576 (bytes)${boundsText(bounds, formatSize)}`;
}

export function parseSize(raw: unknown, bounds: Bounds = {}): number {
  const accepted = sizeForm(bounds);
  let bytes: number;
  if (typeof raw === 'number') bytes = raw;
  else if (typeof raw === 'string') {
    const match = /^(\d+)([kmg]?)$/i.exec(raw.trim());
    if (match === null) throw new Rejected(accepted);
    bytes = Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!;
  } else throw new Rejected(accepted);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Rejected(accepted);
  return within(bytes, bounds, accepted);
}

/** 16384 → "16k", 1048576 → "1m", 1000 → "1000". */
export function formatSize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const size = SIZE_UNITS[unit]!;
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

export function integerForm(bounds: Bounds): string {
  const { min = 0, max } = bounds;
  return max === undefined ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
}

export function parseInteger(raw: unknown, bounds: Bounds = {}): number {
  const accepted = integerForm(bounds);
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new Rejected(accepted);
  return within(n, { min: bounds.min ?? 0, max: bounds.max }, accepted);
}

export const BOOLEAN_FORM = 'true or false (also yes/no, on/off, 1/0)';

export function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const word = typeof raw === 'string' ? raw.trim().toLowerCase() : typeof raw === 'number' ? String(raw) : '';
  if (word === 'true' || word === 'yes' || word === 'on' || word === '1') return true;
  if (word === 'false' || word === 'no' || word === 'off' || word === '0') return false;
  throw new Rejected(BOOLEAN_FORM);
}

export function enumForm(choices: readonly string[]): string {
  return `one of ${choices.join(', ')}`;
}

export function parseEnum<C extends string>(raw: unknown, choices: readonly C[]): C {
  const word = typeof raw === 'string' ? raw.trim() : raw;
  if (typeof word !== 'string' || !(choices as readonly string[]).includes(word)) throw new Rejected(enumForm(choices));
  return word as C;
}

/**
 * The one address type of the project: where a layer listens or where the front finds an
 * upstream. It lives here, in the bottom layer, so the option system, the app server, the front
 * and the stack all parse and print addresses the same way.
 */
export type ParsedAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface AddressRules {
  /** `unix:/path` is accepted. */
  unix?: boolean;
  /** Port 0 (the system picks a free port) is accepted. */
  portZero?: boolean;
}

export function addressForm(rules: AddressRules): string {
  return `HOST:PORT such as 127.0.0.1:8000${rules.unix ? ' or unix:/path/to.sock' : ''}${rules.portZero ? ' (port 0 picks a free one)' : ''}`;
}

/** Parse `HOST:PORT`, `[IPv6]:PORT` or (when allowed) `unix:PATH`. */
export function parseAddress(raw: unknown, rules: AddressRules = {}): ParsedAddress {
  const accepted = addressForm(rules);
  if (typeof raw !== 'string') throw new Rejected(accepted);
  const text = raw.trim();
  if (text.startsWith('unix:')) {
    // Absolute only: the layers start in different folders, so a relative path would name a
    // different socket in the server and in the front that connects to it.
    if (!rules.unix || text.charCodeAt(5) !== 47 /* / */) throw new Rejected(accepted);
    return { kind: 'unix', path: text.slice(5) };
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535 || (port === 0 && !rules.portZero)) throw new Rejected(accepted);
  return { kind: 'tcp', host: match[1] ?? match[2]!, port };
}

export function formatAddress(address: ParsedAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function boundsText(bounds: Bounds, format: (n: number) => string): string {
  if (bounds.min !== undefined && bounds.max !== undefined) return `, from ${format(bounds.min)} to ${format(bounds.max)}`;
  if (bounds.min !== undefined && bounds.min > 0) return `, at least ${format(bounds.min)}`;
  if (bounds.max !== undefined) return `, at most ${format(bounds.max)}`;
  return '';
}
