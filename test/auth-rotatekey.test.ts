/**
 * `npm run rotatekey` (app/auth/cli-rotatekey.ts, key-rotation.ts): the signing key generated in
 * the data directory is replaced; an app started afterwards signs with the new key, still
 * verifies (and refreshes) the old key's tokens until the old key's time is up, and publishes
 * both keys in its JWKS (jose is the oracle); once that time has passed the old key is gone. Bad
 * input is one line on stderr and a non-zero exit, with nothing changed on disk.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { createAuth, type Auth } from '../app/auth/create-auth.ts';
import { thumbprint } from '../app/auth/key-set.ts';
import { loadOrCreateSigningKey } from '../app/auth/signing-key.ts';
import { Router } from '../app/router.ts';
import { hashPassword } from '../app/store/passwords.ts';
import { TestClient } from '../app/testing.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHEAP = { N: 1024, r: 8, p: 1 };
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const dataDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'rotatekey-'));
  dirs.push(dir);
  return dir;
};

/** The command's environment: none of the developer's key or store settings leak in. */
const clean = (env: Record<string, string>): NodeJS.ProcessEnv => {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(SIMPLE_JWT_|LAYERSTACK_|SIGNING_KEY$|DATA_DIR$|DATABASE_URL$)/.test(name)));
  return { ...base, ...env };
};

function rotatekey(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/auth/cli-rotatekey.ts', ...args], { cwd: ROOT, env: clean(env), stdio: ['ignore', 'pipe', 'pipe'] });
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
  });
}

/** The files of `dir` with their contents, to show a refused command changed nothing. */
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));

