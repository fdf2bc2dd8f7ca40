import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PasswordInputError, readNewPassword, readPipedPassword } from '../app/store/password-input.ts';
import { passwordProblem } from '../app/store/password-rules.ts';
import { DEFAULT_SCRYPT, checkScryptParams, describeHash, hashPassword, isUsableHash, needsRehash, verifyPassword } from '../app/store/passwords.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('are self-describing scrypt hashes in Django format, salted per hash', async () => {
    const a = await hashPassword('wonderland-42', CHEAP);
    const b = await hashPassword('wonderland-42', CHEAP);
    assert.match(a, /^scrypt\$1024\$[A-Za-z0-9]{22}\$8\$1\$[A-Za-z0-9+/]{86}==$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('wonderland-42', a), true);
    assert.equal(await verifyPassword('wonderland-43', a), false);
    assert.equal(await verifyPassword('', a), false);
    assert.equal(describeHash(a), 'scrypt N=1024 r=8 p=1');
  });

  it("verify hashes made by Python/Django (scrypt and pbkdf2_sha256 vectors from CPython's hashlib)", async () => {
    const scrypt =
      'scrypt$16384$DjangoSaltSaltSalt1234$8$1$/s3tHYVOHw3H7vIRseL0teX2SxFWY+mfnLIzLpCbrc4qeEhAVut1Wd4xG+t58Zw2HbB9F8uWKnRy8+Dm/a3ZLA==';
    const pbkdf2 = 'pbkdf2_sha256$260000$DjangoSaltSaltSalt1234$cn5CV5o+xQYP0RkgBmQugCntXgTVGEkSErs0auNcERQ=';
    assert.equal(await verifyPassword('wonderland-42', scrypt), true);
    assert.equal(await verifyPassword('wonderland-4', scrypt), false);
    assert.equal(await verifyPassword('wonderland-42', pbkdf2), true);
    assert.equal(needsRehash(scrypt), false, 'Django defaults are our defaults');
    assert.equal(needsRehash(pbkdf2), true);
    assert.equal(needsRehash(scrypt, { N: 2 ** 15, r: 8, p: 1 }), true, 'raised parameters ask for a rehash');
  });

  it('never match malformed, unknown or unusable hashes, and refuse absurd stored parameters without trying', async () => {
    for (const bad of ['', '!', '!unusable', 'md5$x$y', 'scrypt$abc', 'scrypt$1000$salt$8$1$aGFzaA==', 'scrypt$1024$$8$1$aGFzaA==', `scrypt$${2 ** 30}$salt$8$1$aGFzaA==`, 'scrypt$1024$salt$8$99$aGFzaA==', 'pbkdf2_sha256$0$salt$aGFzaA==', 'pbkdf2_sha256$99999999999$salt$aGFzaA==']) {
      assert.equal(await verifyPassword('x', bad), false, bad);
      assert.equal(isUsableHash(bad), false, bad);
    }
    assert.equal(needsRehash('!unusable'), false);
    assert.equal(describeHash('!'), 'unusable');
    assert.throws(() => checkScryptParams({ N: 1000, r: 8, p: 1 }), /power of two/);
    assert.throws(() => checkScryptParams({ N: 2 ** 20, r: 8, p: 1 }), /needs more than 256 MiB/);
  });

  it('hash off the event loop: timers keep firing while a default-cost hash runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const started = performance.now();
      const hash = await hashPassword('correct horse battery staple', DEFAULT_SCRYPT);
      assert.ok(await verifyPassword('correct horse battery staple', hash));
      const elapsed = performance.now() - started;
      // Not a timing assertion on speed: only that the loop turned during the work.
      assert.ok(ticks > 0, `no timer tick in ${elapsed.toFixed(1)} ms of hashing`);
    } finally {
      clearInterval(timer);
    }
  });

  it('hash a 1 MB password like any other (the views cap at 4096 characters)', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const hash = await hashPassword(big, CHEAP);
    assert.equal(await verifyPassword(big, hash), true);
    assert.equal(await verifyPassword(big.slice(1), hash), false);
  });
});

describe('password rules for the CLIs', () => {
  it('refuse short, long, numeric, username-equal and whitespace-padded passwords', () => {
    assert.equal(passwordProblem('wonderland-42', 'alice'), null);
    assert.match(passwordProblem('short', 'alice')!, /too short/);
    assert.match(passwordProblem('x'.repeat(4097), 'alice')!, /too long/);
    assert.match(passwordProblem('1234567890', 'alice')!, /entirely numeric/);
    assert.match(passwordProblem('AliceAlice', 'alicealice')!, /same as the username/);
    assert.match(passwordProblem(' wonderland-42', 'alice')!, /whitespace/);
  });
});

describe('password input', () => {
  it('reads one line from a pipe', async () => {
    const from = async (text: string) => {
      const input = new PassThrough();
      input.end(text);
      return readPipedPassword(input);
    };
    assert.equal(await from('s3cret-pass\n'), 's3cret-pass');
    assert.equal(await from('s3cret-pass\r\n'), 's3cret-pass');
    assert.equal(await from('no newline'), 'no newline');
    await assert.rejects(from('two\nlines\n'), PasswordInputError);
    await assert.rejects(from(''), PasswordInputError);
    await assert.rejects(from('\n'), PasswordInputError);
  });

  it('prompts twice on a terminal in raw mode, with editing keys, and restores the terminal', async () => {
    const run = async (keys: string[]) => {
      const input = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[], setRawMode(this: { raw: boolean[] }, on: boolean) { this.raw.push(on); return this; } });
      const output = new PassThrough();
      let shown = '';
      output.on('data', (d: Buffer) => (shown += d.toString()));
      const result = readNewPassword({ input, output });
      for (const k of keys) {
        await new Promise((resolve) => setImmediate(resolve));
        input.write(k);
      }
      try {
        return { password: await result, shown, raw: input.raw };
      } catch (error) {
        return { error, shown, raw: input.raw };
      }
    };
    const ok = await run(['secrex\u007ft', '-pass\r', 'secret-pass\u001b[D\n']);
    assert.equal(ok.password, 'secret-pass');
    assert.equal(ok.shown, 'Password: \nPassword (again): \n', 'nothing typed is echoed');
    assert.deepEqual(ok.raw, [true, false, true, false]);
    const mismatch = await run(['one-password\r', 'another-one\r']);
    assert.match(String((mismatch.error as Error).message), /don't match/);
    const interrupted = await run(['abc\u0003']);
    assert.ok(interrupted.error instanceof PasswordInputError);
    assert.deepEqual(interrupted.raw, [true, false]);
  });
});
