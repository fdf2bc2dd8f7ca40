/**
 * What the master and its workers say to each other over the node:cluster IPC channel. Kept to a
 * handful of small messages: the channel is for control, never for requests or log lines.
 */
import type { ParsedAddress as Address } from '../../options/grammar.ts';
import type { ServerConfig } from '../config.ts';

/** Worker → master. */
export type WorkerMessage =
  /** The worker's engine is up and takes connections dealt to it; `bind` is the pool's address. */
  | { type: 'ready'; bind: Address }
  /** The worker took dealt connection `id`: the master drops its own copy of the socket. */
  | { type: 'took'; id: number }
  /**
   * The worker did not take dealt connection `id` (it arrived after DEAL_WINDOW_MS, or the worker
   * is stopping) and closed its copy without reading from it: the master deals it again.
   */
  | { type: 'refused'; id: number }
  /** The event loop is alive. Sent every heartbeat interval, like Gunicorn's tmp-file touch. */
  | { type: 'beat' }
  /** The worker wants to be replaced (e.g. --max-requests reached); it serves until told to stop. */
  | { type: 'retire'; reason: string };

/** Master → worker. */
export type MasterMessage =
  /** Stop: finish in-flight requests within `timeoutMs` (graceful) or close everything now. */
  | { type: 'stop'; graceful: boolean; timeoutMs: number }
  /**
   * A connection, sent with the message as its handle. `at` is when it was dealt, in ms of the
   * monotonic clock every process on the machine shares (monotonicMs()).
   */
  | { type: 'deal'; id: number; at: number };

/**
 * A worker takes a dealt connection only within this long of its deal; a later one it closes
 * unread and answers 'refused'. The master deals again a connection not taken within
 * REDEAL_AFTER_MS, twice as long, so the two never both hold a connection they may read.
 */
export const DEAL_WINDOW_MS = 1000;
/** See DEAL_WINDOW_MS. */
export const REDEAL_AFTER_MS = 2 * DEAL_WINDOW_MS;

/** Milliseconds of CLOCK_MONOTONIC: one clock for the master and its workers, never set back. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

/** How the master hands a worker its settings (an environment variable holding this as JSON). */
export interface WorkerSettings extends ServerConfig {
  /** This worker's own request budget (--max-requests plus its jitter); 0 means unlimited. */
  maxRequestsForWorker: number;
  /** Milliseconds between heartbeats. */
  beatMs: number;
}

/** The environment variable carrying WorkerSettings to a worker. */
export const WORKER_SETTINGS_ENV = 'LAYERSTACK_WORKER_SETTINGS';

/** Whether a value received over IPC is one of the worker's messages. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';
}
