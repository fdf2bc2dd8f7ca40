/**
 * The one address type: where a layer listens or where the front finds an upstream. A TCP host
 * and port, or a unix socket path; written the way Gunicorn's --bind and Nginx's `server`
 * directive write them (`127.0.0.1:8001`, `[::1]:8001`, `unix:/run/app.sock`).
 */

/** A TCP host and port, or a unix socket path. */
export type Address = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** What `parseAddress` refused, and why: the message names the text and the accepted forms. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  constructor(
    readonly text: string,
    readonly reason: 'relative-unix-path' | 'not-an-address' | 'port-out-of-range',
    message: string,
  ) {
    super(message);
  }
}

/** How lenient `parseAddress` is. */
export interface AddressRules {
  /**
   * The host a bare `:8001` or `8001` means (Gunicorn's --bind takes both); without it a host
   * is required, as Nginx's `server` directive requires one.
   */
  defaultHost?: string;
  /** Accept port 0 (let the system choose: a listener); an upstream needs a real port. */
  portZero?: boolean;
}

// `host:` (a DNS name or IPv4 address, or an IPv6 address in brackets) or a bare `:`, then the port.
const TCP = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):|:)?(\d{1,5})$/;

const FORMS = 'HOST:PORT, [IPv6]:PORT or unix:/path.sock';

/**
 * Parse `host:port`, `[v6]:port`, `unix:/path` (and `:port` or `port` with a `defaultHost`);
 * throws AddressError naming the text and the forms that would work.
 */
export function parseAddress(text: string, rules: AddressRules = {}): Address {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    // Absolute only: the layers start in different folders, so a relative path would name a
    // different socket in the server and in the front that connects to it.
    if (!path.startsWith('/')) throw new AddressError(text, 'relative-unix-path', `${JSON.stringify(text)}: a unix socket path must be absolute, e.g. unix:/run/app.sock`);
    return { kind: 'unix', path };
  }
  const match = TCP.exec(text);
  const host = match === null ? undefined : (match[1] ?? match[2]);
  // A bare port is allowed only where a default host is.
  if (match === null || (host === undefined && rules.defaultHost === undefined)) {
    throw new AddressError(text, 'not-an-address', `${JSON.stringify(text)} is not an address: expected ${rules.defaultHost === undefined ? FORMS : `${FORMS} (or :PORT)`}`);
  }
  const port = Number(match[3]);
  if (port > 65535 || (port === 0 && rules.portZero !== true)) {
    const why = port > 65535 ? `port ${port} is above 65535` : 'port 0 (any free port) cannot be used here; give a port from 1 to 65535';
    throw new AddressError(text, 'port-out-of-range', `${JSON.stringify(text)}: ${why}`);
  }
  return { kind: 'tcp', host: host ?? rules.defaultHost!, port };
}

/** The address as people write it: `127.0.0.1:8001`, `[::1]:8001` or `unix:/path`. */
export function formatAddress(address: Address): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
