/**
 * Choosing the upstream for a request: round-robin or least-connections, skipping servers that
 * are resting after failures (passive health) and the ones this request already failed on.
 *
 * As in Nginx, a group of ONE server is never taken out of rotation (there is nothing to fall back
 * to, and refusing everyone for `fail_timeout` after one hiccup would turn a blip into an outage).
 * When every server of a larger group is resting the answer is null: 502 "no live upstreams".
 */
import type { Upstream } from './upstream.ts';

/** How requests are spread over the upstreams. */
export type BalanceStrategy = 'round-robin' | 'least-conn';

/** Picks upstreams for requests. */
export class Balancer {
  private next = 0;

  constructor(
    readonly upstreams: readonly Upstream[],
    readonly strategy: BalanceStrategy,
  ) {}

  /** The server for the next attempt, or null when none is available. */
  pick(now: number, exclude: readonly Upstream[] | null): Upstream | null {
    const list = this.upstreams;
    const n = list.length;
    if (n === 1) {
      const only = list[0]!;
      return exclude !== null && exclude.includes(only) ? null : only;
    }
    let best: Upstream | null = null;
    let bestIndex = 0;
    for (let k = 0; k < n; k++) {
      const index = (this.next + k) % n;
      const candidate = list[index]!;
      if (!candidate.available(now) || (exclude !== null && exclude.includes(candidate))) continue;
      if (this.strategy === 'round-robin') {
        best = candidate;
        bestIndex = index;
        break;
      }
      // least-conn: fewest requests in flight; ties go to the round-robin order.
      if (best === null || candidate.active < best.active) {
        best = candidate;
        bestIndex = index;
      }
    }
    if (best !== null) this.next = (bestIndex + 1) % n;
    return best;
  }
}
