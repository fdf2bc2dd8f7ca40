/**
 * Server-side cost from /proc: CPU time and resident memory of whole process groups (a
 * configuration's master, its workers, nginx's workers, tsx's child: everything it started lives
 * in the group the bench created for it), and how busy the whole box is. On a 2-core machine the
 * load generator takes CPU from the server, so req/s depends on the loader; CPU time per request
 * served does not, which makes it the figure to compare when a row is loader-bound.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Kernel clock ticks per second for utime/stime in /proc/<pid>/stat (100 on every Linux we run on). */
export const CLOCK_TICKS = 100;
/** Logical CPUs of this machine. */
export const CPU_COUNT = cpus().length;

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Resident set size in pages. */
  rssPages: number;
}

const PAGE_SIZE = 4096;

function readStat(pid: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // the process left between readdir and read
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid: Number(pid),
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    ticks: Number(fields[11]) + Number(fields[12]),
    rssPages: Number(fields[21]),
  };
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readStat(name);
    if (stat !== undefined) out.push(stat);
  }
  return out;
}

/** CPU and memory of one process group at one instant. */
export interface GroupSample {
  /** CPU seconds (user + system) of the live members. */
  cpuSeconds: number;
  /** Summed resident memory of the live members, in bytes. */
  rssBytes: number;
  /** Resident memory of each member, in bytes, keyed by pid. */
  members: Record<number, number>;
  /** CPU seconds of each member, keyed by pid. */
  memberCpu: Record<number, number>;
}

/** Sample the given process groups in one pass over /proc. */
export function sampleGroups(pgids: readonly number[]): Map<number, GroupSample> {
  const wanted = new Set(pgids);
  const out = new Map<number, GroupSample>();
  for (const id of pgids) out.set(id, { cpuSeconds: 0, rssBytes: 0, members: {}, memberCpu: {} });
  for (const p of allProcesses()) {
    if (!wanted.has(p.pgrp)) continue;
    const s = out.get(p.pgrp)!;
    s.cpuSeconds += p.ticks / CLOCK_TICKS;
    s.rssBytes += p.rssPages * PAGE_SIZE;
    s.members[p.pid] = p.rssPages * PAGE_SIZE;
    s.memberCpu[p.pid] = p.ticks / CLOCK_TICKS;
  }
  return out;
}

/**
 * What a process does in its configuration, read from its command line: the front (ours or
 * Nginx), the pool's master or one of its workers, the dev server's reloader or its serving
 * process, the stack's supervisor. `layer` is the answer when the command line says nothing more.
 */
export function processRole(pid: number, layer: string): string {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return layer;
  }
  if (/proxy\/cli\.[jt]s|nginx/.test(cmdline)) return 'front';
  if (/pool\/worker\.[jt]s/.test(cmdline)) return 'workers';
  if (/pool\/cli\.[jt]s/.test(cmdline)) return 'master';
  if (/dev\/serve\.[jt]s/.test(cmdline)) return 'dev process';
  if (/dev\/cli\.[jt]s/.test(cmdline)) return 'reloader';
  if (/stack\/cli\.[jt]s/.test(cmdline)) return 'supervisor';
  if (/esbuild/.test(cmdline)) return 'tsx compiler';
  return layer;
}

/** Whether any process is still in group `pgid`. */
export function groupAlive(pgid: number): boolean {
  return allProcesses().some((p) => p.pgrp === pgid);
}

/** Busy and total jiffies of the whole box, from the first line of /proc/stat. */
export interface BoxTicks {
  idle: number;
  total: number;
}

/** Read the box-wide CPU counters. */
export function boxTicks(): BoxTicks {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

/** Share of the whole box (0–100, all cores) that was busy between two readings. */
export function busyPercent(before: BoxTicks, after: BoxTicks): number {
  const total = after.total - before.total;
  return total <= 0 ? 0 : (1 - (after.idle - before.idle) / total) * 100;
}

/**
 * CPU seconds used by processes that are neither in `ours` (groups) nor kernel threads, keyed by
 * pid. Diffing two of these tells whether someone else used the box during a measurement.
 */
export function foreignCpu(ours: ReadonlySet<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of allProcesses()) {
    if (p.pid === 2 || p.ppid === 2 || ours.has(p.pgrp)) continue;
    out.set(p.pid, p.ticks / CLOCK_TICKS);
  }
  return out;
}

/** CPU seconds used by foreign processes between two `foreignCpu` readings (new processes count in full). */
export function foreignDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, seconds] of after) sum += Math.max(0, seconds - (before.get(pid) ?? 0));
  return sum;
}

/** The process group of this process (the bench and its in-process loader). */
export function ownProcessGroup(): number {
  return readStat('self')?.pgrp ?? -1;
}

/** CPU seconds (user + system) of `pid` and, with `children`, of its child processes (a database server's backends). */
export function cpuSeconds(pid: number, children = false): number {
  let ticks = readStat(String(pid))?.ticks ?? 0;
  if (children) for (const p of allProcesses()) if (p.ppid === pid) ticks += p.ticks;
  return ticks / CLOCK_TICKS;
}
