/**
 * Issue 14 defect 7: a data directory that cannot be written at run time. Logins, refreshes and
 * logouts get 503 with a JSON body saying the store cannot be written (not a 500), reads go on
 * (verify, hello), and the error log gets a line naming the database file.
 *
 * "Full" is real: the data directory is a small tmpfs the test mounts (root only; skipped with a
 * message otherwise) and fills. "Read-only" uses SQLite's query_only switch on the open
 * connection, which refuses writes with the same SQLITE_READONLY a read-only file gives.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAuth, type Auth } from '../app/auth/create-auth.ts';
import { Router } from '../app/router.ts';
import { hashPassword } from '../app/store/passwords.ts';
import type { SqliteStore } from '../app/store/store.ts';
import { TestClient } from '../app/testing.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };
const isRoot = process.getuid?.() === 0;

async function stack(dataDir: string, logged: string[]): Promise<{ auth: Auth; client: TestClient; pair: { access: string; refresh: string } }> {
  const auth = await createAuth({
    dataDir,
    env: {},
    settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true },
    passwordParams: CHEAP,
    purgeIntervalMs: false,
    log: (level, line) => logged.push(`${level} ${line}`),
  });
  await auth.store.users.create('alice', await hashPassword('wonderland-42', CHEAP));
  const client = new TestClient(auth.installRoutes(new Router()).app);
  const pair = (await client.post('/api/token/', { json: { username: 'alice', password: 'wonderland-42' } })).json() as { access: string; refresh: string };
  return { auth, client, pair };
}

async function assertWritesRefusedReadsServed(client: TestClient, pair: { access: string; refresh: string }, logged: string[], file: string, kind: string): Promise<void> {
  const expected = { detail: 'The store cannot be written right now; try again later.', code: 'store_read_only' };
  const login = await client.post('/api/token/', { json: { username: 'alice', password: 'wonderland-42' } });
  assert.equal(login.status, 503, login.text);
  assert.deepEqual(login.json(), expected);
  const refresh = await client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
  assert.deepEqual([refresh.status, refresh.json()], [503, expected]);
  const logout = await client.post('/api/token/blacklist/', { json: { refresh: pair.refresh } });
  assert.equal(logout.status, 503);
  assert.equal((await client.post('/api/token/verify/', { json: { token: pair.refresh } })).status, 200, 'verify only reads');
  const hello = await client.get('/api/hello/', { headers: { authorization: `Bearer ${pair.access}` } });
  assert.deepEqual([hello.status, hello.json()], [200, { message: 'hello', user: 'alice' }]);
  assert.ok(logged.some((l) => l.startsWith(`ERROR store ${kind}: ${file}: `)), `a line naming the file: ${logged.join('\n')}`);
}

describe('a data directory that cannot be written at run time', () => {
  it('read-only: writes answered 503 with a JSON body, reads served, the file named in the error log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-ro-'));
    const logged: string[] = [];
    const { auth, client, pair } = await stack(dir, logged);
    try {
      const store = auth.store as SqliteStore;
      store.db.pragma('query_only = ON');
      await assertWritesRefusedReadsServed(client, pair, logged, store.file, 'read-only');
      store.db.pragma('query_only = OFF');
      const again = await client.post('/api/token/refresh/', { json: { refresh: pair.refresh } });
      assert.equal(again.status, 200, 'writable again: served again, the refused rotation did not count');
    } finally {
      await auth.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('full: the same, on a real full file system', { skip: isRoot ? false : 'needs root to mount a small tmpfs' }, async (t) => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'store-full-'));
    let mounted = false;
    after(() => {
      if (mounted) execFileSync('umount', ['-l', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mountPoint]);
      mounted = true;
    } catch (error) {
      t.skip(`cannot mount a tmpfs here: ${(error as Error).message.split('\n')[0]}`);
      return;
    }
    const logged: string[] = [];
    const { auth, client, pair } = await stack(mountPoint, logged);
    try {
      // Fill what is left, then make sure SQLite has no slack in its files either.
      try {
        writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(8 * 1024 * 1024));
      } catch {
        // ENOSPC once the file system is full: that is the point
      }
      for (let i = 0; i < 200; i++) {
        const r = await client.post('/api/token/', { json: { username: 'alice', password: 'wonderland-42' } });
        if (r.status === 503) break;
      }
      await assertWritesRefusedReadsServed(client, pair, logged, (auth.store as SqliteStore).file, 'full');
      rmSync(join(mountPoint, 'filler'));
      const again = await client.post('/api/token/', { json: { username: 'alice', password: 'wonderland-42' } });
      assert.equal(again.status, 200, 'space again: served again');
    } finally {
      await auth.close();
    }
  });
});
