/**
 * Path traversal: more than 30 spellings of "a file outside the static folder", sent as raw bytes
 * (clients would normalise them), on both engines. None may return a byte of the secret file;
 * the interesting ones must get the specific status (400 above the root or malformed, 403 symlink
 * out of the root, 404 for names that merely look odd). Also the pure resolver functions.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileUnderRoot, normalizeUrlPath, resolveFilePath } from '../wire/static-path.ts';
import { ENGINES, rawRequest, startTestFront, startUpstream } from './proxy-harness.ts';
import type { TestFront, TestUpstream } from './proxy-harness.ts';

const SECRET = 'TOP-SECRET-CONTENT';
const dir = mkdtempSync(join(tmpdir(), 'front-traversal-'));
const root = join(dir, 'static');

before(() => {
  mkdirSync(join(root, 'docs'), { recursive: true });
  mkdirSync(join(dir, 'static-evil'));
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(dir, 'static-evil', 'x'), SECRET);
  writeFileSync(join(root, 'public.txt'), 'public');
  writeFileSync(join(root, '.env'), SECRET);
  symlinkSync(join(dir, 'secret.txt'), join(root, 'link-out'));
  symlinkSync(dir, join(root, 'dirlink'));
  symlinkSync(join(root, 'public.txt'), join(root, 'link-in'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** [raw path, expected status or null for "any refusal"]. */
const ATTEMPTS: [string, number | null][] = [
  ['/static/../../secret.txt', 400],
  ['/static/../../../../etc/passwd', 400],
  ['/static/%2e%2e/%2e%2e/secret.txt', 400],
  ['/static/%2E%2E/%2E%2E/secret.txt', 400],
  ['/static/%2e%2e%2f%2e%2e%2fsecret.txt', 400],
  ['/static/..%2f..%2fsecret.txt', 400],
  ['/static/..%2F..%2Fsecret.txt', 400],
  ['/static/%2e./%2e./secret.txt', 400],
  ['/static/.%2e/.%2e/secret.txt', 400],
  ['/static/..%5csecret.txt', 400],
  ['/static/..\\secret.txt', null],
  ['/static/%5c..%5c..%5csecret.txt', 400],
  ['/static/%2e%2e%5c%2e%2e%5cetc%5cpasswd', 400],
  ['/static/%252e%252e/secret.txt', 404],
  ['/static/%252e%252e%252fsecret.txt', 404],
  ['/static/..%252fsecret.txt', 404],
  ['/static/secret.txt%00.css', 400],
  ['/static/public.txt%00', 400],
  ['/static/.%00./secret.txt', 400],
  ['/static/%00', 400],
  ['/static/....//secret.txt', 404],
  ['/static/..../secret.txt', 404],
  ['/static/.../secret.txt', 404],
  ['/static/./../../secret.txt', 400],
  ['/static//../../secret.txt', 400],
  ['/static/docs/../../../secret.txt', 400],
  ['/static/%c0%ae%c0%ae/secret.txt', 400],
  ['/static/%e0%80%ae%e0%80%ae/secret.txt', 400],
  ['/static/%u002e%u002e/secret.txt', 400],
  ['/static/..%c0%afsecret.txt', 400],
  ['/static/..;/secret.txt', 404],
  ['/static/%2f..%2f..%2fsecret.txt', 400],
  ['/static/.%2e%2f.%2e%2fsecret.txt', 400],
  ['/%2e%2e/secret.txt', 400],
  ['/static/link-out', 403],
  ['/static/dirlink/secret.txt', 403],
  ['/static/dirlink/static-evil/x', 403], // real path shares the root's name as a prefix
  ['/static/.env', 404],
  ['/static/%2eenv', 404],
  // One level up lands on a path outside /static/: normalised and proxied (as Nginx does); the
  // upstream answers 404 and the file system is never touched.
  ['/static/../secret.txt', 404],
  ['/static/%2e%2e/secret.txt', 404],
  ['/static../secret.txt', 404],
  ['/static/%2e%2e/static-evil/x', 404],
];

