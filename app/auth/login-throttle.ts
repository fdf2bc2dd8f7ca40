/**
 * Login throttling, per username and per client address. Each key has a counter of attempts not
 * (yet) proven successful. The first `freeFailures` go at full speed; after that each attempt is
 * held back before the password is even checked, for baseDelayMs doubling per failure up to
 * maxDelayMs; at `lockAfter` the key is locked for `lockoutMs` and answered 429 with Retry-After
 * without hashing anything. Counters are forgotten `windowMs` after the last attempt.
 *
 * An attempt is counted *before* its password is checked and uncounted when it succeeds: ten
 * guesses fired in parallel are ten attempts at once, not ten that each saw a clean slate.
 * Counters live in the database (see app/store/login-attempts.ts), shared by all workers.
 *
 * The per-username lock can be triggered by anyone who knows the username: that is the price of
 * stopping a distributed guesser that rotates addresses. The lock is short and a successful
 * login (once it is over) clears it.
 */
import type { LoginAttempts } from '../store/login-attempts.ts';
import { addressKey } from './client-address.ts';

/** The limits for one kind of key. */
export interface ThrottleRule {
  /** Failures allowed at full speed. */
  readonly freeFailures: number;
  /** Failures after which the key is locked out. */
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

/** Per username: 5 at full speed, then 0.25 s, 0.5 s, 1 s, 2 s, 4 s; the 10th failure locks for 15 minutes. */
export const USERNAME_RULE: ThrottleRule = Object.freeze({
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

/** The outcome of asking to attempt a login. */
export type Admission =
  | { readonly admitted: false; /** Seconds until the lock ends (for Retry-After). */ readonly retryAfter: number }
  | { readonly admitted: true; /** Hold the attempt back this long first. */ readonly delayMs: number; readonly keys: AttemptKeys };

/** The counter keys one attempt was counted under. */
export interface AttemptKeys {
  readonly user: string;
  readonly address: string;
}

/** Rules and clock. */
export interface ThrottleOptions {
  readonly username?: ThrottleRule;
  readonly address?: ThrottleRule;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

/** Decides, per login attempt, whether it may go ahead and how slowly. */
export class LoginThrottle {
  readonly #attempts: LoginAttempts;
  readonly #userRule: ThrottleRule;
  readonly #addressRule: ThrottleRule;
  readonly #now: () => number;

  constructor(attempts: LoginAttempts, options: ThrottleOptions = {}) {
    this.#attempts = attempts;
    this.#userRule = options.username ?? USERNAME_RULE;
    this.#addressRule = options.address ?? ADDRESS_RULE;
    this.#now = options.now ?? Date.now;
  }

  /** Count an attempt for `username` from `address`, unless either is locked out. */
  admit(username: string, address: string): Admission {
    // Usernames longer than any valid one still count, under one bounded key.
    const keys: AttemptKeys = { user: `user:${username.slice(0, 200)}`, address: `addr:${addressKey(address)}` };
    const now = this.#now();
    return this.#attempts.atomically((): Admission => {
      const user = this.#state(keys.user, this.#userRule, now);
      const addr = this.#state(keys.address, this.#addressRule, now);
      if (user.lockedFor > 0 || addr.lockedFor > 0) {
        return { admitted: false, retryAfter: Math.ceil(Math.max(user.lockedFor, addr.lockedFor) / 1000) };
      }
      this.#attempts.put(keys.user, { failures: user.failures + 1, lastAttemptAt: now });
      this.#attempts.put(keys.address, { failures: addr.failures + 1, lastAttemptAt: now });
      const delayMs = Math.max(delayFor(user.failures, this.#userRule), delayFor(addr.failures, this.#addressRule));
      return { admitted: true, delayMs, keys };
    });
  }

  /** The attempt succeeded: clear the username's counter and uncount it from the address. */
  succeeded(keys: AttemptKeys): void {
    this.#attempts.atomically(() => {
      this.#attempts.delete(keys.user);
      const addr = this.#attempts.get(keys.address);
      if (addr === undefined) return;
      if (addr.failures <= 1) this.#attempts.delete(keys.address);
      else this.#attempts.put(keys.address, { failures: addr.failures - 1, lastAttemptAt: addr.lastAttemptAt });
    });
  }

  #state(key: string, rule: ThrottleRule, now: number): { failures: number; lockedFor: number } {
    const counter = this.#attempts.get(key);
    if (counter === undefined) return { failures: 0, lockedFor: 0 };
    const idle = now - counter.lastAttemptAt;
    if (counter.failures >= rule.lockAfter) {
      return idle < rule.lockoutMs ? { failures: counter.failures, lockedFor: rule.lockoutMs - idle } : { failures: 0, lockedFor: 0 };
    }
    return idle >= rule.windowMs ? { failures: 0, lockedFor: 0 } : { failures: counter.failures, lockedFor: 0 };
  }
}

/** The hold-back for an attempt made after `failures` uncleared ones. */
export function delayFor(failures: number, rule: ThrottleRule): number {
  if (failures < rule.freeFailures) return 0;
  return Math.min(rule.baseDelayMs * 2 ** (failures - rule.freeFailures), rule.maxDelayMs);
}
