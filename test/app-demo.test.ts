/**
 * The demo app's bounds and its fault routes: /api/cpu/ refuses a request that would buy more
 * than its bound of CPU (400 naming the bound); the routes that crash or block a process exist
 * only in the factory the bench names explicitly, never in the app a deployed stack serves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDemoApp, createDemoAppWithFaults, MAX_CPU_ROUNDS, type LoadedApp } from '../app/demo.ts';
import { MAX_BLOCK_MS, MAX_SLEEP_MS } from '../app/demo-faults.ts';
import { DEFAULT_APP_SPEC } from '../server/app-loader.ts';
import { TestClient } from '../app/testing.ts';

describe('demo app', () => {
  let dataDir: string;
  let plain: LoadedApp;
  let faulty: LoadedApp;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'demo-'));
    plain = await createDemoApp({ dataDir, print: () => {} });
    faulty = await createDemoApp({ dataDir, print: () => {}, faults: true });
  });
  after(async () => {
    await plain?.close();
    await faulty?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('bounds /api/cpu/ with a 400 that names the bound', async () => {
    const client = new TestClient(plain.app);
    assert.equal((await client.get(`/api/cpu/?rounds=${MAX_CPU_ROUNDS}`)).status, 200);
    for (const rounds of ['1000000', String(MAX_CPU_ROUNDS + 1), '0', '-5', 'abc', '1e6', '']) {
      const res = await client.get(`/api/cpu/?rounds=${rounds}`);
      assert.equal(res.status, 400, `rounds=${rounds}`);
      assert.match(res.json().detail, new RegExp(`from 1 to ${MAX_CPU_ROUNDS}`));
    }
  });

  it('has no fault routes by default, and the default app spec names the plain factory', async () => {
    assert.equal(DEFAULT_APP_SPEC, 'app/demo.ts#createDemoApp()');
    const client = new TestClient(plain.app);
    assert.equal((await client.get('/api/fault/crash/?how=exit')).status, 404);
    assert.equal((await client.get('/api/fault/block/?ms=1')).status, 404);
    assert.equal((await client.get('/api/fault/sleep/?ms=1')).status, 404);
    assert.equal(typeof createDemoAppWithFaults, 'function');
  });

  it('the fault factory blocks within bounds and refuses bad knobs', async () => {
    const client = new TestClient(faulty.app);
    const res = await client.get('/api/fault/block/?ms=5');
    assert.equal(res.status, 200);
    assert.equal(res.json().blockedMs, 5);
    for (const ms of ['0', String(MAX_BLOCK_MS + 1), 'x']) assert.equal((await client.get(`/api/fault/block/?ms=${ms}`)).status, 400, `ms=${ms}`);
    // A crash with an unknown method is refused before anything dies.
    for (const bad of [await client.get('/api/fault/crash/?how=segfault'), await client.post('/api/fault/crash/?how=segfault')]) {
      assert.equal(bad.status, 400);
      assert.match(bad.json().detail, /throw, exit/);
    }
  });

  it('the fault factory answers slow requests on a timer, within bounds', async () => {
    const client = new TestClient(faulty.app);
    const [a, b] = await Promise.all([client.get('/api/fault/sleep/?ms=300'), client.get('/api/fault/sleep/?ms=300')]);
    for (const res of [a, b]) {
      assert.equal(res.status, 200);
      assert.equal(res.json().sleptMs, 300);
    }
    // A blocking wait would let no timer run before its answer; a timer-based one lets them run.
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(1), 10);
    const res = await client.get('/api/fault/sleep/?ms=300');
    clearInterval(timer);
    assert.equal(res.status, 200);
    assert.ok(ticks.length > 0, 'other timers ran while the slow request waited');
    for (const ms of ['0', String(MAX_SLEEP_MS + 1), 'x', '-5']) {
      const bad = await client.get(`/api/fault/sleep/?ms=${ms}`);
      assert.equal(bad.status, 400, `ms=${ms}`);
      assert.match(bad.json().detail, new RegExp(`from 1 to ${MAX_SLEEP_MS}`));
    }
  });
});
