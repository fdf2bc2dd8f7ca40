/**
 * A seedable generator of hostile HTTP/1.1 requests: well-formed templates, then zero or more
 * mutations (bytes flipped, inserted, deleted, duplicated; line endings broken; framing fields
 * rewritten; heads made huge), or plain garbage. The same seed gives the same requests, so a
 * failure is replayed with `RESILIENCE_FUZZ_SEED=<seed>`.
 */

/** mulberry32: a small, fast, seedable PRNG (32-bit state). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function templates(r: () => number): string[] {
  const body = 'x'.repeat(Math.floor(r() * 200));
  return [
    'GET /api/ping/ HTTP/1.1\r\nHost: fuzz\r\n\r\n',
    'GET /static/app.css HTTP/1.1\r\nHost: fuzz\r\nAccept-Encoding: gzip, br\r\n\r\n',
    'HEAD /api/ping/ HTTP/1.1\r\nHost: fuzz\r\n\r\n',
    `POST /api/echo/ HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    `POST /api/echo/ HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    'POST /api/token/ HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n{"username":"admin","password":"x1"}\n',
    'GET /api/hello/ HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x\r\n\r\n',
    'POST /api/token/refresh/ HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nrefresh=x',
    'OPTIONS * HTTP/1.1\r\nHost: fuzz\r\n\r\n',
    'GET http://fuzz/api/ping/ HTTP/1.1\r\nHost: fuzz\r\n\r\n',
    'GET /api/ping/ HTTP/1.0\r\n\r\n',
    'GET /api/ping/ HTTP/1.1\r\nHost: fuzz\r\nConnection: keep-alive\r\n\r\nGET /api/ping/ HTTP/1.1\r\nHost: fuzz\r\n\r\n',
    'GET /static/../../etc/passwd HTTP/1.1\r\nHost: fuzz\r\n\r\n',
    'GET /api/stream/?lines=20 HTTP/1.1\r\nHost: fuzz\r\n\r\n',
  ];
}

const INTERESTING = [
  '\r\n', '\n', '\r', '\0', ' ', '\t', ':', '%', '%00', '%2e%2e/', '..', '/', '\\', '"', '\x7f', '\xff', '\xc0\xae',
  'Content-Length: 0\r\n', 'Content-Length: -1\r\n', 'Content-Length: 99999999999999999999\r\n', 'Content-Length: 0x10\r\n',
  'Content-Length: 5\r\nContent-Length: 6\r\n', 'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: chunked, identity\r\n',
  'Transfer-Encoding: xchunked\r\n', 'Transfer-Encoding:\tchunked\r\n', ' Transfer-Encoding: chunked\r\n', 'Expect: 100-continue\r\n',
  'Host: a\r\nHost: b\r\n', 'Connection: close\r\n', 'Upgrade: websocket\r\nConnection: Upgrade\r\n', 'X.Custom|Pipe: ok\r\n',
  'ffffffffffffffff\r\n', '-1\r\n', '0;ext="a\r\n', 'HTTP/1.1', 'HTTP/9.9', 'HTTP/1.10', 'GET', 'get', 'G\0T',
];

/** Apply one random mutation to `bytes`. */
function mutate(bytes: Buffer, r: () => number): Buffer {
  const pos = Math.floor(r() * (bytes.length + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  switch (Math.floor(r() * 12)) {
    case 0: { // flip a byte
      const copy = Buffer.from(bytes);
      if (copy.length > 0) copy[Math.min(pos, copy.length - 1)] = Math.floor(r() * 256);
      return copy;
    }
    case 1: // insert random bytes
      return Buffer.concat([bytes.subarray(0, pos), Buffer.from(Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256))), bytes.subarray(pos)]);
    case 2: { // delete a range
      const end = Math.min(bytes.length, pos + 1 + Math.floor(r() * 16));
      return Buffer.concat([bytes.subarray(0, pos), bytes.subarray(end)]);
    }
    case 3: { // duplicate a range
      const end = Math.min(bytes.length, pos + 1 + Math.floor(r() * 40));
      return Buffer.concat([bytes.subarray(0, end), bytes.subarray(pos, end), bytes.subarray(end)]);
    }
    case 4: // truncate
      return bytes.subarray(0, pos);
    case 5: // insert an interesting token
      return Buffer.concat([bytes.subarray(0, pos), Buffer.from(pick(INTERESTING), 'latin1'), bytes.subarray(pos)]);
    case 6: // CRLF → LF or CR
      return Buffer.from(bytes.toString('latin1').replace(/\r\n/g, () => (r() < 0.5 ? (r() < 0.5 ? '\n' : '\r') : '\r\n')), 'latin1');
    case 7: { // a header field with a random token name and value
      const text = bytes.toString('latin1');
      const at = text.indexOf('\r\n');
      if (at < 0) return bytes;
      const name = Array.from({ length: 1 + Math.floor(r() * 20) }, () => TOKEN[Math.floor(r() * TOKEN.length)]).join('');
      const value = Array.from({ length: Math.floor(r() * 40) }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join('');
      return Buffer.from(`${text.slice(0, at + 2)}${name}: ${value}\r\n${text.slice(at + 2)}`, 'latin1');
    }
    case 8: { // many header fields
      const text = bytes.toString('latin1');
      const at = text.indexOf('\r\n');
      if (at < 0) return bytes;
      const n = 20 + Math.floor(r() * 200);
      return Buffer.from(`${text.slice(0, at + 2)}${Array.from({ length: n }, (_, i) => `X-F${i}: ${i}\r\n`).join('')}${text.slice(at + 2)}`, 'latin1');
    }
    case 9: { // a huge header value or target
      const text = bytes.toString('latin1');
      const at = text.indexOf(' /');
      const big = 'A'.repeat(1000 + Math.floor(r() * 40_000));
      return Buffer.from(at > 0 && r() < 0.5 ? `${text.slice(0, at + 2)}${big}${text.slice(at + 2)}` : text.replace('\r\n', `\r\nX-Big: ${big}\r\n`), 'latin1');
    }
    case 10: // swap the case of the method or the version
      return Buffer.from(bytes.toString('latin1').replace(/^[A-Z]+/, (m) => (r() < 0.5 ? m.toLowerCase() : m + m)).replace('HTTP/1.1', pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', 'HTTP/1'])), 'latin1');
    default: // garbage in place of everything
      return Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)));
  }
}

