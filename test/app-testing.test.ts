import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../app/interface.ts';
import { file, json } from '../app/response.ts';
import { TestClient } from '../app/testing.ts';
import { createDemoApp } from '../app/demo.ts';

describe('TestClient', () => {
  const mirror: App = async (req) =>
    json(200, {
      method: req.method,
      path: req.path,
      query: req.query,
      type: req.headers.get('content-type') ?? null,
      length: req.body.length,
      body: await req.body.text(),
      client: req.client.address,
      scheme: req.scheme,
      custom: req.headers.getAll('x-custom'),
    });

  it('builds requests from json, form, raw bodies and headers', async () => {
    const client = new TestClient(mirror);
    const j = (await client.post('/p?q=1', { json: { a: 1 } })).json();
    assert.deepEqual([j.type, j.body, j.length, j.query], ['application/json', '{"a":1}', 7, 'q=1']);
    const f = (await client.post('/p', { form: { u: 'a b', p: 'x&y' } })).json();
    assert.deepEqual([f.type, f.body], ['application/x-www-form-urlencoded', 'u=a+b&p=x%26y']);
    const r = (await client.put('/p', { body: 'raw', headers: { 'Content-Type': 'text/plain', 'X-Custom': ['1', '2'] }, client: '10.1.1.1', scheme: 'https' })).json();
    assert.deepEqual([r.type, r.body, r.client, r.scheme, r.custom], ['text/plain', 'raw', '10.1.1.1', 'https', ['1', '2']]);
  });

  it('enforces the simulated server body limit with 413', async () => {
    const res = await new TestClient(mirror).post('/p', { body: 'x'.repeat(100), maxBodySize: 10 });
    assert.equal(res.status, 413);
    assert.match(res.json().detail, /limit of 10 bytes/);
  });

  it('raises app errors by default and answers 500 when asked not to', async () => {
    const boom: App = () => {
      throw new Error('boom');
    };
    await assert.rejects(new TestClient(boom).get('/'), /boom/);
    const res = await new TestClient(boom, { raiseErrors: false }).get('/');
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.text, /boom/);
  });

  it('reads streamed and file bodies, and no body for HEAD', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-'));
    const path = join(dir, 'f.txt');
    writeFileSync(path, '0123456789');
    const app: App = (req) =>
      req.path === '/file'
        ? { status: 200, body: file(path, { offset: 2, length: 3 }) }
        : { status: 200, body: (async function* () { yield 'a'; yield Buffer.from('b'); })() };
    const client = new TestClient(app);
    assert.equal((await client.get('/file')).text, '234');
    assert.equal((await client.get('/stream')).text, 'ab');
    assert.equal((await client.head('/file')).body.length, 0);
  });

  it('runs the demo app in memory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'demo-'));
    const printed: string[] = [];
    const { app, close } = await createDemoApp({ dataDir, print: (line) => printed.push(line) });
    try {
      const client = new TestClient(app);
      assert.deepEqual((await client.get('/api/ping/')).json(), { ok: true });
      assert.equal((await client.get('/api/stream/?lines=3')).text, 'line 1 of 3\nline 2 of 3\nline 3 of 3\n');
      const cpu = (await client.get('/api/cpu/?rounds=3')).json();
      assert.equal(cpu.rounds, 3);
      assert.match(cpu.digest, /^[0-9a-f]{64}$/);
      assert.equal((await client.post('/api/echo/', { body: 'abc' })).json().bytes, 3);
      assert.match(printed.join('\n'), /Created user "admin"/);
      assert.equal((await client.get('/api/hello/')).status, 401);
    } finally {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
