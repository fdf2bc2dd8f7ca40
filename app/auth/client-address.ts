/**
 * Which client a request came from, for per-address login throttling. Behind the front, every
 * request's peer is the front itself, so the client is read from X-Forwarded-For, but only when
 * the peer is a proxy we trust (by default loopback and unix sockets, like Gunicorn's
 * forwarded_allow_ips), and then from the right: the rightmost address not belonging to a
 * trusted proxy is the one our own front saw; everything left of it the client could have
 * written itself.
 */
import { isIP } from 'node:net';
import type { Request } from '../interface.ts';

/** Peers trusted to report the client's address (Gunicorn's forwarded_allow_ips default). */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = Object.freeze(['127.0.0.1', '::1']);

/** Which peers are trusted proxies: a list of addresses, where "*" trusts every peer. */
export function trustedProxyCheck(addresses: readonly string[]): (address: string) => boolean {
  if (addresses.includes('*')) return () => true;
  const set = new Set(addresses.map(normalize));
  return (address) => set.has(address);
}

/** The client's address as seen through trusted proxies, normalised (IPv4-mapped IPv6 → IPv4). */
export function clientAddress(request: Request, isTrusted: (address: string) => boolean): string {
  const peer = normalize(request.client.address);
  // A unix-socket peer (no IP) can only be a local process: Gunicorn trusts it too.
  if (isIP(peer) !== 0 && !isTrusted(peer)) return peer;
  const forwarded = request.headers.getAll('x-forwarded-for');
  if (forwarded.length === 0) return peer;
  const hops = forwarded.join(',').split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalize(stripPort(hops[i]!.trim()));
    if (hop === '') continue;
    if (!isTrusted(hop) || i === 0) return hop.slice(0, 64);
  }
  return peer;
}

/**
 * The throttling key for an address: IPv4 as is; IPv6 by its /64 prefix, since one host usually
 * owns a whole /64 and could otherwise take a fresh address for every guess.
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIPv6(address);
  return groups === null ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

function normalize(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return lower;
}

function stripPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end < 0 ? hop : hop.slice(1, end);
  }
  const colon = hop.indexOf(':');
  // One colon: "1.2.3.4:5678". More: a bare IPv6 address, which has no port in this form.
  return colon >= 0 && colon === hop.lastIndexOf(':') ? hop.slice(0, colon) : hop;
}

function expandIPv6(address: string): string[] | null {
  let text = address.split('%')[0]!;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const octets = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return null;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => parseInt(g, 16).toString(16));
}