/** Request number `index` of the run seeded with `seed` (independent of the others, so runs can be parallel). */
export function fuzzRequest(seed: number, index: number): Buffer {
  const r = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const base = templates(r);
  let bytes: Buffer = Buffer.from(base[Math.floor(r() * base.length)]!, 'latin1');
  const mutations = r() < 0.1 ? 0 : 1 + Math.floor(r() * 4);
  for (let i = 0; i < mutations; i++) bytes = mutate(bytes, r);
  return bytes;
}

/** Is `received` (what a server sent before closing) empty or a sequence that starts with a well-formed response head? */
export function wellFormed(received: Buffer): { ok: boolean; status: number; why?: string } {
  if (received.length === 0) return { ok: true, status: 0 };
  const text = received.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { ok: false, status: -1, why: 'no complete response head' };
  const lines = text.slice(0, end).split('\r\n');
  const statusLine = /^HTTP\/1\.[01] ([1-5]\d\d) [\t -~\x80-\xff]*$/.exec(lines[0]!);
  if (statusLine === null) return { ok: false, status: -1, why: `bad status line ${JSON.stringify(lines[0])}` };
  for (const line of lines.slice(1)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t -~\x80-\xff]*$/.test(line)) return { ok: false, status: Number(statusLine[1]), why: `bad header line ${JSON.stringify(line.slice(0, 80))}` };
  }
  return { ok: true, status: Number(statusLine[1]) };
}
