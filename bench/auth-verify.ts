/**
 * The authentication hot path, in process, one thread: our HS256 verify and the whole per-request
 * authentication step, with and without their caches, beside fast-jwt's verifier with and
 * without its cache, on the same simplejwt-shaped access token and secret: the check of issue 5's
 * goal (our verify ≥ fast-jwt's), and where the time of an authenticated request goes.
 *
 *   npm run bench:jwt -- [--rounds 7] [--sample 400ms]     (--help: the options)
 *
 * Contenders run interleaved, one sample each per round, after waiting for a quiet box; the
 * ratio to fast-jwt (cache off) is taken per round, then its median (bench/stats.ts). Every
 * contender is first checked to accept the token and to refuse a tampered one. Compare cached
 * with cached and uncached with uncached: a cache hit skips the HMAC in both libraries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtAuthentication } from '../app/auth/authentication.ts';
import { JwtCodec } from '../app/auth/jwt.ts';
import { resolveKeys } from '../app/auth/keys.ts';
import { resolveSettings } from '../app/auth/settings.ts';
import { TokenService } from '../app/auth/tokens.ts';
import { CachedUserLookup } from '../app/auth/user-cache.ts';
import { VerifiedTokenCache } from '../app/auth/verified-token-cache.ts';
import { bufferedBody } from '../app/body.ts';
import { RequestHeaders } from '../app/headers.ts';
import { HostedRequest } from '../app/request.ts';
import { openStore } from '../app/store/store.ts';
import { duration, integer, optionsOrExit } from '../options/index.ts';
import { waitForQuiet } from './quiet.ts';
import { median, pairedRatio } from './stats.ts';

const { checked: options } = optionsOrExit(
  {
    name: 'npm run bench:jwt',
    summary: 'The authentication hot path in one process: our HS256 verify and the whole per-request auth step, against jose and fast-jwt, side by side.',
    options: {
      rounds: integer({ min: 1, default: 7, help: 'Rounds; the order of the contenders rotates per round.' }),
      sample: duration({ min: 1, default: 400, help: 'Measured time of each contender per round.' }),
    },
  },
  process.argv.slice(2),
  process.env,
  (r) => r.values,
);
const ROUNDS = options.rounds;
const SAMPLE_MS = options.sample;
const SECRET = 'django-insecure-0123456789abcdefghijklmnopqrstuvwx'; // 50 characters, like a SECRET_KEY

type Verify = (token: string) => unknown;
const fastJwt = createRequire(import.meta.url)('fast-jwt') as {
  createVerifier(options: { key: string; algorithms: string[]; cache?: boolean }): Verify;
};

const settings = resolveSettings({ SIGNING_KEY: SECRET });
const codec = new JwtCodec({ algorithm: 'HS256', keys: resolveKeys('HS256', SECRET) });
const tokens = new TokenService(settings, codec);
const dataDir = mkdtempSync(join(tmpdir(), 'bench-auth-'));
const store = openStore(dataDir);
const user = store.users.create('bench', 'scrypt$unused');
const access = tokens.pairFor(user.id).access.token;
const tampered = access.slice(0, -10) + (access.at(-10) === 'A' ? 'B' : 'A') + access.slice(-9);
const plain = new JwtAuthentication(tokens, store.users);
// As createAuth() builds it by default: validated tokens remembered, user rows reused for 1 s.
const cached = new JwtAuthentication(tokens, new CachedUserLookup(store.users, { ttlMs: 1000 }), new VerifiedTokenCache());
const noBody = bufferedBody(null);
const request = (token: string) =>
  new HostedRequest({
    method: 'GET',
    target: '/api/hello/',
    headers: new RequestHeaders(['authorization', `Bearer ${token}`], true),
    body: noBody,
    client: { address: '127.0.0.1', port: 1 },
    server: { address: '127.0.0.1', port: 80 },
  });
/** Authentication as a verifier: the user id on success, an exception otherwise. */
const viaAuthentication =
  (authentication: JwtAuthentication): Verify =>
  (token) => {
    const r = request(token);
    if (authentication.authenticate(r) !== null) throw new Error('refused');
    return { user_id: r.state.user!.id };
  };

const FAST_JWT_PLAIN = 'fast-jwt: createVerifier (cache off, default)';
const contenders: [string, Verify][] = [
  ['ours: JwtCodec.verify (signature, exp/nbf/iat)', (t) => codec.verify(t)],
  ['ours: TokenService.validate (+ simplejwt claim checks)', (t) => tokens.validate(t, 'access')],
  ['ours: JwtAuthentication, no caches (+ header, SQLite user)', viaAuthentication(plain)],
  ['ours: JwtAuthentication, createAuth defaults (token + user cache)', viaAuthentication(cached)],
  [FAST_JWT_PLAIN, fastJwt.createVerifier({ key: SECRET, algorithms: ['HS256'] })],
  ['fast-jwt: createVerifier (cache: true)', fastJwt.createVerifier({ key: SECRET, algorithms: ['HS256'], cache: true })],
];

for (const [name, verify] of contenders) {
  if ((verify(access) as { user_id?: unknown }).user_id !== user.id) throw new Error(`${name} did not accept the token`);
  let refused = false;
  try {
    verify(tampered);
  } catch {
    refused = true;
  }
  if (!refused) throw new Error(`${name} accepted a tampered token`);
}

function opsPerSecond(verify: Verify): number {
  let n = 0;
  let batch = 64;
  const start = performance.now();
  let now = start;
  while (now - start < SAMPLE_MS) {
    for (let i = 0; i < batch; i++) verify(access);
    n += batch;
    now = performance.now();
    if (now - start < SAMPLE_MS / 20) batch *= 2;
  }
  return (n * 1000) / (now - start);
}

for (const [, verify] of contenders) opsPerSecond(verify); // warm-up: let V8 optimise each first
const samples = contenders.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < contenders.length; k++) {
    const i = (k + round) % contenders.length;
    await waitForQuiet({ maxBusyPercent: 60, windowMs: 300, maxWaitMs: 10_000 });
    samples[i]!.push(opsPerSecond(contenders[i]![1]));
  }
}

const baseline = samples[contenders.findIndex(([name]) => name === FAST_JWT_PLAIN)]!;
console.log(`token of ${access.length} chars; ${ROUNDS} rounds × ${SAMPLE_MS} ms per contender, interleaved; Node ${process.version}\n`);
console.log('| verifier | ops/s median | min–max | µs/op | vs fast-jwt (cache off), paired |');
console.log('|---|---:|---:|---:|---:|');
contenders.forEach(([name], i) => {
  const ops = samples[i]!;
  const ratio = pairedRatio(ops, baseline)!;
  const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
  console.log(
    `| ${name} | ${k(median(ops))} | ${k(Math.min(...ops))}–${k(Math.max(...ops))} | ${(1e6 / median(ops)).toFixed(2)} | ${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}) |`,
  );
});

store.close();
rmSync(dataDir, { recursive: true, force: true });
