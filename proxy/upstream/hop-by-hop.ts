/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message, so a proxy
 * must not pass them on, in either direction. The list is Go's httputil.ReverseProxy `hopHeaders`,
 * plus every name the Connection header itself lists (`Connection: close, X-Secret` makes
 * X-Secret hop-by-hop too).
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

/** The lower-case names listed in a Connection header value (`close` and `keep-alive` included). */
export function connectionTokens(value: string): string[] {
  const tokens: string[] = [];
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token !== '') tokens.push(token);
  }
  return tokens;
}
