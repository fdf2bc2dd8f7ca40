import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bufferedBody, StreamedBody } from '../app/body.ts';
import { compose } from '../app/compose.ts';
import { callApp, HttpError, INTERNAL_ERROR } from '../app/errors.ts';
import { RequestHeaders } from '../app/headers.ts';
import type { App, Middleware, Request } from '../app/interface.ts';
import { HostedRequest } from '../app/request.ts';
import { TestClient } from '../app/testing.ts';

function request(target: string, init: Partial<ConstructorParameters<typeof HostedRequest>[0]> = {}): Request {
  return new HostedRequest({
    method: 'GET',
    target,
    headers: new RequestHeaders([]),
    body: bufferedBody(null),
    client: { address: '10.0.0.1', port: 1234 },
    server: { address: '127.0.0.1', port: 8000 },
    ...init,
  });
}

describe('RequestHeaders', () => {
  const headers = new RequestHeaders(['Host', 'x', 'Accept', 'a/b', 'X-Multi', '1', 'x-multi', '2', 'Cookie', 'a=1', 'COOKIE', 'b=2']);

  it('lower-cases names and keeps repeated fields in order', () => {
    assert.deepEqual([...headers].map(([n]) => n), ['host', 'accept', 'x-multi', 'x-multi', 'cookie', 'cookie']);
    assert.deepEqual(headers.getAll('x-multi'), ['1', '2']);
    assert.equal(headers.size, 6);
  });

  it('joins repeats with ", " and cookies with "; "', () => {
    assert.equal(headers.get('x-multi'), '1, 2');
    assert.equal(headers.get('cookie'), 'a=1; b=2');
    assert.equal(headers.get('absent'), undefined);
    assert.equal(headers.has('accept'), true);
    assert.equal(headers.has('Accept'), false, 'lookups take lower-case names');
  });

  it('builds from an object with array values', () => {
    const h = RequestHeaders.from({ 'Set-Me': ['a', 'b'], one: '1' });
    assert.deepEqual(h.getAll('set-me'), ['a', 'b']);
    assert.deepEqual(h.flat(), ['set-me', 'a', 'set-me', 'b', 'one', '1']);
  });
});

describe('HostedRequest', () => {
  it('splits the target into a decoded path and a raw query', () => {
    const r = request('/a%20b/c%2Fd?x=1&x=2&y=%20z');
    assert.equal(r.target, '/a%20b/c%2Fd?x=1&x=2&y=%20z');
    assert.equal(r.path, '/a b/c/d');
    assert.equal(r.query, 'x=1&x=2&y=%20z');
    assert.deepEqual(r.params.getAll('x'), ['1', '2']);
    assert.equal(r.params.get('y'), ' z');
  });

  it('handles absolute-form targets and no query', () => {
    const r = request('http://example.com/p/q');
    assert.equal(r.path, '/p/q');
    assert.equal(r.query, '');
    assert.equal(request('http://example.com').path, '/');
  });

  it('throws HttpError 400 for undecodable paths and NUL bytes', () => {
    for (const target of ['/bad%zz', '/%E0%A4%A', '/nul%00byte']) {
      assert.throws(() => request(target).path, (e: unknown) => e instanceof HttpError && e.status === 400, target);
    }
  });

  it('gives each request its own state bag', () => {
    const a = request('/');
    const b = request('/');
    a.state.note = 'mine';
    assert.equal(b.state.note, undefined);
  });
});

describe('request bodies', () => {
  async function* chunks(...parts: string[]) {
    for (const p of parts) yield Buffer.from(p);
  }

  it('streams and reads whole', async () => {
    const body = new StreamedBody(chunks('ab', 'cd'), null, 100);
    assert.equal(await body.text(), 'abcd');
    const streamed: string[] = [];
    for await (const c of new StreamedBody(chunks('x', 'y'), 2, 100)) streamed.push(Buffer.from(c).toString());
    assert.deepEqual(streamed, ['x', 'y']);
  });

  it('rejects with 413 past the server limit, the read limit, or a declared length', async () => {
    await assert.rejects(new StreamedBody(chunks('12345', '6'), null, 5).bytes(), { status: 413 });
    await assert.rejects(new StreamedBody(chunks('1234'), null, 100).bytes(3), { status: 413 });
    await assert.rejects(new StreamedBody(chunks('1'), 1000, 100).bytes(), { status: 413 });
    const iterate = async () => {
      for await (const _ of new StreamedBody(chunks('123', '456'), null, 4));
    };
    await assert.rejects(iterate(), { status: 413 });
  });

  it('can be read once only', async () => {
    const body = bufferedBody('hi');
    assert.equal(await body.text(), 'hi');
    await assert.rejects(body.text(), /already read/);
  });

  it('an absent body reads as empty', async () => {
    assert.equal((await bufferedBody(null).bytes()).length, 0);
  });
});

describe('callApp', () => {
  const reported: unknown[] = [];
  const report = (e: unknown) => {
    reported.push(e);
  };

  it('turns thrown errors and rejections into a plain 500 and reports them', async () => {
    const boom: App = () => {
      throw new Error('secret internals');
    };
    const r1 = await callApp(boom, request('/'), report);
    assert.equal(r1, INTERNAL_ERROR);
    assert.doesNotMatch(String(r1.body), /secret|stack|at /);
    const r2 = await callApp(async () => Promise.reject(new Error('async boom')), request('/'), report);
    assert.equal(r2.status, 500);
    assert.equal(reported.length, 2);
  });

  it('answers HttpError with its own status', async () => {
    const r = await callApp(() => {
      throw new HttpError(418, 'short and stout', { 'x-pot': 'tea' });
    }, request('/'), report);
    assert.equal(r.status, 418);
    assert.deepEqual(JSON.parse(String(r.body)), { detail: 'short and stout' });
    assert.equal(r.headers?.['x-pot'], 'tea');
  });

  it('answers 500 for garbage return values', async () => {
    for (const garbage of [undefined, null, 42, 'text', { status: 99 }, { status: 'ok' }, { status: 700 }]) {
      const r = await callApp((() => garbage) as unknown as App, request('/'), report);
      assert.equal(r.status, 500, JSON.stringify(garbage));
    }
    assert.ok(reported.some((e) => e instanceof TypeError && /not a response/.test(e.message)));
  });

  it('returns synchronously for synchronous apps (no promise on the hot path)', () => {
    const r = callApp(() => ({ status: 204 }), request('/'), report);
    assert.equal(r instanceof Promise, false);
  });
});

describe('compose', () => {
  it('runs the first middleware outermost', async () => {
    const order: string[] = [];
    const tag =
      (name: string): Middleware =>
      (next) =>
      async (req) => {
        order.push(`>${name}`);
        const res = await next(req);
        order.push(`<${name}`);
        return res;
      };
    const app = compose(tag('a'), tag('b'))(() => {
      order.push('app');
      return { status: 200 };
    });
    await new TestClient(app).get('/');
    assert.deepEqual(order, ['>a', '>b', 'app', '<b', '<a']);
  });
});
