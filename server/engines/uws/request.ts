/**
 * Reading a request off uWS. `req` is valid only until the handler returns, so its method, target
 * and headers are copied out first, synchronously, through one module-level callback (no closure
 * per request). The refusals a request can get before the app sees it are decided here.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { bodyTooLarge } from '../../../app/body.ts';
import type { Endpoint } from '../../../app/interface.ts';
import type { Limits } from '../../../wire/limits.ts';
import { headTooLarge, targetTooLong } from '../../../wire/refusal.ts';

/** The request head as copied by readHead(): valid until the next readHead() call. */
export const head = {
  method: '',
  target: '',
  headers: [] as string[],
  bytes: 0,
  declaredLength: null as string | null,
  chunked: false,
};

/** req.forEach callback: one function for every request, so no closure is made per request. */
function collectHeader(name: string, value: string): void {
  head.headers.push(name, value);
  head.bytes += name.length + value.length + 4;
  if (name.length === 14 && name === 'content-length') head.declaredLength = value;
  else if (name.length === 17 && name === 'transfer-encoding') head.chunked = true;
}

/** Copy the request head out of `req` into `head`. */
export function readHead(req: HttpRequest): void {
  head.method = req.getCaseSensitiveMethod();
  const query = req.getQuery();
  head.target = query ? `${req.getUrl()}?${query}` : req.getUrl();
  head.headers = [];
  head.bytes = 0;
  head.declaredLength = null;
  head.chunked = false;
  req.forEach(collectHeader);
}

/** A refusal for the head just read (status and detail), or null when the app may see it. */
export function refusalOf(limits: Limits, length: number | null): [number, string] | null {
  if (head.target.length > limits.maxRequestLine) return [414, targetTooLong(limits.maxRequestLine).reason];
  if (head.bytes + head.target.length + head.method.length + 12 > limits.maxHeaderSize || head.headers.length > 2 * limits.maxHeaderCount) {
    return [431, headTooLarge(limits.maxHeaderSize).reason];
  }
  if (length !== null && length > limits.maxBodySize) return [413, bodyTooLarge(limits.maxBodySize).message];
  return null;
}

/** The peer's address, decoded only if someone asks (most routes never do). */
export class UwsPeer implements Endpoint {
  readonly port = 0;
  #res: HttpResponse | null;
  #address: string | undefined;

  constructor(res: HttpResponse) {
    this.#res = res;
  }

  get address(): string {
    if (this.#address === undefined) {
      this.#address = this.#res === null ? '' : Buffer.from(this.#res.getRemoteAddressAsText()).toString('latin1');
    }
    return this.#address;
  }

  /** Called when `res` dies: from then on an address never read is ''. */
  detach(): void {
    this.#res = null;
  }
}
