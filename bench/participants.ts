/**
 * A participant is anything the scenarios are run against: a configuration the bench started,
 * or an external --target. Both look the same to the measuring loop: a base URL, what it serves,
 * a login session if it has one, and (when local) the process groups whose CPU is its cost.
 */
import type { AuthSession } from './auth.ts';
import type { RunningConfiguration } from './launcher.ts';
import type { Capability } from './scenarios.ts';

/** One side of the comparison. */
export interface Participant {
  name: string;
  title: string;
  kind: string;
  baseUrl: string;
  capabilities: readonly Capability[];
  /** Set for configurations the bench started. */
  running: RunningConfiguration | undefined;
  session: AuthSession | undefined;
  /** Why there is no session (shown when auth scenarios are skipped). */
  noSessionReason: string;
  /** Scenario paths that differ from the defaults (--target-path). */
  paths: Record<string, string>;
}
