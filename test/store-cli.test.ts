/**
 * The store's command-line tools, run as a user would run them (a child process, password on
 * stdin since the test has no terminal; the terminal prompt is covered in store-passwords).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyPassword } from '../app/store/passwords.ts';
import { openStore } from '../app/store/store.ts';

const ROOT = new URL('..', import.meta.url).pathname;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(dir: string, script: string, args: string[], stdin: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `app/store/${script}`, ...args], {
      cwd: ROOT,
      env: { ...process.env, LAYERSTACK_DATA_DIR: undefined, DATA_DIR: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
    });
    child.stdin.end(stdin);
  });
}

describe('createuser, changepassword, setactive', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'store-cli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('createuser reads the password from stdin and stores a verifiable hash', async () => {
    const r = await cli(dir, 'cli-createuser.ts', ['carol'], 'carol-secret-1\n');
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'Created user "carol" (id 1).', '']);
    const store = openStore(dir);
    try {
      const carol = store.users.byUsername('carol')!;
      assert.equal(carol.isActive, true);
      assert.match(carol.password, /^scrypt\$16384\$/);
      assert.equal(await verifyPassword('carol-secret-1', carol.password), true);
    } finally {
      store.close();
    }
  });

  it('createuser refuses duplicates, bad names, weak passwords and bad usage with a message, not a stack', async () => {
    const cases: [string[], string, number, RegExp][] = [
      [['carol'], 'another-secret-1\n', 1, /already exists/],
      [['bad name'], 'another-secret-1\n', 1, /Enter a valid username/],
      [['dave'], 'short\n', 1, /too short/],
      [['dave'], 'two\nlines\n', 1, /several lines/],
      [[], '', 2, /^npm run createuser: missing argument: expected npm run createuser -- <username>$/],
      [['dave', 'eve'], '', 2, /^npm run createuser: "eve": expected npm run createuser -- <username>$/],
      [['dave', '--active'], '', 2, /^npm run createuser: --active: expected an option from `npm run createuser --help`$/],
    ];
    const results = await Promise.all(cases.map(([args, stdin]) => cli(dir, 'cli-createuser.ts', args, stdin)));
    results.forEach((r, i) => {
      const [, , code, message] = cases[i]!;
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    });
  });

  it('changepassword replaces the hash and revokes the refresh tokens; setactive toggles the user', async () => {
    const store = openStore(dir);
    try {
      const carol = store.users.byUsername('carol')!;
      store.tokens.recordOutstanding({ jti: 'carol-1', userId: carol.id, token: 't', expiresAt: 4_000_000_000 });
      const [changed, inactive, missing] = await Promise.all([
        cli(dir, 'cli-changepassword.ts', ['carol'], 'carol-secret-2\n'),
        cli(dir, 'cli-createuser.ts', ['erin', '--inactive'], 'erin-secret-11\n'),
        cli(dir, 'cli-changepassword.ts', ['nobody'], 'whatever-123\n'),
      ]);
      assert.deepEqual([changed.code, changed.stdout], [0, 'Password changed for user "carol"; 1 refresh token(s) revoked.']);
      assert.equal(await verifyPassword('carol-secret-2', store.users.byUsername('carol')!.password), true);
      assert.equal(store.tokens.isBlacklisted('carol-1'), true);
      assert.deepEqual([inactive.code, store.users.byUsername('erin')!.isActive], [0, false]);
      assert.deepEqual([missing.code, missing.stderr], [1, 'error: user "nobody" does not exist']);
      const activated = await cli(dir, 'cli-setactive.ts', ['erin', 'yes'], '');
      assert.deepEqual([activated.code, activated.stdout], [0, 'User "erin" is now active.']);
      assert.equal(store.users.byUsername('erin')!.isActive, true);
      const maybe = await cli(dir, 'cli-setactive.ts', ['erin', 'maybe'], '');
      assert.deepEqual([maybe.code, maybe.stderr], [2, 'npm run setactive: "maybe": expected yes or no (npm run setactive -- <username> yes|no)']);
    } finally {
      store.close();
    }
  });
});

describe('the store tools\' command line', () => {
  it('--help exits 0 without touching the data directory; an unusable data directory is one line and exit 2', async () => {
    const missing = join(tmpdir(), `store-cli-never-created-${process.pid}`);
    const [help, badDir, badFlag] = await Promise.all([
      cli(missing, 'cli-createuser.ts', ['--help'], ''),
      cli('/etc/hostname/layerstack', 'cli-createuser.ts', ['frank'], 'frank-secret-1\n'),
      cli(missing, 'cli-changepassword.ts', ['frank', '--data-dir', '/proc/version/x'], ''),
    ]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: npm run createuser -- \[options\] <username>/);
    assert.match(help.stdout, /--inactive, --no-inactive/);
    assert.match(help.stdout, /--data-dir DIR[\s\S]*env: LAYERSTACK_DATA_DIR, DATA_DIR/);
    assert.equal(existsSync(missing), false, '--help has no side effects');
    assert.deepEqual([badDir.code, badDir.stderr], [2, 'npm run createuser: --data-dir /etc/hostname/layerstack: expected a directory this user can create or write; /etc/hostname is not a directory']);
    assert.deepEqual([badFlag.code, badFlag.stderr], [2, 'npm run changepassword: --data-dir /proc/version/x: expected a directory this user can create or write; /proc/version is not a directory']);
  });
});
