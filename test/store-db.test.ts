import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { ensureAdmin } from '../app/store/ensure-admin.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../app/store/migrations.ts';
import { verifyPassword } from '../app/store/passwords.ts';
import { purgeExpired, startPurge } from '../app/store/purge.ts';
import { DATABASE_FILE, openStore, type SqliteStore as Store } from '../app/store/store.ts';
import { UsernameError } from '../app/store/users.ts';

const run = promisify(execFile);
const CHEAP = { N: 1024, r: 8, p: 1 };
const ROOT = new URL('..', import.meta.url).pathname;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'store-test-'));
}

/** Run a snippet in a separate Node process against the store in `dir`; resolves to its stdout. */
async function inChild(dir: string, code: string): Promise<string> {
  const script = `import { openStore } from './app/store/store.ts';\nconst store = openStore(process.env.DATA_DIR);\ntry {\n${code}\n} finally { store.close(); }`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dir },
    timeout: 30_000,
  });
  return stdout.trim();
}

describe('database', () => {
  let dir: string;
  let store: Store;
  before(() => {
    dir = tempDir();
    store = openStore(join(dir, 'nested', 'data'));
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is created in DATA_DIR (mode 0700) with WAL, foreign keys and every migration recorded', () => {
    assert.equal(store.file, join(dir, 'nested', 'data', DATABASE_FILE));
    assert.equal(statSync(join(dir, 'nested', 'data')).mode & 0o777, 0o700);
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
    const rows = store.db.prepare('SELECT version, name FROM schema_version ORDER BY version').all();
    assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    assert.equal(schemaVersion(store.db), MIGRATIONS.length);
  });

  it('migrates only once, and refuses a database newer than the code', () => {
    assert.deepEqual(migrate(store.db), []);
    const other = new Database(':memory:');
    try {
      assert.deepEqual(migrate(other, MIGRATIONS.slice(0, 1)), [1]);
      assert.deepEqual(migrate(other), [2, 3]);
      other.prepare('INSERT INTO schema_version VALUES (99, ?, 0)').run('future');
      assert.throws(() => migrate(other), /schema is at version 99, newer than this code knows/);
    } finally {
      other.close();
    }
  });

  it('stores users: create, look up, deactivate, last_login; usernames checked and unique', () => {
    const carol = store.users.create('carol', 'scrypt$x', { now: 1000 });
    assert.deepEqual(carol, { id: carol.id, username: 'carol', isActive: true, dateJoined: 1000, lastLogin: null });
    assert.deepEqual(store.users.byId(carol.id), { id: carol.id, username: 'carol', isActive: true });
    assert.equal(store.users.byUsername('Carol'), undefined, 'usernames are case-sensitive');
    assert.throws(() => store.users.create('carol', 'x'), (e: unknown) => e instanceof UsernameError && /already exists/.test(e.message));
    for (const bad of ['', 'has space', 'x'.repeat(151), 'semi;colon']) assert.throws(() => store.users.create(bad, 'x'), UsernameError);
    assert.ok(store.users.create('dé.jà+vu@x-y_z', 'x'));
    assert.equal(store.users.setActive(carol.id, false), true);
    assert.equal(store.users.byId(carol.id)!.isActive, false);
    store.users.recordLogin(carol.id, 2000);
    assert.equal(store.users.byUsername('carol')!.lastLogin, 2000);
    assert.equal(store.users.setPassword(carol.id, 'scrypt$y'), true);
    assert.equal(store.users.setPassword(9999, 'x'), false);
    assert.equal(store.users.byId(9999), undefined);
  });

  it('keeps the refresh-token blacklist: outstanding rows, compare-and-set blacklisting, per-user revocation, purge', () => {
    const dan = store.users.create('dan', 'x');
    const record = (jti: string, expiresAt: number) => ({ jti, userId: dan.id, token: `token-${jti}`, expiresAt, createdAt: 100 });
    store.tokens.recordOutstanding(record('a', 1000));
    store.tokens.recordOutstanding(record('a', 1000));
    assert.equal(store.tokens.isBlacklisted('a'), false);
    assert.equal(store.tokens.blacklist(record('a', 1000), 500), true);
    assert.equal(store.tokens.blacklist(record('a', 1000), 501), false, 'the second caller loses');
    assert.equal(store.tokens.isBlacklisted('a'), true);
    assert.equal(store.tokens.blacklist(record('never-recorded', 3000), 500), true, 'get-or-create, as simplejwt');
    store.tokens.recordOutstanding(record('b', 2000));
    store.tokens.recordOutstanding(record('c', 2000));
    assert.equal(store.tokens.blacklistAllForUser(dan.id, 600), 2, 'b and c; a already was');
    const before = store.tokens.counts();
    assert.equal(store.tokens.purgeExpired(1000), 1, 'a expired at 1000');
    const afterPurge = store.tokens.counts();
    assert.deepEqual([before.outstanding - afterPurge.outstanding, before.blacklisted - afterPurge.blacklisted], [1, 1], 'its blacklist row went with it');
    assert.equal(store.tokens.isBlacklisted('b'), true);
  });

  it('purges expired tokens and stale login counters, now and on a timer', async () => {
    store.loginAttempts.put('user:old', { failures: 3, lastAttemptAt: 1_000 });
    store.loginAttempts.put('user:new', { failures: 3, lastAttemptAt: 90_000_000 });
    store.tokens.recordOutstanding({ jti: 'p', userId: null, token: 't', expiresAt: 10 });
    const result = await purgeExpired(store, { now: () => 90_000_000 + 1, attemptsMaxAgeMs: 60_000 });
    assert.equal(result.loginAttempts, 1);
    assert.ok(result.tokens >= 1);
    assert.equal(store.loginAttempts.get('user:old'), undefined);
    assert.ok(store.loginAttempts.get('user:new'));
    store.tokens.recordOutstanding({ jti: 'q', userId: null, token: 't', expiresAt: 10 });
    const errors: unknown[] = [];
    const stop = startPurge(store, { intervalMs: 60_000, onError: (e) => errors.push(e) });
    stop();
    assert.equal((store.db.prepare("SELECT COUNT(*) AS n FROM outstanding_tokens WHERE jti = 'q'").get() as { n: number }).n, 0, 'the first run is immediate');
    assert.deepEqual(errors, []);
  });
});