const PROXIED = ['/static/../secret.txt', '/static/%2e%2e/secret.txt', '/static../secret.txt', '/static/%2e%2e/static-evil/x'];

for (const engine of ENGINES) {
  describe(`traversal attempts (${engine})`, () => {
    let t: TestFront;
    let upstream: TestUpstream;
    before(async () => {
      upstream = await startUpstream((seen, _req, res) => {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end(`upstream 404 for ${seen.url}`);
      });
      t = await startTestFront(engine, { static: [`/static/=${root}`], upstream: [upstream.address] });
    });
    after(async () => {
      await t.close();
      await upstream.close();
    });

    it(`refuses all ${ATTEMPTS.length} spellings and never leaks the file`, async () => {
      assert.ok(ATTEMPTS.length >= 30);
      for (const [path, expected] of ATTEMPTS) {
        const reply = await rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
        assert.ok(!reply.text.includes(SECRET), `${path} leaked the secret`);
        if (expected === null) {
          // uWS closes on a raw backslash in the request line; node:http parses it and we refuse.
          assert.ok(reply.status === null ? reply.closed : reply.status >= 400 && reply.status < 500, `${path} → ${reply.status}`);
        } else {
          assert.equal(reply.status, expected, `${path} → ${reply.text.split('\r\n')[0]}`);
        }
      }
      // Only the four one-level spellings (normalised to a path outside /static/) were proxied.
      assert.deepEqual(upstream.requests.map((r) => r.url).sort(), [...PROXIED].sort());
    });

    it('still serves what is inside: plain, dot segments that stay inside, symlinks within the root', async () => {
      for (const path of ['/static/public.txt', '/static/docs/../public.txt', '/static/./public.txt', '/static//public.txt', '/static/link-in', '/static/%70ublic.txt']) {
        const reply = await rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
        assert.equal(reply.status, 200, path);
        assert.ok(reply.text.endsWith('public'), path);
      }
    });
  });
}

describe('resolve.ts (used by the dev server too)', () => {
  it('normalises dot segments and slashes, decoding exactly once', () => {
    const ok = (raw: string, path: string) => assert.deepEqual(normalizeUrlPath(raw), { ok: true, path });
    ok('/a/b/../c', '/a/c');
    ok('/a//b/./c/', '/a/b/c/');
    ok('/a/..', '/');
    ok('/a/.', '/a/');
    ok('/a%20b', '/a b');
    ok('/%252e%252e/x', '/%2e%2e/x');
    ok('/static../x', '/static../x');
  });

  it('refuses what must not reach the disk with 400', () => {
    for (const raw of ['/..', '/a/../..', '/%2e%2e', '/a%00', '/a%5cb', '/a\\b', '/%ff', 'a/b', '/%zz', '/a%0d%0ab']) {
      const result = normalizeUrlPath(raw);
      assert.equal(result.ok, false, raw);
      if (!result.ok) assert.equal(result.status, 400, raw);
    }
  });

  it('maps a mount-relative path under the root, refusing dotfiles', () => {
    assert.deepEqual(resolveFilePath('/srv/static', 'css/app.css'), { ok: true, file: '/srv/static/css/app.css', directory: false });
    assert.deepEqual(resolveFilePath('/srv/static/', '/img/'), { ok: true, file: '/srv/static/img', directory: true });
    assert.deepEqual(resolveFilePath('/srv/static', ''), { ok: true, file: '/srv/static', directory: true });
    assert.equal(resolveFilePath('/srv/static', '../etc/passwd').ok, false);
    assert.equal(resolveFilePath('/srv/static', '%2e%2e/etc/passwd').ok, false);
    const dotfile = resolveFilePath('/srv/static', '.git/config');
    assert.equal(dotfile.ok, false);
    if (!dotfile.ok) assert.equal(dotfile.status, 404);
    assert.equal(resolveFilePath('/srv/static', '.well-known/x', true).ok, true);
    assert.deepEqual(fileUnderRoot('/srv/static', '/a/b.txt'), { ok: true, file: '/srv/static/a/b.txt', directory: false });
  });
});
