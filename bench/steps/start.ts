/**
 * Step 3: start every configuration side by side, each in its own process groups (see
 * launcher.ts), and record what it was started with and how much memory it holds idle. A
 * configuration that fails to start is reported by name with the reason and its log's tail; the
 * run goes on with the others. Every started configuration is pushed to `running` as soon as it
 * exists, so the caller's cleanup stops it whatever happens next.
 */
import { join, resolve } from 'node:path';
import { authSession } from '../auth.ts';
import type { Configuration } from '../configurations.ts';
import { sampleGroups, processRole } from '../cpu.ts';
import { startConfiguration, StartError, type RunningConfiguration } from '../launcher.ts';
import type { BenchOptions } from '../options.ts';
import type { Participant } from '../participants.ts';
import type { ConfigurationInfo } from '../results.ts';
import type { Prepared } from './prepare.ts';

/** Thrown when the run was interrupted (Ctrl-C) while starting. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** What starting produced. */
export interface Started {
  participants: Participant[];
  startFailures: { name: string; reason: string }[];
  infos: ConfigurationInfo[];
}

/**
 * An argument as the reports show it: paths inside the project relative to its root, the run's
 * temporary folder as $RUN, node as `node`, so a recorded command names nothing of this machine.
 */
export function shownArgument(arg: string, root: string, runRoot: string): string {
  if (arg === process.execPath) return 'node';
  const base = root.endsWith('/') ? root : `${root}/`;
  return arg.replaceAll(runRoot, '$RUN').replaceAll(base, '');
}

/** Start `chosen` (pushing each into `running`), then add the external targets. */
export async function startAll(
  chosen: readonly Configuration[],
  portsOf: Map<string, Record<string, number>>,
  prepared: Prepared,
  options: BenchOptions,
  root: string,
  running: RunningConfiguration[],
  buildFailure: string | undefined,
  signal: AbortSignal,
  log: (text: string) => void,
): Promise<Started> {
  const participants: Participant[] = [];
  const startFailures: { name: string; reason: string }[] = [];
  for (const config of chosen) {
    if (signal.aborted) throw new Interrupted();
    if (config.compiled && buildFailure) {
      startFailures.push({ name: config.name, reason: buildFailure });
      log(`FAILED to start ${config.name}: ${buildFailure}`);
      continue;
    }
    log(`starting ${config.name}: ${config.title}`);
    const runDir = join(prepared.runRoot, config.name);
    try {
      const r = await startConfiguration(
        config,
        { root, runDir, ports: portsOf.get(config.name)!, workers: options.workers, staticRoot: resolve(root, 'app/static'), watchDir: join(runDir, 'watch') },
        prepared.env,
        running,
      );
      participants.push({
        name: config.name,
        title: config.title,
        kind: config.kind,
        baseUrl: r.baseUrl,
        capabilities: config.capabilities,
        running: r,
        session: prepared.credentials ? authSession(r.baseUrl, prepared.credentials) : undefined,
        noSessionReason: prepared.noUserReason,
        paths: {},
      });
    } catch (error) {
      if (!(error instanceof StartError)) throw error;
      startFailures.push({ name: config.name, reason: error.message.split('\n')[0]!.replace(`${config.name}: `, '') });
      log(`FAILED to start ${error.message}`);
    }
  }
  if (signal.aborted) throw new Interrupted();
  for (const t of options.targets) {
    participants.push({
      name: t.name,
      title: `external target ${t.baseUrl}`,
      kind: 'target',
      baseUrl: t.baseUrl,
      capabilities: ['ping', 'app', 'auth', 'static'],
      running: undefined,
      session: options.user !== undefined ? authSession(t.baseUrl, { username: options.user, password: options.password! }, options.targetPaths.login) : undefined,
      noSessionReason: 'no --user/--password given for external targets',
      paths: options.targetPaths,
    });
  }
  const infos = participants.map((p): ConfigurationInfo => {
    const idleRss: ConfigurationInfo['idleRss'] = [];
    if (p.running) {
      const samples = sampleGroups(p.running.layers.map((l) => l.pgid));
      for (const l of p.running.layers) {
        for (const [pid, bytes] of Object.entries(samples.get(l.pgid)?.members ?? {})) {
          idleRss.push({ layer: l.layer, role: processRole(Number(pid), l.layer), pid: Number(pid), bytes });
        }
      }
    }
    return {
      name: p.name,
      title: p.title,
      kind: p.kind,
      baseUrl: p.baseUrl,
      compiled: p.running?.config.compiled ?? false,
      commands: p.running?.layers.map((l) => ({ layer: l.layer, argv: l.argv.map((a) => shownArgument(a, root, prepared.runRoot)) })) ?? [],
      idleRss,
    };
  });
  return { participants, startFailures, infos };
}
