/**
 * Choosing a response coding from the client's Accept-Encoding (RFC 9110 §12.5.3).
 *
 * Only codings the client lists with a non-zero q-value count (`br;q=0` means "not br"); `*`
 * covers codings it does not name; `identity;q=0` is not honoured with a 406 (Nginx does not
 * either: the plain body is always acceptable in practice). Among acceptable codings the higher q
 * wins, Brotli wins ties because it is smaller. No header means identity: RFC 9110 would allow any
 * coding, but sending gzip to a client that did not ask is what breaks scripts.
 *
 * The parse is a single pass with no allocation for the usual `gzip, deflate, br` headers.
 */

/** A content coding the front produces. */
export type Coding = 'br' | 'gzip';

const WEIGHT = /(?:^|;)[ \t]*q[ \t]*=[ \t]*([0-9.]+)[ \t]*(?:;|$)/i;

/** The weight among an item's parameters (after its `;`); malformed counts as 0 (not acceptable). */
function qValue(parameters: string): number {
  // RFC 9110 §12.4.2: weight = OWS ";" OWS "q=" qvalue; other parameters are ignored.
  const match = WEIGHT.exec(parameters);
  if (match === null) return /(?:^|;)[ \t]*q[ \t]*=/i.test(parameters) ? 0 : 1;
  const q = Number(match[1]);
  return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
}

/** The q-values the client gives gzip and br (0: not acceptable). */
export function acceptedCodings(header: string): { br: number; gzip: number } {
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (let start = 0; start < header.length; ) {
    let comma = header.indexOf(',', start);
    if (comma === -1) comma = header.length;
    const semi = header.indexOf(';', start);
    const nameEnd = semi !== -1 && semi < comma ? semi : comma;
    const name = header.slice(start, nameEnd).trim().toLowerCase();
    const q = nameEnd === comma ? 1 : qValue(header.slice(nameEnd + 1, comma));
    if (name === 'br') br = Math.max(br, q);
    else if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip, q);
    else if (name === '*') star = Math.max(star, q);
    start = comma + 1;
  }
  const rest = star === -1 ? 0 : star;
  return { br: br === -1 ? rest : br, gzip: gzip === -1 ? rest : gzip };
}

/** Pick the coding: `br`, `gzip`, or null for identity; `hasBr`/`hasGzip` say what can be produced. */
export function chooseCoding(acceptEncoding: string, hasBr: boolean, hasGzip: boolean): Coding | null {
  if (acceptEncoding === '') return null;
  const q = acceptedCodings(acceptEncoding);
  const br = hasBr ? q.br : 0;
  const gzip = hasGzip ? q.gzip : 0;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return null;
}
