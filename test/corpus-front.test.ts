/**
 * The raw-request corpus (test/corpus/requests/) against the front, on each client-side engine
 * that claims to speak HTTP/1.1 fully, with a recording upstream behind it:
 *   - a valid file's requests are each answered 200, in order, and reach the upstream exactly as
 *     the case says (method, target, body, fields present and absent);
 *   - an invalid file is answered with its status and refused for its kind (the error log says which), the connection closes, and nothing at or after the refused request is forwarded;
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
 * Files the node:http engine gets wrong, each with why. The list is exact: a fix must remove its
 * entry, a regression fails. Empty: the engine reads requests with the net engine's parser (the
 * gate in wire/http1/node-http-gate.ts), so both answer every file alike.
 */
const HTTP_ENGINE_GAPS: ReadonlyMap<string, string> = new Map();

/** What went wrong with one case ([] when it passed). */
async function check(front: TestFront, upstream: RecordingUpstream, c: RequestCase): Promise<string[]> {
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
  if (!c.valid) {
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

    it(`answers all ${CASES.length} files as expected${engine === 'http' && HTTP_ENGINE_GAPS.size > 0 ? ` but its ${HTTP_ENGINE_GAPS.size} known gaps` : ''}`, async () => {
      const failures: string[] = [];
      const gaps: string[] = [];
      for (const c of CASES) {
        const id = `${c.valid ? 'valid' : 'invalid'}/${c.name}`;
        const problems = await check(front, upstream, c);
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
