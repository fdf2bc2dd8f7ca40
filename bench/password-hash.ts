/**
 * What one login's password hash costs with the store's parameters (issue 5: "a login costs one
 * password hash; the hash parameters are documented with their cost in ms"), measured through
 * the store's own hashPassword/verifyPassword, so the numbers are for exactly what a login runs.
 *
 *   npm run bench:hash -- [--runs 9]      (--help: the options)
 *
 * Reports the first call (it pays for faulting in scrypt's 16 MiB block on a fresh thread-pool
 * thread), the median of sequential calls, and logins per second with 2 and 4 in flight
 * (libuv's thread pool has 4 threads; this machine has 2 cores).
 */
import { DEFAULT_SCRYPT, hashPassword, verifyPassword, type ScryptParams } from '../app/store/passwords.ts';
import { integer, optionsOrExit } from '../options/index.ts';
import { median } from './stats.ts';

const { checked: options } = optionsOrExit(
  {
    name: 'npm run bench:hash',
    summary: 'The cost of hashing and verifying one password with scrypt at the store\'s parameters.',
    options: { runs: integer({ min: 1, default: 9, help: 'Runs per measurement (the median is reported).' }) },
  },
  process.argv.slice(2),
  process.env,
  (r) => r.values,
);
const RUNS = options.runs;
const PASSWORD = 'correct horse battery staple';

async function measure(label: string, params: ScryptParams): Promise<void> {
  let t = performance.now();
  const hash = await hashPassword(PASSWORD, params);
  const first = performance.now() - t;
  for (let i = 0; i < 8; i++) await verifyPassword(PASSWORD, hash); // every pool thread warmed
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    if (!(await verifyPassword(PASSWORD, hash))) throw new Error('hash does not verify');
    times.push(performance.now() - t);
  }
  const rates: string[] = [];
  for (const inFlight of [2, 4]) {
    const total = inFlight * 4;
    let started = 0;
    t = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (started++ < total) await verifyPassword(PASSWORD, hash);
    }));
    rates.push(`${((total * 1000) / (performance.now() - t)).toFixed(1)}/s @${inFlight}`);
  }
  const memory = (128 * params.N * params.r) / 1024 / 1024;
  console.log(
    `| ${label} (N=2^${Math.log2(params.N)}, r=${params.r}, p=${params.p}, ${memory} MiB) | ${median(times).toFixed(1)} | ${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} | ${first.toFixed(1)} | ${rates.join(', ')} |`,
  );
}

console.log(`Node ${process.version}, OpenSSL ${process.versions.openssl}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}\n`);
console.log('| scrypt parameters | ms per login, median | min–max | first call ms | logins/s with 2 / 4 in flight |');
console.log('|---|---:|---:|---:|---|');
await measure('store default, Django ScryptPasswordHasher', DEFAULT_SCRYPT);
await measure('twice the memory and time', { N: 2 ** 15, r: 8, p: 1 });
