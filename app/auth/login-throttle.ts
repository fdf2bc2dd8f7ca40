/**
 * Login throttling, so that guessing passwords is slow and a stranger cannot lock an owner out.
 *
 * Counters are kept per key, in the store (app/store/*login-attempts.ts), shared by every worker
 * and every host. Three keys per attempt:
 *
 *   pair      (client address, username)  PAIR_RULE: 5 failures at full speed, then 0.25 s doubling
 *             to 4 s, and the 10th failure locks this address out of this account for 15 minutes.
 *   address   (client address, IPv6 /64)  ADDRESS_RULE: an address that tries many usernames;
 *             20 free, then slowed, locked after 100 for 15 minutes (room for a shared NAT).
 *   username  (any address)               USERNAME_RULE: a distributed guesser rotating addresses;
 *             it only slows down (after 20 failures, up to 2 s per attempt), it never locks.
 *
 * So a lock always includes the attacker's own address: failures from elsewhere never lock the
 * owner out of their account (defect 11 of issue 14, "lockout as a weapon"), they can at most
 * slow each of the owner's attempts by USERNAME_RULE's maxDelayMs.
 *
 * Each key's counter is of attempts not (yet) proven successful. An attempt is counted *before*
 * its password is checked and uncounted when it succeeds: ten guesses fired in parallel are ten
 * attempts at once, not ten that each saw a clean slate. A locked key is answered 429 with
 * Retry-After without hashing anything. Counters are forgotten `windowMs` after the last attempt.
 */
import type { AttemptCounter, AttemptRepository } from '../store/store.ts';
import { addressKey } from './client-address.ts';

/** The limits for one kind of key. */
export interface ThrottleRule {
  /** Failures allowed at full speed. */
  readonly freeFailures: number;
  /** Failures after which the key is locked out (Infinity: never; the rule only slows down). */
  readonly lockAfter: number;
  /** How long a lockout lasts, from the last counted attempt (ms). */
  readonly lockoutMs: number;
  /** A counter idle for this long (ms) starts again from zero. */
  readonly windowMs: number;
  /** Delay of the first slowed-down attempt (ms); it doubles with each further failure. */
  readonly baseDelayMs: number;
  /** Longest delay (ms). */
  readonly maxDelayMs: number;
}

/** Per (address, username): 5 at full speed, then 0.25 s, 0.5 s, 1 s, 2 s, 4 s; the 10th failure locks for 15 minutes. */
export const PAIR_RULE: ThrottleRule = Object.freeze({
  freeFailures: 5,
  lockAfter: 10,
  lockoutMs: 15 * 60_000,
  windowMs: 15 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 4000,
});

/** Per address (or IPv6 /64): more room, since many users may share one NAT address. */
export const ADDRESS_RULE: ThrottleRule = Object.freeze({
  freeFailures: 20,
  lockAfter: 100,
  lockoutMs: 15 * 60_000,
  windowMs: 15 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 4000,
});

/** Per username from every address: slows a distributed guesser, never locks the owner out. */
export const USERNAME_RULE: ThrottleRule = Object.freeze({
  freeFailures: 20,
  lockAfter: Infinity,
  lockoutMs: 0,
  windowMs: 15 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 2000,
});

/** The outcome of asking to attempt a login. */
export type Admission =
  | { readonly admitted: false; /** Seconds until the lock ends (for Retry-After). */ readonly retryAfter: number }
  | { readonly admitted: true; /** Hold the attempt back this long first. */ readonly delayMs: number; readonly keys: AttemptKeys };

/** The counter keys one attempt was counted under. */
export interface AttemptKeys {
  readonly pair: string;
  readonly address: string;
  readonly user: string | null;
}

/** Rules and clock; a rule set to null is not applied. */
export interface ThrottleOptions {
  readonly pair?: ThrottleRule;
  readonly address?: ThrottleRule;
  readonly username?: ThrottleRule | null;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

/** Decides, per login attempt, whether it may go ahead and how slowly. */
export class LoginThrottle {
  readonly #attempts: AttemptRepository;
  readonly #pairRule: ThrottleRule;
  readonly #addressRule: ThrottleRule;
  readonly #userRule: ThrottleRule | null;
  readonly #now: () => number;

  constructor(attempts: AttemptRepository, options: ThrottleOptions = {}) {
    this.#attempts = attempts;
    this.#pairRule = options.pair ?? PAIR_RULE;
    this.#addressRule = options.address ?? ADDRESS_RULE;
    this.#userRule = options.username === undefined ? USERNAME_RULE : options.username;
    this.#now = options.now ?? Date.now;
  }

  /** Count an attempt for `username` from `address`, unless the pair or the address is locked out. */
  async admit(username: string, address: string): Promise<Admission> {
    // Usernames longer than any valid one still count, under one bounded key.
    const name = username.slice(0, 200);
    const at = addressKey(address);
    const keys: AttemptKeys = { pair: `pair:${at} ${name}`, address: `addr:${at}`, user: this.#userRule === null ? null : `user:${name}` };
    const rules: [string, ThrottleRule][] = [
      [keys.pair, this.#pairRule],
      [keys.address, this.#addressRule],
    ];
    if (keys.user !== null) rules.push([keys.user, this.#userRule!]);
    const now = this.#now();
    return this.#attempts.update(
      rules.map(([key]) => key),
      (counters) => {
        const states = rules.map(([, rule], i) => stateOf(counters[i], rule, now));
        const lockedFor = Math.max(...states.map((s) => s.lockedFor));
        if (lockedFor > 0) return { result: { admitted: false, retryAfter: Math.ceil(lockedFor / 1000) } as Admission, writes: new Map() };
        const writes = new Map<string, AttemptCounter | null>(rules.map(([key], i) => [key, { failures: states[i]!.failures + 1, lastAttemptAt: now }]));
        const delayMs = Math.max(...rules.map(([, rule], i) => delayFor(states[i]!.failures, rule)));
        return { result: { admitted: true, delayMs, keys } as Admission, writes };
      },
    );
  }

  /** The attempt succeeded: clear the pair's and the username's counters, and uncount it from the address. */
  async succeeded(keys: AttemptKeys): Promise<void> {
    const all = keys.user === null ? [keys.pair, keys.address] : [keys.pair, keys.address, keys.user];
    await this.#attempts.update(all, (counters) => {
      const writes = new Map<string, AttemptCounter | null>([[keys.pair, null]]);
      if (keys.user !== null) writes.set(keys.user, null);
      const addr = counters[1];
      if (addr !== undefined) writes.set(keys.address, addr.failures <= 1 ? null : { failures: addr.failures - 1, lastAttemptAt: addr.lastAttemptAt });
      return { result: undefined, writes };
    });
  }
}

function stateOf(counter: AttemptCounter | undefined, rule: ThrottleRule, now: number): { failures: number; lockedFor: number } {
  if (counter === undefined) return { failures: 0, lockedFor: 0 };
  const idle = now - counter.lastAttemptAt;
  if (counter.failures >= rule.lockAfter) {
    return idle < rule.lockoutMs ? { failures: counter.failures, lockedFor: rule.lockoutMs - idle } : { failures: 0, lockedFor: 0 };
  }
  return idle >= rule.windowMs ? { failures: 0, lockedFor: 0 } : { failures: counter.failures, lockedFor: 0 };
}

/** The hold-back for an attempt made after `failures` uncleared ones. */
export function delayFor(failures: number, rule: ThrottleRule): number {
  if (failures < rule.freeFailures) return 0;
  return Math.min(rule.baseDelayMs * 2 ** (failures - rule.freeFailures), rule.maxDelayMs);
}