describe('npm run rotatekey', () => {
  it('the new key signs; the old key verifies and refreshes its tokens until its time is up; the JWKS lists both, then only the new', async () => {
    const dir = dataDir();
    let clock = Date.now();
    const open = async (): Promise<{ auth: Auth; client: TestClient }> => {
      // ALGORITHM from the environment, as the demo app reads it; no SIGNING_KEY: the key is generated in `dir`.
      const auth = await createAuth({ dataDir: dir, env: { SIMPLE_JWT_ALGORITHM: 'ES256' }, settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true }, passwordParams: CHEAP, purgeIntervalMs: false, userCacheMs: 0, now: () => clock });
      return { auth, client: new TestClient(auth.installRoutes(new Router()).app) };
    };
    const login = async (client: TestClient) => {
      const r = await client.post('/api/token/', { json: { username: 'alice', password: 'wonderland-42' } });
      assert.equal(r.status, 200, r.text);
      return r.json() as { access: string; refresh: string };
    };

    const before = await open();
    await before.auth.store.users.create('alice', await hashPassword('wonderland-42', CHEAP));
    const old = await login(before.client);
    await before.auth.close();
    const oldKid = jose.decodeProtectedHeader(old.access).kid!;

    const rotated = await rotatekey(['--data-dir', dir]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(rotated.stdout.split('\n').length, 1, rotated.stdout);
    assert.match(rotated.stdout, new RegExp(`^Rotated the ES256 signing key in .*: new kid (\\S+); the old key \\(kid ${oldKid}\\) keeps verifying until \\S+Z\\. Reload the server`));
    const newKid = /new kid (\S+);/.exec(rotated.stdout)![1]!;
    const until = Date.parse(/until (\S+Z)\./.exec(rotated.stdout)![1]!);
    // The default keep: REFRESH_TOKEN_LIFETIME (one day) + LEEWAY (0).
    assert.ok(Math.abs(until - (Date.now() + 24 * 3600 * 1000)) < 120_000, `kept a day, until ${new Date(until).toISOString()}`);

    const afterRotation = await open();
    try {
      const { client } = afterRotation;
      const hello = (access: string) => client.get('/api/hello/', { headers: { authorization: `Bearer ${access}` } });
      assert.equal((await hello(old.access)).status, 200, 'a token of the old key still verifies');
      const fresh = await login(client);
      assert.equal(jose.decodeProtectedHeader(fresh.access).kid, newKid, 'the new key signs');
      const jwks = (await client.get('/.well-known/jwks.json')).json() as jose.JSONWebKeySet;
      assert.deepEqual(jwks.keys.map((k) => k.kid), [newKid, oldKid]);
      assert.ok(jwks.keys.every((k) => !('exp' in k) && !('d' in k)), 'the JWKS publishes plain public keys');
      await jose.jwtVerify(old.access, jose.createLocalJWKSet(jwks));
      await jose.jwtVerify(fresh.access, jose.createLocalJWKSet(jwks));
      const refreshed = await client.post('/api/token/refresh/', { json: { refresh: old.refresh } });
      assert.equal(refreshed.status, 200, 'a refresh token of the old key is honoured, and rotated onto the new key');
      assert.equal(jose.decodeProtectedHeader((refreshed.json() as { refresh: string }).refresh).kid, newKid);
    } finally {
      await afterRotation.auth.close();
    }

    // Past the old key's time: an app started now no longer knows it.
    clock = until + 1000;
    const later = await open();
    try {
      const jwks = (await later.client.get('/.well-known/jwks.json')).json() as jose.JSONWebKeySet;
      assert.deepEqual(jwks.keys.map((k) => k.kid), [newKid]);
    } finally {
      await later.auth.close();
    }

    // A second rotation drops the key whose time is up (run with the real clock: pass a short keep first).
    const again = await rotatekey(['--data-dir', dir, '--keep-for', '2s']);
    assert.equal(again.code, 0, again.stderr);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const third = await rotatekey(['--data-dir', dir]);
    assert.equal(third.code, 0, third.stderr);
    const retired = JSON.parse(readFileSync(join(dir, 'jwt-retired-keys.es256.json'), 'utf8')) as { keys: { kid: string }[] };
    assert.equal(retired.keys.length, 2, 'the first old key (a day) and the third (a day) are kept; the second (2 s) is dropped');
    assert.match(third.stdout, /1 retired key past its time dropped/);
    assert.ok(retired.keys.some((k) => k.kid === oldKid));
  });

  it('bad input: one line, a non-zero exit, nothing changed', async () => {
    const empty = dataDir();
    const hmac = dataDir();
    loadOrCreateSigningKey(hmac, 'HS256');
    const two = dataDir();
    loadOrCreateSigningKey(two, 'RS256');
    loadOrCreateSigningKey(two, 'EdDSA');
    const cases: { args: string[]; env?: Record<string, string>; code: number; message: RegExp; dir: string }[] = [
      { dir: empty, args: ['--data-dir', empty], code: 1, message: /there is no generated signing key in .*: nothing to rotate$/ },
      { dir: empty, args: ['--data-dir', empty, '--algorithm', 'ES256'], code: 1, message: /there is no ES256 signing key in .* yet/ },
      { dir: hmac, args: ['--data-dir', hmac], code: 2, message: /--algorithm: expected an asymmetric algorithm .*HS256 tokens carry no kid/ },
      { dir: two, args: ['--data-dir', two], code: 2, message: /--algorithm: expected one of RS256, EdDSA/ },
      { dir: two, args: ['--data-dir', two, '--algorithm', 'RS257'], code: 2, message: /--algorithm: expected one of HS256/ },
      { dir: two, args: ['--data-dir', two, '--algorithm', 'RS256', '--keep-for', 'a while'], code: 2, message: /--keep-for: expected a duration/ },
      { dir: two, args: ['--data-dir', two, '--algorithm', 'RS256'], env: { SIGNING_KEY: 'configured-elsewhere-0123456789' }, code: 2, message: /SIGNING_KEY: expected unset/ },
      { dir: two, args: ['--data-dir', two, 'extra'], code: 2, message: /./ },
    ];
    for (const { dir, args, env, code, message } of cases) {
      const before = snapshot(dir);
      const r = await rotatekey(args, env);
      const what = `rotatekey ${args.join(' ')}`;
      assert.equal(r.code, code, `${what}: ${r.stderr}`);
      assert.equal(r.stdout, '', what);
      assert.equal(r.stderr.split('\n').length, 1, `${what}: one line: ${r.stderr}`);
      assert.match(r.stderr, /^npm run rotatekey: /, what);
      assert.match(r.stderr, message, what);
      assert.deepEqual(snapshot(dir), before, `${what}: nothing changed`);
    }
  });

  it('one rotation at a time: the lock of a live rotation refuses another, that of a dead one is taken over, rotations started together lose no key', async () => {
    const dir = dataDir();
    loadOrCreateSigningKey(dir, 'RS256');
    const lock = join(dir, 'jwt-signing-key.rs256.rotating');

    // A live owner on this host (this test's own process), and one on another host: refused, nothing changed.
    for (const [owner, says] of [[`${hostname()} ${process.pid}`, new RegExp(`\\(process ${process.pid} holds .*rotating\\)`)], ['db-2.internal 4242', /\(process 4242 on host db-2\.internal holds /]] as const) {
      writeFileSync(lock, `${owner}\n`);
      const before = snapshot(dir);
      const r = await rotatekey(['--data-dir', dir]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^npm run rotatekey: another rotation of this key is running /);
      assert.match(r.stderr, says);
      assert.deepEqual(snapshot(dir), before, 'nothing changed');
    }

    // A rotation that was killed midway left its lock: its process is gone, so the lock is stale.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, `${hostname()} ${dead}\n`);
    const taken = await rotatekey(['--data-dir', dir]);
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(existsSync(lock), false, 'the lock is removed when the rotation is done');

    // Several at once: each either rotates or is refused by the lock; every key that was ever
    // current is still current or retired.
    const runs = await Promise.all([1, 2, 3, 4].map(() => rotatekey(['--data-dir', dir])));
    const done = runs.filter((r) => r.code === 0);
    assert.ok(done.length >= 1, runs.map((r) => r.stderr).join('\n'));
    for (const r of runs.filter((r) => r.code !== 0)) assert.match(r.stderr, /another rotation of this key is running/);
    const current = thumbprint(createPrivateKey(readFileSync(join(dir, 'jwt-signing-key.rs256'), 'utf8')));
    const retired = (JSON.parse(readFileSync(join(dir, 'jwt-retired-keys.rs256.json'), 'utf8')) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const everCurrent = [/new kid (\S+);/.exec(taken.stdout)![1]!, ...done.map((r) => /new kid (\S+);/.exec(r.stdout)![1]!)];
    for (const kid of everCurrent) assert.ok(kid === current || retired.includes(kid), `key ${kid} is current (${current}) or retired (${retired.join(', ')})`);
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp') || name.endsWith('.rotating')), [], 'no lock or temporary file is left');
  });
});
