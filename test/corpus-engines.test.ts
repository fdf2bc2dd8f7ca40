/**
 * The raw-request corpus (test/corpus/requests/) against every app server engine, hosted
 * in-process with an app that records what it is given:
 *   - a valid file's requests each reach the app exactly as the case says (method, target, body,
 *     fields present) and are answered 200, in order;
 *   - an invalid file is answered with its status, the connection closes, and nothing at or after
 *     the refused request reaches the app.
 * An engine's known gaps are listed exactly, with the reason: a fix must remove its entry, and a
 * new failure fails the test. The cases run one after another so each recorded request belongs
 * to exactly one file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../app/interface.ts';
import { createEngine, ENGINE_NAMES, type Engine, type EngineName } from '../server/engines/engine.ts';
import { DEFAULT_LIMITS } from '../wire/limits.ts';
import { compareForwarded, loadRequestCorpus, sendRaw } from './corpus/corpus.ts';
import type { RequestCase } from './corpus/corpus.ts';

/**
 * The corpus's `absent` lists say what a front must not forward (hop-by-hop fields, names with
 * underscores). An app server forwards nothing: it hands the app the fields as they arrived, as
 * Gunicorn does, so those lists do not apply here.
 */
const CASES = loadRequestCorpus('app').map((c) => ({ ...c, forwarded: c.forwarded.map(({ absent: _absent, ...request }) => request) }));

/** Files an engine gets wrong, each with why. Exact: a fix must remove its entry. */
const GAPS: Record<EngineName, ReadonlyMap<string, string>> = {
  net: new Map(),
  // node:http (llhttp) as it parses, after the engine's own checks of what llhttp lets through
  // (framingProblem in server/engines/node-http.ts): the reason the pool's default is net.
  http: new Map([
    ...['gunicorn-absolute', 'gunicorn-absolute-https', 'gunicorn-absolute-ipv6', 'gunicorn-absolute-userinfo'].map((n): [string, string] => [`valid/${n}`, 'absolute-form targets reach the app as they were sent']),
    ['valid/gunicorn-013', 'llhttp refuses chunk extensions with spaces'],
    ['valid/gunicorn-019', 'node:http reads the request behind an HTTP/1.0 one and answers it 400'],
    ['valid/gunicorn-021', 'node:http reads the request behind Connection: close and answers it 400'],
    ['valid/gunicorn-023', 'requests pipelined behind a body reach the app out of order'],
    ['valid/pipelined-three', 'requests pipelined behind a body reach the app out of order'],
    ['valid/gunicorn-027', 'node:http refuses bytes above 0x7F in the target'],
    ['valid/lowercase-method', 'llhttp knows only its list of methods'],
    ...['gunicorn-chunked-03', 'gunicorn-chunked-04'].map((n): [string, string] => [`invalid/${n}`, '400 where 501 is due (refused all the same)']),
    ['invalid/gunicorn-trailer-host', 'trailer fields are not checked'],
    ['invalid/smuggle-chunk-ext-long', 'chunk extensions are not bounded'],
    ['invalid/smuggle-chunk-huge', 'a 1 TB chunk size is not refused at its size line'],
    ['invalid/smuggle-double-space', 'llhttp accepts two spaces after the method'],
    ['invalid/smuggle-http09', 'an HTTP/0.9 request line is answered'],
    ['invalid/gunicorn-version-2', 'HTTP/2.0 in an HTTP/1 request line is answered'],
    ['invalid/smuggle-version-1-2', '400 where 505 is due'],
    ['invalid/smuggle-target-too-long', '431 where 414 is due'],
    ['invalid/gunicorn-024-16k-head', 'the head limit counts differently: a 16,399-byte head is accepted'],
    ['invalid/gunicorn-connect', 'CONNECT is dropped without an answer'],
    ['invalid/gunicorn-connect-ipv6', 'CONNECT is dropped without an answer'],
    ['invalid/refused-after-accepted', 'the pipelined first request is not answered before the refusal'],
    ...['gunicorn-016-target', 'smuggle-host-missing', 'smuggle-expect-other'].map((n): [string, string] => [`invalid/${n}`, 'a second, empty response after the refusal']),
  ]),
};

interface Seen {
  method: string;
  target: string;
  headers: [string, string][];
  body: string;
}

/** Records every request it is given and answers 200 with a small body. */
function recordingApp(seen: Seen[]): App {
  return async (request) => {
    const body = await request.body.bytes();
    seen.push({ method: request.method, target: request.target, headers: [...request.headers], body: body.toString('latin1') });
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  };
}

async function check(port: number, seen: Seen[], c: RequestCase): Promise<string[]> {
  const before = seen.length;
  const exchange = await sendRaw(port, c.bytes, c.forwarded.length + (c.valid ? 0 : 1), c.kind === 'incomplete', !c.valid || c.closed === true);
  // A request the app reads after the answer went out (none should) is given a moment to show.
  const received = seen.slice(before);
  const problems = compareForwarded(c.forwarded, received);
  const statuses = exchange.responses.map((r) => r.status);
  const want = c.forwarded.map(() => 200);
  if (!c.valid) want.push(c.status!);
  if (statuses.join() !== want.join()) problems.push(`statuses ${JSON.stringify(statuses)}, expected ${JSON.stringify(want)}`);
  if ((!c.valid || c.closed === true) && !exchange.closed) problems.push('the connection was left open');
  return problems;
}

for (const name of ENGINE_NAMES) {
  describe(`request corpus against the app server (${name} engine)`, () => {
    const seen: Seen[] = [];
    let engine: Engine | undefined;
    let port = 0;
    after(() => engine?.close());
    before(async () => {
      engine = await createEngine(name, recordingApp(seen), { limits: { ...DEFAULT_LIMITS, headerTimeout: 2000 }, report: () => {} });
      const bound = await engine.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
      port = bound.kind === 'tcp' ? bound.port : 0;
    });

    const gaps = GAPS[name];
    it(`answers all ${CASES.length} files as expected${gaps.size > 0 ? ` but its ${gaps.size} known gaps` : ''}`, async () => {
      const failures: string[] = [];
      let listed = 0;
      for (const c of CASES) {
        const id = `${c.valid ? 'valid' : 'invalid'}/${c.name}`;
        const problems = await check(port, seen, c);
        if (gaps.has(id)) {
          listed++;
          if (problems.length === 0) failures.push(`${id} now passes: remove it from GAPS.${name}`);
          continue;
        }
        if (problems.length > 0) failures.push(`${id} (${c.about}): ${problems.join('; ')}`);
      }
      assert.deepEqual(failures, []);
      assert.equal(listed, gaps.size, 'every listed gap names a corpus file');
    });
  });
}
