/** Number formatting shared by the console, Markdown and HTML reports. */

import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Requests per second, compact: 812, 8.12k, 81.2k. */
export function rate(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(2)}k`;
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** Milliseconds with sensible precision. */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Bytes as MB (2^20). */
export function mb(bytes: number): string {
  return Number.isFinite(bytes) && bytes > 0 ? `${(bytes / 1048576).toFixed(0)} MB` : '—';
}

/** A microsecond figure. */
export function us(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** A ratio like 1.23×. */
export function times(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}×`;
}

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_DIR = new RegExp(`${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bench-run-[^/\\s]+`, 'g');

/**
 * A command as a reader reruns it: paths inside the project relative to its root, the run's
 * temporary folder as $RUN_DIR (the bench makes a fresh one each time).
 */
export function shownCommand(argv: readonly string[]): string {
  return argv.map((arg) => arg.replaceAll(PROJECT_ROOT, '').replace(RUN_DIR, '$RUN_DIR')).join(' ');
}
