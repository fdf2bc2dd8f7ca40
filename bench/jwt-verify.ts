/**
 * `npm run bench:jwt`: issue 5's in-process goal, HS256 verify at least as fast as fast-jwt's
 * verifier on the same simplejwt-shaped access token. Not an HTTP measurement, so not part of
 * `npm run bench`. Both verifiers are first checked to accept the token and refuse a tampered
 * one; then they run in alternating samples (same method as the HTTP bench: paired ratios, a quiet
 * box before each sample) and the median of the per-pair ratios is the answer.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { JwtCodec } from '../app/auth/jwt.ts';
import { resolveKeys } from '../app/auth/keys.ts';
import { waitForQuiet } from './quiet.ts';
import { median, pairedRatio } from './stats.ts';

const SAMPLES = Number(process.env.SAMPLES ?? 7);
const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? 700);

type Verify = (token: string) => unknown;

const secret = randomBytes(32).toString('hex');
const codec = new JwtCodec({ algorithm: 'HS256', keys: resolveKeys('HS256', secret) });
const now = Math.floor(Date.now() / 1000);
const token = codec.sign({ token_type: 'access', exp: now + 3600, iat: now, jti: randomBytes(16).toString('hex'), user_id: 1 });
const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');

const fastJwt = createRequire(import.meta.url)('fast-jwt') as {
  createVerifier(options: { key: string; algorithms: string[]; cache?: boolean }): Verify;
};
const verifiers: [string, Verify][] = [
  ['ours (app/auth/jwt.ts JwtCodec)', (t) => codec.verify(t)],
  ['fast-jwt createVerifier (cache off)', fastJwt.createVerifier({ key: secret, algorithms: ['HS256'] })],
];

for (const [name, verify] of verifiers) {
  const claims = verify(token) as { user_id?: unknown };
  if (claims.user_id !== 1) throw new Error(`${name} did not return the claims`);
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
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < SAMPLE_MS) {
    for (let i = 0; i < batch; i++) verify(token);
    n += batch;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (elapsed < SAMPLE_MS / 20) batch *= 2;
  }
  return (n * 1000) / elapsed;
}

for (const [, verify] of verifiers) opsPerSecond(verify); // warm-up (JIT)
const samples: number[][] = verifiers.map(() => []);
for (let s = 0; s < SAMPLES; s++) {
  // Alternate which goes first, as the HTTP bench rotates its order.
  const order = s % 2 === 0 ? [0, 1] : [1, 0];
  for (const i of order) {
    await waitForQuiet({ maxBusyPercent: 60, windowMs: 300, maxWaitMs: 10_000 });
    samples[i]!.push(opsPerSecond(verifiers[i]![1]));
  }
}
const ratio = pairedRatio(samples[0]!, samples[1]!)!;
console.log(`HS256 verify, one thread, token of ${token.length} chars, ${SAMPLES} samples of ${SAMPLE_MS} ms`);
for (const [i, [name]] of verifiers.entries()) {
  const s = samples[i]!;
  console.log(`  ${name.padEnd(40)} ${Math.round(median(s)).toLocaleString('en').padStart(10)} ops/s (min ${Math.round(Math.min(...s))}, max ${Math.round(Math.max(...s))})`);
}
const pass = ratio.median >= 1;
console.log(`ours / fast-jwt (paired): ${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}): issue 5 goal (≥ 1.0×) ${pass ? 'PASS' : 'FAIL'}`);
