/**
 * One vocabulary across commands: every command's `--help` is generated from its declarations,
 * exits 0 and touches nothing; a flag shared by several commands has the same environment names,
 * short flag and grammar in each; no short flag has two meanings; the README's "Options across
 * commands" table matches the declarations; an unusable data directory stops serve and dev with
 * one line, exit 2 and no process left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, envNamesOf, flagOf, helpText, resolveArgv } from '../options/index.ts';
import { COMMANDS, optionsByFlag, optionsTable } from './support/options-table.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, pid: child.pid! });
    });
  });
}

describe('options across commands', () => {
  it('the README table matches the declarations', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const match = /<!-- options-table:begin -->\n([\s\S]*?)\n<!-- options-table:end -->/.exec(readme);
    assert.ok(match, 'README.md has the options-table markers');
    assert.equal(match[1], optionsTable(), 'regenerate the table: see test/support/options-table.ts');
  });

  it('a shared flag has the same environment names, short flag and grammar in every command', () => {
    for (const [flag, users] of optionsByFlag()) {
      const [firstTitle, firstKey, first] = users[0]!;
      for (const [title, key, option] of users.slice(1)) {
        const what = `--${flag} in ${title} and ${firstTitle}`;
        assert.deepEqual(envNamesOf(key, option), envNamesOf(firstKey, first), what);
        assert.deepEqual([option.short, option.kind, option.hostEnv, option.portEnv], [first.short, first.kind, first.hostEnv, first.portEnv], what);
      }
    }
  });

  it('no short flag and no environment name has two meanings', () => {
    const shorts = new Map<string, string>();
    const envs = new Map<string, string>();
    for (const { command } of COMMANDS) {
      for (const [key, option] of Object.entries(command.options)) {
        const flag = flagOf(key, option);
        if (option.short) assert.equal(shorts.get(option.short) ?? flag, flag, `-${option.short}`);
        if (option.short) shorts.set(option.short, flag);
        for (const env of envNamesOf(key, option)) {
          assert.equal(envs.get(env) ?? flag, flag, env);
          envs.set(env, flag);
        }
      }
    }
    assert.ok(!shorts.has('c') && !shorts.has('h'), '-c is --config and -h is --help everywhere');
  });

  it('--workers gives one message with the accepted range, whatever the command or the value', () => {
    for (const { title, command } of COMMANDS.filter((c) => 'workers' in c.command.options)) {
      for (const bad of ['abc', '0', '-1', '1.5']) {
        assert.throws(() => resolveArgv(command, ['--workers', bad]), (e: unknown) => e instanceof ConfigError && e.message === `--workers: expected a whole number from 1 to 1024, got ${JSON.stringify(bad)}`, `${title} ${bad}`);
      }
    }
  });

  it('every command answers --help with its generated text, exit 0 and no side effects', async () => {
    const untouched = join(tmpdir(), `layerstack-help-${process.pid}`);
    // Two at a time: nine Node processes at once would starve the other suites on a small machine.
    const results: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < COMMANDS.length; i += 2) {
      const pair = COMMANDS.slice(i, i + 2).map(({ script }) => run(script, ['--help'], { DATA_DIR: untouched, LAYERSTACK_DATA_DIR: untouched }));
      results.push(...(await Promise.all(pair)));
    }
    COMMANDS.forEach(({ title, command }, i) => {
      const r = results[i]!;
      assert.equal(r.code, 0, `${title}: ${r.stderr}`);
      assert.equal(r.stdout, `${helpText(command)}\n`, title);
      assert.equal(r.stderr, '', title);
    });
    assert.equal(existsSync(untouched), false, 'no data directory was created');
  });

  it('npm start answers --help from the sources, before its build step', async () => {
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['stack/start.mjs', '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.on('close', (code) => resolve({ code, stdout }));
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${helpText(COMMANDS.find((c) => c.title === 'start')!.command)}\n`);
  });

  it('--print-config shows every effective value and its source, and starts nothing', async () => {
    const r = await run('server/pool/cli.ts', ['--print-config', '--workers', '3'], { PORT: '9999', LAYERSTACK_TIMEOUT: '1m', WEB_CONCURRENCY: undefined, LAYERSTACK_WORKERS: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^--workers\s+3\s+\(flag --workers\)$/m);
    assert.match(r.stdout, /^--listen\s+127\.0\.0\.1:9999\s+\(env PORT\)$/m);
    assert.match(r.stdout, /^--timeout\s+60s\s+\(env LAYERSTACK_TIMEOUT\)$/m);
    assert.match(r.stdout, /^--engine\s+net\s+\(default\)$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /READY|Booting/);
  });

  it('serve and dev refuse an unusable data directory with one line and exit 2, leaving no process', async () => {
    const bad = '/etc/hostname/layerstack-data';
    const [serve, dev] = await Promise.all([
      run('server/pool/cli.ts', ['--listen', '127.0.0.1:0', '--data-dir', bad], {}),
      run('server/dev/cli.ts', ['--listen', '127.0.0.1:0'], { DATA_DIR: bad, LAYERSTACK_DATA_DIR: undefined }),
    ]);
    const line = (command: string, option: string) => `${command}: ${option} ${bad}: expected a directory this user can create or write; /etc/hostname is not a directory\n`;
    assert.deepEqual([serve.code, serve.stderr], [2, line('npm run serve', '--data-dir')]);
    assert.deepEqual([dev.code, dev.stderr], [2, line('npm run dev', '--data-dir')]);
    for (const { pid } of [serve, dev]) assert.equal(existsSync(`/proc/${pid}`), false, 'the process is gone');
  });
});
