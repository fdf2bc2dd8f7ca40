/**
 * Starting and stopping configurations. Each layer process gets its own process group
 * (detached), so everything it forks (pool workers, nginx workers, tsx's child) can be measured
 * together from /proc and stopped together by group id, and nothing else is ever signalled.
 * Layers start in order and each must listen before the next starts (the pool before the front).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Configuration, LaunchContext, LayerProcess } from './configurations.ts';
import { groupAlive } from './cpu.ts';
import { probe, probeFailure } from './http-probe.ts';

/** A started layer process. */
export interface RunningLayer {
  layer: string;
  pgid: number;
  argv: string[];
  logFile: string;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** A started configuration. */
export interface RunningConfiguration {
  config: Configuration;
  baseUrl: string;
  layers: RunningLayer[];
  ports: Record<string, number>;
  /** The folder the configuration watches for code changes (the dev server's deploy). */
  watchDir: string | undefined;
}

/** A configuration that failed to start; the message quotes its log. */
export class StartError extends Error {}

const READY_TIMEOUT_MS = 30_000;

function tail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return '    | (no log)';
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function startLayer(spec: LayerProcess, ctx: LaunchContext, env: NodeJS.ProcessEnv, index: number): RunningLayer {
  const logFile = join(ctx.runDir, `${index}-${spec.layer}.log`);
  const fd = openSync(logFile, 'w');
  const [command, ...args] = spec.argv;
  const child = spawn(command!, args, {
    cwd: ctx.root,
    env: { ...env, ...spec.env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const running: RunningLayer = { layer: spec.layer, pgid: child.pid ?? -1, argv: spec.argv, logFile, exited: undefined };
  child.on('exit', (code, signal) => (running.exited = { code, signal }));
  // A program that cannot be run at all ends the layer like an exit would.
  child.on('error', () => (running.exited = { code: null, signal: null }));
  return running;
}

async function waitListening(layer: RunningLayer, port: number, name: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (layer.exited) {
      throw new StartError(`${name}: ${layer.argv.slice(2, 4).join(' ') || layer.argv[0]} exited (code ${layer.exited.code}, signal ${layer.exited.signal}) before listening on port ${port}:\n${tail(layer.logFile)}`);
    }
    if (await tcpOpen(port)) return;
    await sleep(100);
  }
  throw new StartError(`${name}: nothing listens on port ${port} after ${READY_TIMEOUT_MS / 1000} s:\n${tail(layer.logFile)}`);
}

/**
 * Start `config`. Resolves once its ready path answers 200 and the settle time has passed;
 * on failure, stops what it started and rejects with a StartError quoting the log. The
 * configuration is pushed to `registry` before its first process starts, so whoever stops
 * everything on Ctrl-C also stops a configuration that is still starting.
 */
export async function startConfiguration(
  config: Configuration,
  ctx: LaunchContext,
  env: NodeJS.ProcessEnv,
  registry: RunningConfiguration[] = [],
): Promise<RunningConfiguration> {
  mkdirSync(ctx.watchDir, { recursive: true });
  const running: RunningConfiguration = { config, baseUrl: `${config.scheme ?? 'http'}://127.0.0.1:${ctx.ports.main}`, layers: [], ports: ctx.ports, watchDir: ctx.watchDir };
  registry.push(running);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    const specs = config.processes(ctx);
    for (const [i, spec] of specs.entries()) {
      const layer = startLayer(spec, ctx, env, i);
      running.layers.push(layer);
      await waitListening(layer, spec.port, config.name, deadline);
    }
    let last = '';
    for (;;) {
      const dead = running.layers.find((l) => l.exited);
      if (dead) throw new StartError(`${config.name}: the ${dead.layer} layer exited (code ${dead.exited!.code}) while starting:\n${tail(dead.logFile)}`);
      try {
        const res = await probe(running.baseUrl + config.readyPath, { timeoutMs: 2000 });
        if (res.status === 200) break;
        last = `status ${res.status}`;
      } catch (error) {
        last = probeFailure(error);
      }
      if (Date.now() > deadline) {
        throw new StartError(`${config.name}: GET ${config.readyPath} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${last}):\n${tail(running.layers.at(-1)!.logFile)}`);
      }
      await sleep(150);
    }
    if (config.settleMs > 0) await sleep(config.settleMs);
    return running;
  } catch (error) {
    await stopConfiguration(running);
    registry.splice(registry.indexOf(running), 1);
    throw error;
  }
}

/**
 * Stop a configuration: SIGTERM to each layer's leader (front first; a master stops its own
 * workers, as under a process manager), then SIGKILL the whole group if anything is left after 5 s.
 */
export async function stopConfiguration(running: RunningConfiguration): Promise<void> {
  const groups = [...running.layers].reverse().map((l) => l.pgid).filter((g) => g > 0);
  for (const pgid of groups) {
    try {
      process.kill(pgid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && groups.some(groupAlive)) await sleep(100);
  for (const pgid of groups) {
    if (!groupAlive(pgid)) continue;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  // A killed process lingers until the kernel has torn it down; the caller (and Ctrl-C's exit)
  // must not return while any of it is still there.
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && groups.some(groupAlive)) await sleep(50);
}

/** Which of a configuration's requirements are missing ("" when it can run). */
export function missingRequirement(config: Configuration, root: string, hasProgram: (name: string) => boolean): string {
  for (const file of config.requiresFiles) if (!existsSync(join(root, file))) return `${file} does not exist (yet)`;
  for (const program of config.requiresPrograms) if (!hasProgram(program)) return `${program} is not installed`;
  return '';
}
