/**
 * The Postgres store beyond the shared conformance cases (store-conformance.test.ts): what an
 * operator meets at start (one line and a non-zero exit for a malformed URL, a wrong password,
 * an unreachable server, a newer schema; nothing half-migrated), migrations racing from several
 * hosts, the command-line tools, and a database lost and regained under a running auth stack
 * (503 with a JSON body for requests that need it, the rest served, recovery without a restart).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createAuth, type Auth } from '../app/auth/create-auth.ts';
import { Router } from '../app/router.ts';
import { hashPassword, verifyPassword } from '../app/store/passwords.ts';
import { createPool, parseDatabaseUrl } from '../app/store/postgres/connection.ts';
import { POSTGRES_MIGRATIONS, migratePostgres } from '../app/store/postgres/migrations.ts';
import { openPostgresStore } from '../app/store/postgres/store.ts';
import { StoreStartError } from '../app/store/store-error.ts';
import { TestClient } from '../app/testing.ts';
import { freePort, startPostgres, type TestPostgres } from './fixtures/postgres.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CHEAP = { N: 1024, r: 8, p: 1 };
const SIGNING_KEY = 'a-shared-signing-key-for-every-app-host-0123456789';

const serverReady = startPostgres(after);
let server: TestPostgres;
let databases = 0;
before(async () => {
  server = await serverReady;
});
const freshDatabase = () => server.createDatabase(`pgt${++databases}`);

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

function cli(script: string, args: string[], stdin: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `app/store/${script}`, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
    });
    child.stdin.end(stdin);
  });
}

describe('Postgres store: start', () => {
  it('refuses a malformed DATABASE_URL, a wrong password, an unreachable server and a newer schema with one line and exit 1', async () => {
    const good = await freshDatabase();
    const future = await freshDatabase();
    const futureStore = await openPostgresStore(future);
    await futureStore.close();
    const setup = new pg.Client(future);
    await setup.connect();
    await setup.query("INSERT INTO schema_version VALUES (99, 'from the future', 0)");
    await setup.end();
    const closedPort = await freePort();
    const cases: [string, RegExp][] = [
      ['postgres//nowhere', /DATABASE_URL is not a URL/],
      ['mysql://u:p@127.0.0.1/db', /must start with postgres:\/\//],
      ['postgres://u:p@127.0.0.1:5432/', /names no database/],
      [good.replace(server.password, 'wrong-password'), /cannot log in to Postgres at 127\.0\.0\.1:\d+\/pgt\d+: password authentication failed/],
      [`postgres://postgres:x@127.0.0.1:${closedPort}/db`, new RegExp(`cannot reach Postgres at 127\\.0\\.0\\.1:${closedPort}/db: .*ECONNREFUSED`)],
      [future, /has schema version 99, newer than this code knows \(3\)/],
    ];
    const results = await Promise.all(cases.map(([url]) => cli('cli-setactive.ts', ['admin', 'yes'], '', { DATABASE_URL: url })));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, cases[i]![1]);
      assert.equal(r.stderr.split('\n').length, 1, `one line: ${r.stderr}`);
      assert.ok(!r.stderr.includes(server.password), 'no password in the message');
    });
    assert.deepEqual(await tables(good), [], 'a refused login migrated nothing');
  });

  it('migrates once when several hosts start at the same moment, and a failing migration leaves nothing behind', async () => {
    const url = await freshDatabase();
    const parsed = parseDatabaseUrl(url);
    const pools = Array.from({ length: 6 }, () => createPool(parsed, { poolSize: 1 }));
    try {
      const applied = await Promise.all(pools.map((p) => migratePostgres(p, parsed.target)));
      assert.deepEqual(applied.flat().sort(), POSTGRES_MIGRATIONS.map((m) => m.version));
      assert.equal(applied.filter((a) => a.length > 0).length, 1, 'one host did all the work');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    const broken = await freshDatabase();
    const brokenUrl = parseDatabaseUrl(broken);
    const pool = createPool(brokenUrl);
    try {
      const bad = [...POSTGRES_MIGRATIONS.slice(0, 2), { version: 3, name: 'broken', sql: 'CREATE TABLE nope (x no_such_type)' }];
      await assert.rejects(migratePostgres(pool, brokenUrl.target, bad), /no_such_type/);
    } finally {
      await pool.end();
    }
    assert.deepEqual(await tables(broken), [], 'nothing half-migrated');
    await assert.rejects(openPostgresStore('postgres://postgres:x@127.0.0.1:1/db', { connectTimeoutMs: 2000 }), StoreStartError);
  });

  it('createuser, changepassword and setactive work against it', async () => {
    const url = await freshDatabase();
    const env = { DATABASE_URL: url };
    const created = await cli('cli-createuser.ts', ['carol'], 'carol-secret-1\n', env);
    assert.deepEqual([created.code, created.stdout], [0, 'Created user "carol" (id 1).'], created.stderr);
    const store = await openPostgresStore(url);
    try {
      await store.tokens.recordOutstanding({ jti: 'carol-1', userId: 1, token: 't', expiresAt: 4_000_000_000 });
      const changed = await cli('cli-changepassword.ts', ['carol'], 'carol-secret-2\n', env);
      assert.deepEqual([changed.code, changed.stdout], [0, 'Password changed for user "carol"; 1 refresh token(s) revoked.'], changed.stderr);
      assert.equal(await verifyPassword('carol-secret-2', (await store.users.byUsername('carol'))!.password), true);
      assert.equal(await store.tokens.isBlacklisted('carol-1'), true);
      const off = await cli('cli-setactive.ts', ['carol', 'no'], '', env);
      assert.deepEqual([off.code, off.stdout], [0, 'User "carol" is now inactive.']);
      assert.equal((await store.users.byUsername('carol'))!.isActive, false);
    } finally {
      await store.close();
    }
  });
});

describe('Postgres store: a database lost and regained', () => {
  let auth: Auth;
  let client: TestClient;
  let dataDir: string;
  const logged: string[] = [];
  after(async () => {
    await auth?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with a JSON body to requests that need the store, serves cached users, and recovers by itself', async () => {
    const url = await freshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'pg-outage-'));
    auth = await createAuth({
      dataDir,
      databaseUrl: url,
      env: { SIGNING_KEY, LAYERSTACK_DATABASE_CONNECT_TIMEOUT: '1500ms', LAYERSTACK_DATABASE_STATEMENT_TIMEOUT: '1s' },
      settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true },
      passwordParams: CHEAP,
      purgeIntervalMs: false,
      userCacheMs: 600_000,
      log: (level, line) => logged.push(`${level} ${line}`),
    });
    await auth.store.users.create('alice', await hashPassword('wonderland-42', CHEAP));
    await auth.store.users.create('bob', await hashPassword('builder-1234', CHEAP));
    client = new TestClient(auth.installRoutes(new Router()).app);
    const login = async (username: string, password: string) => client.post('/api/token/', { json: { username, password } });
    const alice = (await login('alice', 'wonderland-42')).json() as { access: string; refresh: string };
    const bob = (await login('bob', 'builder-1234')).json() as { access: string; refresh: string };
    const hello = (access: string) => client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } });
    assert.equal((await hello(alice.access)).status, 200, 'alice is now in the user cache');

    // A statement that waits on a lock past the statement timeout is a 503 too, not a hang.
    const locker = new pg.Client(url);
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query("SELECT 1 FROM outstanding_tokens WHERE jti = $1 FOR UPDATE", [JSON.parse(Buffer.from(alice.refresh.split('.')[1]!, 'base64url').toString()).jti]);
      const slow = await client.post('/api/token/blacklist/', { json: { refresh: alice.refresh } });
      assert.equal(slow.status, 503, slow.text);
      assert.deepEqual(slow.json(), { detail: 'The store did not answer in time; try again later.', code: 'store_unavailable' });
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }

    server.kill();
    const refused = await login('alice', 'wonderland-42');
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.header('content-type'), 'application/json');
    assert.equal(refused.header('retry-after'), '5');
    assert.deepEqual(refused.json(), { detail: 'The store is unavailable right now; try again later.', code: 'store_unavailable' });
    assert.equal((await client.post('/api/token/refresh/', { json: { refresh: alice.refresh } })).status, 503);
    assert.equal((await client.post('/api/token/verify/', { json: { token: alice.refresh } })).status, 503, 'verify reads the blacklist');
    assert.equal((await hello(alice.access)).status, 200, 'a cached user is served without the store');
    const uncached = await hello(bob.access);
    assert.equal(uncached.status, 503, 'an uncached user needs the store');
    assert.ok(logged.some((l) => l.startsWith('ERROR store unavailable: 127.0.0.1:') && l.includes(`/pgt${databases}`)), logged.join('\n'));

    await server.restart();
    let back = await login('alice', 'wonderland-42');
    for (let i = 0; back.status === 503 && i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      back = await login('alice', 'wonderland-42');
    }
    assert.equal(back.status, 200, 'recovered without a restart of the app');
    assert.equal((await hello(bob.access)).status, 200);
    const rotated = await client.post('/api/token/refresh/', { json: { refresh: bob.refresh } });
    assert.equal(rotated.status, 200, 'writes committed before the outage are all there');
  });
});

describe('Postgres store: durability', () => {
  it('sets synchronous_commit on every connection when told, beside the URL\'s own options; else the server\'s holds', async () => {
    const url = await freshDatabase();
    // The test server runs with synchronous_commit=off: "on" below is the store's doing.
    const cases = [
      { raw: url, options: {}, expected: { sc: 'off', wm: '4MB' } },
      { raw: url, options: { synchronousCommit: 'on' as const }, expected: { sc: 'on', wm: '4MB' } },
      { raw: `${url}?options=-c%20work_mem%3D3MB`, options: { synchronousCommit: 'on' as const }, expected: { sc: 'on', wm: '3MB' } },
      { raw: `${url}?options=-c%20work_mem%3D3MB`, options: {}, expected: { sc: 'off', wm: '3MB' } },
      { raw: url, options: { synchronousCommit: 'remote_apply' as const }, expected: { sc: 'remote_apply', wm: '4MB' } },
    ];
    for (const { raw, options, expected } of cases) {
      const pool = createPool(parseDatabaseUrl(raw), options);
      try {
        const { rows } = await pool.query<{ sc: string; wm: string }>("SELECT current_setting('synchronous_commit') AS sc, current_setting('work_mem') AS wm");
        assert.deepEqual(rows[0], expected, raw);
      } finally {
        await pool.end();
      }
    }
  });

  it('takes the level from --database-synchronous-commit and refuses an unknown one with one line', async () => {
    const { postgresOptionsFromEnv } = await import('../app/store/postgres/connection.ts');
    assert.equal(postgresOptionsFromEnv({}).synchronousCommit, undefined);
    assert.equal(postgresOptionsFromEnv({ LAYERSTACK_DATABASE_SYNCHRONOUS_COMMIT: 'off' }).synchronousCommit, 'off');
    assert.throws(() => postgresOptionsFromEnv({ LAYERSTACK_DATABASE_SYNCHRONOUS_COMMIT: 'sometimes' }), /LAYERSTACK_DATABASE_SYNCHRONOUS_COMMIT.*on, off, local, remote_write, remote_apply/);
    const r = await cli('cli-setactive.ts', ['nobody', 'yes', '--database-url', await freshDatabase(), '--database-synchronous-commit', 'never'], '', {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^npm run setactive: --database-synchronous-commit: expected one of on, off/);
    assert.equal(r.stderr.split('\n').length, 1);
  });
});
