/**
 * Resilience case 10, data safety: kill -9 of the whole stack (and of the user-creation commands
 * writing beside it) while users are being created and refresh tokens rotated. Afterwards the
 * database passes SQLite's integrity check, every user whose creation was acknowledged (the
 * command exited 0) can log in, and every rotation the stack acknowledged (200 with a new pair)
 * left the old refresh token blacklisted: replaying it gets simplejwt's "Token is blacklisted".
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { DIST, PROJECT_ROOT } from '../../server/launch.ts';
import { Cleanup, ENGINES, record, scale, SOAK, Stack } from './harness.ts';

const BLACKLISTED_401 = { detail: 'Token is blacklisted', code: 'token_not_valid' };

async function post(base: string, path: string, body: object): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: res.status, json };
}

for (const engine of SOAK ? ENGINES : ENGINES.slice(0, 1)) {
  describe(`10. data safety, ${engine} engine`, () => {
    const cleanup = new Cleanup();
    after(() => cleanup.run());

    it('kill -9 during user creations and token rotations: nothing acknowledged is lost', async () => {
      const stack = await Stack.start(cleanup.add, { engine, workers: 2 });
      const password = stack.adminPassword; // printed at the first start only
      const login = await post(stack.base, '/api/token/', { username: 'admin', password });
      assert.equal(login.status, 200);

      let running = true;
      // Rotation chains: each refreshes its own token as fast as the stack answers.
      const rotated: string[] = []; // old refresh tokens whose rotation was acknowledged
      const chain = async () => {
        const base = stack.base; // a restart moves the stack to a new port
        let refresh = (await post(base, '/api/token/', { username: 'admin', password })).json?.refresh as string;
        while (running && refresh) {
          const answer = await post(base, '/api/token/refresh/', { refresh }).catch(() => null);
          if (answer === null) return; // the stack is gone
          if (answer.status !== 200) {
            if (running) throw new Error(`rotation refused before the kill: ${answer.status} ${JSON.stringify(answer.json)}`);
            return; // answered as the stack died (a 502 from a front that outlived its app server)
          }
          rotated.push(refresh);
          refresh = answer.json!.refresh as string;
        }
      };
      // User creations: the createuser command, two at a time, beside the running stack.
      const created: string[] = [];
      const commands = new Set<ChildProcess>();
      cleanup.add(() => commands.forEach((c) => c.kill('SIGKILL')));
      let serial = 0;
      const creator = async () => {
        while (running) {
          const name = `user${serial++}`;
          const child = spawn(process.execPath, [join(DIST, 'app/store/cli-createuser.js'), '--data-dir', stack.dataDir, name], { cwd: PROJECT_ROOT, stdio: ['pipe', 'ignore', 'pipe'] });
          commands.add(child);
          let errors = '';
          child.stderr!.on('data', (d) => (errors += d));
          child.stdin!.end(`pw-${name}-Resilience-7\n`);
          const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
          commands.delete(child);
          if (code === 0) created.push(name);
          else if (running) throw new Error(`createuser ${name} failed (${code}): ${errors}`);
        }
      };
      const chains = Array.from({ length: 8 }, chain);
      const creators = [creator(), creator()];
      const rounds = scale(1, 5);
      const errorsBeforeKill: string[] = [];
      const killedAfter: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Let writes pile up, then kill everything that writes, at once.
        await sleep(scale(4000, 8000));
        killedAfter.push(rotated.length);
        running = false;
        process.kill(-stack.pid, 'SIGKILL');
        for (const c of commands) c.kill('SIGKILL');
          for (const outcome of await Promise.allSettled([...chains, ...creators])) if (outcome.status === 'rejected') errorsBeforeKill.push(String(outcome.reason));

        // The file as the kill left it: SQLite's own integrity check.
        const db = new Database(join(stack.dataDir, 'auth.sqlite3'));
        const integrity = db.pragma('integrity_check', { simple: true });
        db.close();
        assert.equal(integrity, 'ok');

        await stack.restart();
        if (round < rounds - 1) {
          running = true;
          chains.splice(0, chains.length, ...Array.from({ length: 8 }, chain));
          creators.splice(0, creators.length, creator(), creator());
        }
      }

      // Every acknowledged user logs in; every acknowledged rotation's old token is blacklisted.
      const lostUsers: string[] = [];
      for (const name of created) {
        const answer = await post(stack.base, '/api/token/', { username: name, password: `pw-${name}-Resilience-7` });
        if (answer.status !== 200) lostUsers.push(`${name}: ${answer.status} ${JSON.stringify(answer.json)}`);
      }
      const notBlacklisted: string[] = [];
      for (const refresh of rotated) {
        const answer = await post(stack.base, '/api/token/refresh/', { refresh });
        if (answer.status !== 401 || JSON.stringify(answer.json) !== JSON.stringify(BLACKLISTED_401)) notBlacklisted.push(`${answer.status} ${JSON.stringify(answer.json)}`);
      }
      record('10 data safety', { engine, kills: rounds, usersCreated: created.length, usersLost: lostUsers.length, rotations: rotated.length, rotationsLost: notBlacklisted.length });
      assert.ok(created.length > 0 && rotated.length > 0, `something was written before the kill (users ${created.length}, rotations ${rotated.length})`);
      assert.deepEqual(errorsBeforeKill, [], 'every write before the kill was answered');
      assert.deepEqual(lostUsers, []);
      assert.deepEqual(notBlacklisted.slice(0, 10), [], `${notBlacklisted.length} of ${rotated.length} acknowledged rotations were not blacklisted`);
    });
  });
}
