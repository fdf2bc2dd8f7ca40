/**
 * Issue 10 §3: two app servers (two worker pools, as two hosts would run them) on one Postgres
 * database. Ten concurrent refreshes of one refresh token spread over both yield exactly one
 * success; a token blacklisted through one is refused by the other at once; a user deactivated
 * through one is refused by the other within the user-cache time (--user-cache).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../app/store/passwords.ts';
import { openPostgresStore, type PostgresStore } from '../app/store/postgres/store.ts';
import { PoolProcess } from './fixtures/pool.ts';
import { startPostgres } from './fixtures/postgres.ts';

const SIGNING_KEY = 'a-shared-signing-key-for-every-app-host-0123456789';
const USER_CACHE_MS = 1000;
const serverReady = startPostgres(after);

async function post(port: number, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('two app hosts on one Postgres', () => {
  const hosts: PoolProcess[] = [];
  const dirs: string[] = [];
  let store: PostgresStore;
  let aliceId = 0;
  const stops: (() => unknown)[] = [];
  after(async () => {
    for (const stop of stops) await stop();
    await store?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    const server = await serverReady;
    const url = await server.createDatabase('multihost');
    store = await openPostgresStore(url);
    aliceId = (await store.users.create('alice', await hashPassword('wonderland-42', { N: 1024, r: 8, p: 1 }))).id;
    for (let i = 0; i < 2; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `multihost-${i}-`));
      dirs.push(dataDir);
      const env = { DATABASE_URL: url, SIGNING_KEY, DATA_DIR: dataDir, LAYERSTACK_USER_CACHE: `${USER_CACHE_MS}ms`, SIMPLE_JWT_ACCESS_TOKEN_LIFETIME: '300' };
      // Each pool's stop is registered before it starts (a start that throws leaves nothing running).
      hosts.push(await PoolProcess.start({ after: (stop) => void stops.push(stop) }, ['--workers', '2'], { env }));
    }
  });

  const login = async (port: number) => {
    const r = await post(port, '/api/token/', { username: 'alice', password: 'wonderland-42' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as { access: string; refresh: string };
  };

  it('ten concurrent refreshes of one token over both hosts: exactly one succeeds', async () => {
    const { refresh } = await login(hosts[0]!.port);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(hosts[i % 2]!.port, '/api/token/refresh/', { refresh })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array(9).fill(401)], JSON.stringify(results.map((r) => r.json)));
    for (const r of results.filter((x) => x.status === 401)) assert.deepEqual(r.json, { detail: 'Token is blacklisted', code: 'token_not_valid' });
  });

  it('a token blacklisted through one host is refused by the other at once', async () => {
    const { refresh } = await login(hosts[1]!.port);
    assert.equal((await post(hosts[0]!.port, '/api/token/blacklist/', { refresh })).status, 200);
    const other = await post(hosts[1]!.port, '/api/token/refresh/', { refresh });
    assert.deepEqual([other.status, other.json], [401, { detail: 'Token is blacklisted', code: 'token_not_valid' }]);
    const verify = await post(hosts[1]!.port, '/api/token/verify/', { token: refresh });
    assert.equal(verify.status, 400);
  });

  it('a user deactivated through one host is refused by the other within the user-cache time', async () => {
    const { access } = await login(hosts[0]!.port);
    const hello = async (port: number) => (await fetch(`http://127.0.0.1:${port}/api/hello/`, { headers: { authorization: `Bearer ${access}` } })).status;
    // Load alice into the user caches of the other host's workers.
    for (let i = 0; i < 6; i++) assert.equal(await hello(hosts[1]!.port), 200);
    assert.equal(await store.users.setActive(aliceId, false), true, 'deactivated (as `npm run setactive` on host 0 would)');
    await new Promise((resolve) => setTimeout(resolve, USER_CACHE_MS + 1000));
    for (let i = 0; i < 6; i++) assert.equal(await hello(hosts[1]!.port), 401, 'refused once the cache time has passed');
    const refused = await post(hosts[0]!.port, '/api/token/', { username: 'alice', password: 'wonderland-42' });
    assert.equal(refused.status, 401);
    await store.users.setActive(aliceId, true);
  });
});
