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
  http: new Map(),
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
