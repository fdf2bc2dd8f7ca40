/**
 * An app's response headers made ready for an engine that writes the head itself (uWS, the
 * wire/http1 server): checked once per distinct name against the token grammar, values against
 * what node:http also refuses (controls other than tab, so no CR/LF injection), and flattened
 * into a [name, value, …] list without the fields the server owns (it frames the body and
 * manages the connection). A header that cannot be sent makes the whole response a 500.
 */
import type { ResponseHeaders } from '../../app/interface.ts';
import { hasInvalidValueChar, isToken } from '../../wire/syntax.ts';

/** Header names already checked, so the regex runs once per distinct name, not per response. */
const checkedNames = new Set<string>();

/** Fields uWS writes itself or that belong to the connection; an app's copy is dropped. */
function serverOwned(name: string): boolean {
  const n = name.length;
  if (n !== 4 && n !== 10 && n !== 14 && n !== 17) return false;
  const lower = name.toLowerCase();
  return lower === 'date' || lower === 'connection' || lower === 'keep-alive' || lower === 'content-length' || lower === 'transfer-encoding';
}

/** The app's own content-length, as found by the last flattenChecked() call (-1: none). */
export let appLength = -1;
const NO_HEADERS: string[] = [];

/**
 * The app's headers checked and flattened into a fresh [name, value, …] list, or null when one
 * cannot be sent (node:http would throw on it; SPEC §4.2 makes it a 500). The shape of the
 * headers (strings, numbers, lists of strings) was checked by callApp already.
 */
export function flattenChecked(headers: ResponseHeaders | undefined): string[] | null {
  appLength = -1;
  if (headers === undefined) return NO_HEADERS;
  const flat: string[] = [];
  for (const name in headers) {
    if (!checkedNames.has(name)) {
      if (!isToken(name)) return null;
      if (checkedNames.size < 1024) checkedNames.add(name);
    }
    const value = headers[name]!;
    if (serverOwned(name)) {
      if (name.length === 14 && name.toLowerCase() === 'content-length') appLength = Number(value);
      continue;
    }
    if (typeof value === 'string') {
      if (hasInvalidValueChar(value)) return null;
      flat.push(name, value);
    } else if (typeof value === 'number') flat.push(name, String(value));
    else
      for (const v of value) {
        if (typeof v !== 'string' || hasInvalidValueChar(v)) return null;
        flat.push(name, v);
      }
  }
  return flat;
}

