import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App, Response } from '../app/interface.ts';
import { TestClient } from '../app/testing.ts';
import { ContractViolation, validator } from '../app/validator.ts';

function answer(response: unknown): Promise<unknown> {
  return new TestClient(validator((() => response) as App)).get('/');
}

async function rejectsWith(response: unknown, rule: RegExp): Promise<void> {
  await assert.rejects(answer(response), (e: unknown) => e instanceof ContractViolation && rule.test(e.message));
}

describe('validator: responses', () => {
  it('accepts every body kind the spec allows', async () => {
    const ok: Response[] = [
      { status: 200 },
      { status: 200, body: 'text', headers: { 'content-length': '4' } },
      { status: 201, body: new Uint8Array([1, 2]) },
      { status: 200, body: (async function* () { yield 'a'; yield new Uint8Array([98]); })() },
      { status: 200, body: { kind: 'file', path: '/etc/hostname' } },
      { status: 204 },
      { status: 200, headers: { 'set-cookie': ['a=1', 'b=2'], 'x-n': 5, 'x-tab': 'a\tb' } },
    ];
    for (const r of ok) await answer(r);
  });

  it('rejects bad statuses', async () => {
    await rejectsWith({ status: 99 }, /status/);
    await rejectsWith({ status: 100 }, /status/);
    await rejectsWith({ status: 600 }, /status/);
    await rejectsWith({ status: '200' }, /status/);
    await rejectsWith({ status: 200.5 }, /status/);
  });

  it('rejects CR/LF/NUL and illegal characters in header names and values', async () => {
    await rejectsWith({ status: 200, headers: { 'x-a': 'one\r\nInjected: yes' } }, /control character/);
    await rejectsWith({ status: 200, headers: { 'x-a': 'nul\0' } }, /control character/);
    await rejectsWith({ status: 200, headers: { 'x-a': ['ok', 'bad\n'] } }, /control character/);
    await rejectsWith({ status: 200, headers: { 'bad name': 'v' } }, /not a token/);
    await rejectsWith({ status: 200, headers: { 'x:y': 'v' } }, /not a token/);
    await rejectsWith({ status: 200, headers: { 'x-a': { no: 1 } } }, /must be a string/);
    await rejectsWith({ status: 200, headers: { 'x-a': [1] } }, /non-string/);
  });

  it('rejects hop-by-hop headers, duplicate spellings and a wrong content-length', async () => {
    await rejectsWith({ status: 200, headers: { Connection: 'close' } }, /hop-by-hop/);
    await rejectsWith({ status: 200, headers: { 'transfer-encoding': 'chunked' } }, /hop-by-hop/);
    await rejectsWith({ status: 200, headers: { 'X-A': '1', 'x-a': '2' } }, /twice/);
    await rejectsWith({ status: 200, body: 'héllo', headers: { 'content-length': '5' } }, /does not match/);
    await rejectsWith({ status: 200, headers: { 'content-length': '3' } }, /no body/);
  });

  it('rejects wrong body types and bodies on 204/304', async () => {
    await rejectsWith({ status: 200, body: 42 }, /not null, a string/);
    await rejectsWith({ status: 200, body: ['a'] }, /array/);
    await rejectsWith({ status: 200, body: { text: 'x' } }, /not null, a string/);
    await rejectsWith({ status: 204, body: 'x' }, /must not have a body/);
    await rejectsWith({ status: 200, body: { kind: 'file', path: 'relative.txt' } }, /absolute path/);
    const badStream = { status: 200, body: (async function* () { yield 1; })() };
    await assert.rejects(answer(badStream), (e: unknown) => e instanceof ContractViolation && /yielded number/.test(e.message));
  });

  it('rejects one response object produced twice', async () => {
    const shared: Response = { status: 200, body: 'cached' };
    const client = new TestClient(validator(() => shared));
    await client.get('/');
    await assert.rejects(client.get('/'), /produced twice/);
  });

  it('passes an app error through untouched', async () => {
    await assert.rejects(new TestClient(validator(() => { throw new RangeError('mine'); })).get('/'), RangeError);
  });
});

describe('validator: requests', () => {
  it('accepts what the test client and servers build', async () => {
    const res = await new TestClient(validator(() => ({ status: 200 }))).get('/x?y=1', { headers: { 'X-Upper': 'v' } });
    assert.equal(res.status, 200);
  });

  it('rejects a request whose target is not origin-form', async () => {
    await assert.rejects(new TestClient(validator(() => ({ status: 200 }))).get('relative'), /origin-form/);
  });
});
