/**
 * Which clients are trusted to say things about the request's origin.
 *
 * A client may send X-Forwarded-Proto, X-Forwarded-Host, X-Request-Id and Forwarded; only a
 * trusted one (another proxy or load balancer in front of this one, by address) is believed.
 * From anyone else those headers are replaced (proto, host, request id) or dropped (Forwarded),
 * so an app behind the front can rely on them. X-Forwarded-For is always appended
 * to, as Nginx's $proxy_add_x_forwarded_for does: the app must read it from the right.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** A set of trusted client addresses: single IPs and CIDR ranges, IPv4 and IPv6. */
export class TrustedClients {
  private readonly list = new BlockList();
  private readonly memo = new Map<string, boolean>();
  readonly empty: boolean;

  /** `entries` like `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`; throws on anything else. */
  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits, extra] = entry.split('/');
      const family = isIPv4(address ?? '') ? 'ipv4' : isIPv6(address ?? '') ? 'ipv6' : null;
      const prefix = bits === undefined ? -1 : Number(bits);
      const max = family === 'ipv4' ? 32 : 128;
      if (family === null || extra !== undefined || (bits !== undefined && (!/^\d+$/.test(bits) || prefix > max))) {
        throw new Error(`trusted client ${JSON.stringify(entry)}: expected an IP address or CIDR range (e.g. 10.0.0.0/8)`);
      }
      if (prefix === -1) this.list.addAddress(address!, family);
      else this.list.addSubnet(address!, prefix, family);
    }
    this.empty = entries.length === 0;
  }

  /** Is the client at `address` (as the socket reports it, IPv4-mapped or not) trusted? */
  has(address: string): boolean {
    if (this.empty) return false;
    let known = this.memo.get(address);
    if (known !== undefined) return known;
    const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
    known = isIPv4(plain) ? this.list.check(plain, 'ipv4') : isIPv6(plain) ? this.list.check(plain, 'ipv6') : false;
    if (this.memo.size > 4096) this.memo.clear(); // bounded: addresses are attacker-chosen
    this.memo.set(address, known);
    return known;
  }
}
