/**
 * The raw-request corpus (test/corpus/requests/) against the front, on each client-side engine
 * that claims to speak HTTP/1.1 fully, with a recording upstream behind it:
 *   - a valid file's requests are each answered 200, in order, and reach the upstream exactly as
 *     the case says (method, target, body, fields present and absent);
 *   - an invalid file is answered with its status (and, on the net engine, refused for its
 *     kind), the connection closes, and nothing at or after the refused request is forwarded;
 *   - whatever is forwarded is clean HTTP/1.1 that no app server could read another way.
 * The cases run one after another so each forwarded request belongs to exactly one file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareForwarded, loadRequestCorpus, sendRaw, startRecordingUpstream } from './corpus/corpus.ts';
import type { RecordingUpstream, RequestCase } from './corpus/corpus.ts';
import { startTestFront } from './proxy-harness.ts';
import type { TestFront } from './proxy-harness.ts';

const CASES = loadRequestCorpus('front');

/**
 * Files the node:http engine gets wrong, each for a reason in llhttp or node:http that the
 * engine does not work around. The list is exact: a fix must remove its entry, a regression fails.
 * (The net engine, the default, has no such list.)
 */
const HTTP_ENGINE_GAPS: ReadonlyMap<string, string> = new Map([
  ...['gunicorn-absolute', 'gunicorn-absolute-https', 'gunicorn-absolute-ipv6', 'gunicorn-absolute-userinfo'].map((n): [string, string] => [`valid/${n}`, 'absolute-form targets: 400 from the route check']),
  ['valid/gunicorn-asterisk-options', 'OPTIONS *: 400 from the route check'],
  ['valid/gunicorn-013', 'llhttp refuses chunk extensions with spaces'],
  ['valid/gunicorn-019', 'node:http reads the request behind an HTTP/1.0 one and answers it 400'],
  ['valid/gunicorn-021', 'node:http reads the request behind Connection: close and answers it 400'],
  ['valid/gunicorn-023', 'requests pipelined behind a body reach the upstream out of order'],
  ['valid/pipelined-three', 'requests pipelined behind a body reach the upstream out of order'],
  ['valid/gunicorn-027', 'node:http refuses bytes above 0x7F in the target'],
  ['valid/lowercase-method', 'llhttp knows only its list of methods'],
  ...['gunicorn-025-gzip-chunked', 'gunicorn-025-line', 'gunicorn-029-identity-chunked', 'gunicorn-chunked-03', 'gunicorn-chunked-04', 'gunicorn-gzip-chunked', 'gunicorn-identity-chunked', 'smuggle-te-gzip-chunked'].map((n): [string, string] => [`invalid/${n}`, '400 where 501 is due (refused all the same)']),
  ...['smuggle-te-chunkedx', 'smuggle-te-gzip', 'smuggle-te-http10', 'smuggle-te-xchunked'].map((n): [string, string] => [`invalid/${n}`, 'llhttp reads on after the refused request and answers the rest 400 too']),
  ['invalid/gunicorn-016-target', 'a second, empty response after the 400'],
  ['invalid/smuggle-host-missing', 'a second, empty response after the 400'],
  ['invalid/smuggle-expect-other', 'a second, empty response after the 417'],
  ['invalid/gunicorn-connect', 'CONNECT is dropped without an answer'],
  ['invalid/gunicorn-connect-ipv6', 'CONNECT is dropped without an answer'],
  ['invalid/gunicorn-trailer-host', 'trailer fields are not checked (they are dropped, so nothing reaches the app)'],
  ['invalid/smuggle-chunk-ext-long', 'chunk extensions are not bounded (the body is re-framed, so nothing reaches the app)'],
  ['invalid/refused-after-accepted', 'the pipelined first request is not answered before the refusal'],
  ['invalid/smuggle-chunk-huge', '400 where 413 is due'],
  ['invalid/smuggle-double-space', 'llhttp accepts two spaces after the method'],
  ['invalid/smuggle-target-too-long', '431 where 414 is due'],
  ['invalid/smuggle-version-1-2', '400 where 505 is due'],
]);

/** What went wrong with one case ([] when it passed). */
async function check(front: TestFront, upstream: RecordingUpstream, c: RequestCase, engine: string): Promise<string[]> {
  const seenBefore = upstream.requests.length;
  const errorsBefore = front.errors.length;
  const exchange = await sendRaw(front.port, c.bytes, c.forwarded.length + (c.valid ? 0 : 1), c.kind === 'incomplete', !c.valid || c.closed === true);
  // Whatever the front still has in flight for this file belongs to it, not to the next one.
  const until = Date.now() + 5000;
  while (front.front.core.inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  const received = upstream.requests.slice(seenBefore);
  const problems = compareForwarded(c.forwarded, received);
  for (const r of received) if (r.problem !== '') problems.push(`forwarded in a form another parser could read differently: ${r.problem}`);
  const statuses = exchange.responses.map((r) => r.status);
  const want = c.forwarded.map(() => 200);
  if (!c.valid) want.push(c.status!);
  if (statuses.join() !== want.join()) problems.push(`statuses ${JSON.stringify(statuses)}, expected ${JSON.stringify(want)}`);
  if ((!c.valid || c.closed === true) && !exchange.closed) problems.push('the connection was left open');
  if (!c.valid && engine === 'net') {
    const refusal = front.errors.slice(errorsBefore).find((line) => line.startsWith('refused'));
    if (refusal === undefined || !refusal.includes(`(${c.kind})`)) problems.push(`expected a refusal of kind ${c.kind}, logged: ${refusal ?? 'nothing'}`);
  }
  return problems;
}

for (const engine of ['net', 'http'] as const) {
  describe(`request corpus against the front (${engine} engine)`, () => {
    let upstream: RecordingUpstream;
    let front: TestFront;
    before(async () => {
      upstream = await startRecordingUpstream();
      front = await startTestFront(engine, { upstream: [upstream.address], 'max-fails': 0 });
    });
    after(async () => {
      await front.close();
      await upstream.close();
    });

    it(`answers all ${CASES.length} files as expected${engine === 'http' ? ` but its ${HTTP_ENGINE_GAPS.size} known gaps` : ''}`, async () => {
      const failures: string[] = [];
      const gaps: string[] = [];
      for (const c of CASES) {
        const id = `${c.valid ? 'valid' : 'invalid'}/${c.name}`;
        const problems = await check(front, upstream, c, engine);
        if (engine === 'http' && HTTP_ENGINE_GAPS.has(id)) {
          if (problems.length === 0) failures.push(`${id} now passes: remove it from HTTP_ENGINE_GAPS`);
          gaps.push(id);
          continue;
        }
        if (problems.length > 0) failures.push(`${id} (${c.about}): ${problems.join('; ')}`);
      }
      assert.deepEqual(failures, []);
      if (engine === 'http') assert.equal(gaps.length, HTTP_ENGINE_GAPS.size, 'every listed gap names a corpus file');
    });
  });
}
