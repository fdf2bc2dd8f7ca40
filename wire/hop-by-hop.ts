/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, not the message, so a proxy
 * must not pass them on, in either direction, and an app must not set them. The list is Go's
 * httputil.ReverseProxy `hopHeaders`, plus every name the Connection header itself lists
 * (`Connection: close, X-Secret` makes X-Secret hop-by-hop too).
 */

/** Lower-case names that never cross the proxy. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The lower-case names listed in one Connection header value (`close` and `keep-alive`
 * included), empty elements skipped (RFC 9110 §5.6.1 allows `a, , b`).
 */
export function connectionTokens(value: string): string[] {
  const tokens: string[] = [];
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token !== '') tokens.push(token);
  }
  return tokens;
}

/**
 * The lower-case names every Connection field in a flat name, value list names, or null when
 * the head has no Connection field (the usual case, so that costs nothing but the scan).
 */
export function listedInConnection(headers: readonly string[]): Set<string> | null {
  let listed: Set<string> | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    listed ??= new Set();
    for (const token of connectionTokens(headers[i + 1]!)) listed.add(token);
  }
  return listed;
}