describe('first start', () => {
  it('creates admin with a random password printed once, only when there are no users', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    try {
      const lines: string[] = [];
      const password = await ensureAdmin(store, (line) => lines.push(line), CHEAP);
      assert.ok(password !== null && password.length >= 24);
      assert.equal(lines.length, 2);
      assert.ok(lines[0]!.includes(password!));
      const admin = store.users.byUsername('admin')!;
      assert.equal(await verifyPassword(password!, admin.password), true);
      assert.equal(await ensureAdmin(store, (line) => lines.push(line), CHEAP), null);
      assert.equal(lines.length, 2, 'printed once');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates exactly one admin when several processes start at once', async () => {
    const dir = tempDir();
    try {
      const outputs = await Promise.all(
        [1, 2, 3].map(() =>
          inChild(dir, `const { ensureAdmin } = await import('./app/store/ensure-admin.ts');\nawait ensureAdmin(store, (l) => console.log(l), { N: 1024, r: 8, p: 1 });`),
        ),
      );
      assert.equal(outputs.filter((o) => o.includes('Created user "admin"')).length, 1, outputs.join('\n---\n'));
      const store = openStore(dir);
      try {
        assert.equal(store.users.count(), 1);
        assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n, MIGRATIONS.length, 'migrated once');
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('across processes', () => {
  it('a database written by one process is read by another, both ways', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    try {
      const erin = store.users.create('erin', 'scrypt$hash');
      store.tokens.blacklist({ jti: 'jti-parent', userId: erin.id, token: 't', expiresAt: 4_000_000_000 }, 1);
      const seen = JSON.parse(
        await inChild(
          dir,
          `const erin = store.users.byUsername('erin');
           store.users.create('frank', 'scrypt$other');
           store.users.setActive(erin.id, false);
           store.tokens.blacklist({ jti: 'jti-child', userId: erin.id, token: 't', expiresAt: 4_000_000_000 }, 1);
           console.log(JSON.stringify({ erin: erin.username, blacklisted: store.tokens.isBlacklisted('jti-parent') }));`,
        ),
      );
      assert.deepEqual(seen, { erin: 'erin', blacklisted: true });
      // Our long-lived connection (a worker's) sees the child's writes without reopening.
      assert.ok(store.users.byUsername('frank'));
      assert.equal(store.users.byId(erin.id)!.isActive, false);
      assert.equal(store.tokens.isBlacklisted('jti-child'), true);
      assert.equal(store.tokens.blacklist({ jti: 'jti-child', userId: erin.id, token: 't', expiresAt: 4_000_000_000 }, 2), false);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
