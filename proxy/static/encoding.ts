/**
 * Choosing a precompressed sibling (`app.js.br`, `app.js.gz`) from Accept-Encoding.
 *
 * Only codings the client lists with a non-zero q-value count (`br;q=0` means "not br"); `*`
 * covers codings not listed. Among acceptable ones the higher q wins, and Brotli wins ties
 * because it is smaller. No Accept-Encoding header means identity (RFC 9110 §12.5.3 would allow
 * any coding, but sending gzip to a client that did not ask is what breaks curl scripts).
 */

/** A content coding the static server can serve from a sibling file. */
export type Coding = 'br' | 'gzip';

function qualityOf(header: string, coding: string): number {
  let star = -1;
  for (let start = 0; start < header.length; ) {
    let comma = header.indexOf(',', start);
    if (comma === -1) comma = header.length;
    const item = header.slice(start, comma);
    start = comma + 1;
    const semi = item.indexOf(';');
    const name = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase();
    let q = 1;
    if (semi !== -1) {
      const match = /q\s*=\s*([0-9.]+)/i.exec(item.slice(semi + 1));
      if (match) q = Number(match[1]);
      if (Number.isNaN(q)) q = 0;
    }
    if (name === coding || (coding === 'gzip' && name === 'x-gzip')) return q;
    if (name === '*') star = q;
  }
  return star === -1 ? 0 : star;
}

/** Pick the coding to serve: `br`, `gzip`, or null for the plain file. */
export function chooseCoding(acceptEncoding: string, hasBr: boolean, hasGzip: boolean): Coding | null {
  if (acceptEncoding === '') return null;
  const br = hasBr ? qualityOf(acceptEncoding, 'br') : 0;
  const gzip = hasGzip ? qualityOf(acceptEncoding, 'gzip') : 0;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return null;
}
