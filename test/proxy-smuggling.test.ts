/**
 * A request-smuggling corpus sent as raw bytes, on both engines. Each payload is ambiguous or
 * malformed framing, most with a hidden second request (`GET /smuggled`) in the body. The front
 * must refuse every one (400 from the node:http engine; uWS closes the connection for what its
 * own parser rejects) and the upstream must never receive a single request from any of them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINES, rawRequest, request, startTestFront, startUpstream } from './proxy-harness.ts';
import type { TestFront, TestUpstream } from './proxy-harness.ts';

const HIDDEN = 'GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n';
const head = (lines: string, version = '1.1') => `POST /api/x HTTP/${version}\r\nHost: t\r\n${lines}\r\n`;
const chunkedHidden = `0\r\n\r\n${HIDDEN}`;

/** [name, bytes]. */
const CORPUS: [string, string][] = [
  ['CL.TE', head('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n') + chunkedHidden],
  ['TE.CL', head('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n') + `5c\r\n${HIDDEN}\r\n0\r\n\r\n`],
  ['two different Content-Lengths', head('Content-Length: 5\r\nContent-Length: 40\r\n') + 'hello' + HIDDEN],
  ['two equal Content-Lengths', head('Content-Length: 5\r\nContent-Length: 5\r\n') + 'hello'],
  ['Content-Length list form', head('Content-Length: 5, 5\r\n') + 'hello'],
  ['Content-Length with plus sign', head('Content-Length: +5\r\n') + 'hello'],
  ['negative Content-Length', head('Content-Length: -1\r\n') + HIDDEN],
  ['hex Content-Length', head('Content-Length: 0x5\r\n') + 'hello'],
  ['Content-Length with inner space', head('Content-Length: 5 5\r\n') + 'hello'],
  ['huge Content-Length', head('Content-Length: 99999999999999999999\r\n') + 'hello'],
  ['TE gzip', head('Transfer-Encoding: gzip\r\n') + HIDDEN],
  ['TE gzip, chunked', head('Transfer-Encoding: gzip, chunked\r\n') + chunkedHidden],
  ['TE chunked, identity', head('Transfer-Encoding: chunked, identity\r\n') + chunkedHidden],
  ['TE xchunked', head('Transfer-Encoding: xchunked\r\n') + chunkedHidden],
  ['TE chunkedx', head('Transfer-Encoding: chunkedx\r\n') + chunkedHidden],
  ['TE twice', head('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n') + chunkedHidden],
  ['TE with vertical tab', head('Transfer-Encoding: chunked\x0b\r\n') + chunkedHidden],
  ['TE with form feed', head('Transfer-Encoding: \x0cchunked\r\n') + chunkedHidden],
  ['space before colon', head('Transfer-Encoding : chunked\r\n') + chunkedHidden],
  ['obs-fold TE', head('Transfer-Encoding: x\r\n chunked\r\n') + chunkedHidden],
  ['TE on HTTP/1.0', head('Transfer-Encoding: chunked\r\n', '1.0') + chunkedHidden],
  ['chunk size with plus', head('Transfer-Encoding: chunked\r\n') + `+5\r\nhello\r\n0\r\n\r\n${HIDDEN}`],
  ['negative chunk size', head('Transfer-Encoding: chunked\r\n') + `-5\r\nhello\r\n0\r\n\r\n`],
  ['chunk size overflow', head('Transfer-Encoding: chunked\r\n') + `fffffffffffffffffff1\r\nhello\r\n0\r\n\r\n`],
  ['chunk without CRLF after data', head('Transfer-Encoding: chunked\r\n') + `5\r\nhelloXX0\r\n\r\n${HIDDEN}`],
  ['bare LF chunk lines', head('Transfer-Encoding: chunked\r\n') + `5\nhello\n0\n\n${HIDDEN}`],
  ['NUL in a header value', head('X-Note: a\0b\r\nContent-Length: 0\r\n') + HIDDEN],
  ['CR in a header value', head('X-Note: a\rb\r\nContent-Length: 0\r\n') + HIDDEN],
  ['header line without colon', head('X-Broken\r\nContent-Length: 0\r\n') + HIDDEN],
  ['two Host headers', head('Host: evil\r\nContent-Length: 0\r\n')],
  ['absolute-form target', `GET http://evil.example/api/x HTTP/1.1\r\nHost: t\r\n\r\n`],
  ['space in target', `GET /api/x y HTTP/1.1\r\nHost: t\r\n\r\n`],
];

for (const engine of ENGINES) {
  describe(`smuggling corpus (${engine})`, () => {
    let upstream: TestUpstream;
    let front: TestFront;
    before(async () => {
      upstream = await startUpstream();
      front = await startTestFront(engine, { upstream: [upstream.address] });
    });
    after(async () => {
      await front.close();
      await upstream.close();
    });

    it(`refuses all ${CORPUS.length} payloads and forwards none of them`, async () => {
      // In parallel, each on its own connection: uWS leaves some rejected connections open until
      // its idle timeout instead of answering, so waiting for each in turn would be slow.
      const replies = await Promise.all(CORPUS.map(([, bytes]) => rawRequest(front.port, bytes, 150)));
      CORPUS.forEach(([name], i) => {
        const reply = replies[i]!;
        if (reply.status !== null) assert.ok(reply.status === 400 || reply.status === 413, `${name}: ${reply.text.split('\r\n')[0]}`);
        else assert.equal(engine, 'uws', `${name}: node:http must answer with a status`);
        if (engine === 'http') assert.equal(reply.status, 400, `${name}: ${reply.text.split('\r\n')[0]}`);
        if (reply.status !== null) assert.match(reply.text, /\r\nConnection: close\r\n/i, `${name}: the connection is closed after a refusal`);
      });
      assert.deepEqual(upstream.requests.map((r) => r.url), [], 'nothing reached the upstream');
    });

    it('keeps serving everyone else', async () => {
      const r = await request(front.port, '/api/ping/');
      assert.equal(r.status, 200);
      assert.deepEqual(upstream.requests.map((seen) => seen.url), ['/api/ping/']);
    });
  });
}
