/**
 * Waiting for a quiet box before each measurement. The VM is shared (other sessions build and
 * test on it); measuring while something else burns a core would blame our server for it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { boxTicks, busyPercent } from './cpu.ts';

/** How long to look, how quiet is quiet, and how long to wait at most. */
export interface QuietPolicy {
  /** Busy share of the whole box (percent) under which it counts as quiet. */
  maxBusyPercent: number;
  /** The observation window, in milliseconds. */
  windowMs: number;
  /** Give up waiting after this long and measure anyway (the result says so). */
  maxWaitMs: number;
}

/** What waiting found. */
export interface QuietOutcome {
  waitedMs: number;
  /** Busy share seen in the last window. */
  busyPercent: number;
  /** False when the box never became quiet within maxWaitMs. */
  quiet: boolean;
}

/** Wait until the box is quiet for one window (or until the policy's patience runs out). */
export async function waitForQuiet(policy: QuietPolicy, signal?: AbortSignal): Promise<QuietOutcome> {
  // No patience at all (--quick): do not look; a window disturbed by others is still flagged by measure.ts.
  if (policy.maxWaitMs <= 0) return { waitedMs: 0, busyPercent: Number.NaN, quiet: true };
  const start = Date.now();
  for (;;) {
    const before = boxTicks();
    await sleep(policy.windowMs, undefined, { signal });
    const busy = busyPercent(before, boxTicks());
    const waitedMs = Date.now() - start;
    if (busy < policy.maxBusyPercent) return { waitedMs, busyPercent: busy, quiet: true };
    if (waitedMs >= policy.maxWaitMs) return { waitedMs, busyPercent: busy, quiet: false };
  }
}
