/**
 * Shared set-up for the auth tests (not a test file itself): a fresh data directory, the auth
 * stack with a controllable clock and a recording sleep, the demo-shaped app (token views,
 * /api/hello/, and /api/ping/ behind eager authentication) and a TestClient on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuth, type Auth, type AuthOptions } from '../app/auth/create-auth.ts';
import type { App } from '../app/interface.ts';
import { Router } from '../app/router.ts';
import { hashPassword, type ScryptParams } from '../app/store/passwords.ts';
import { TestClient } from '../app/testing.ts';

/** Cheap scrypt parameters so tests do not spend 30 ms per hash (the format is the same). */
export const TEST_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1 };

/** The reference transcript's login instant (iat 1795949239). */
export const START_MS = 1_795_949_239_000;

/** Alice, as in the reference stack. */
export const ALICE = { username: 'alice', password: 'wonderland-42' } as const;

/** A clock tests move by hand. */
export class FakeClock {
  ms: number;
  constructor(ms = START_MS) {
    this.ms = ms;
  }
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** Everything a test needs. */
export interface AuthFixture {
  readonly auth: Auth;
  readonly app: App;
  readonly client: TestClient;
  readonly clock: FakeClock;
  /** Every delay a throttled login asked for, in ms. */
  readonly sleeps: number[];
  readonly dataDir: string;
  readonly aliceId: number;
  /** Log alice in and return her pair. */
  login(): Promise<{ access: string; refresh: string }>;
  close(): Promise<void>;
}

const PING: App = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });

/** Build a fixture; `options` are passed to createAuth (rotation + blacklist on by default, as in the demo). */
export async function authFixture(options: AuthOptions = {}): Promise<AuthFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-test-'));
  const clock = new FakeClock();
  const sleeps: number[] = [];
  const auth = await createAuth({
    dataDir,
    env: {},
    now: clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    passwordParams: TEST_SCRYPT,
    purgeIntervalMs: false,
    // Tests deactivate users and expect the next request to see it (the cache has its own test).
    userCacheMs: 0,
    ...options,
    settings: { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, ...options.settings },
  });
  const alice = await auth.store.users.create(ALICE.username, await hashPassword(ALICE.password, TEST_SCRYPT));
  const router = new Router();
  auth.installRoutes(router);
  router.get('/api/ping/', auth.middleware(PING));
  const client = new TestClient(router.app);
  return {
    auth,
    app: router.app,
    client,
    clock,
    sleeps,
    dataDir,
    aliceId: alice.id,
    async login() {
      const response = await client.post('/api/token/', { json: ALICE });
      if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.text}`);
      return response.json();
    },
    async close() {
      await auth.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Split a JWT and decode its header and payload (no verification). */
export function decodeToken(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
    signature,
  };
}

/** A copy of `token` with one signature character changed: never the last one (PyJWT ignores a last character's unused bits; docs/auth.md). */
export function tamperSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const at = dot + 5;
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + replacement + token.slice(at + 1);
}
