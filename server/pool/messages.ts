/**
 * What the master and its workers say to each other over the node:cluster IPC channel. Kept to a
 * handful of small messages: the channel is for control, never for requests or log lines.
 */
import type { ParsedAddress as Address } from '../../options/grammar.ts';
import type { ServerConfig } from '../config.ts';

/** Worker → master. */
export type WorkerMessage =
  /** The worker's engine is listening (at `bind`, with a real port): it can take traffic. */
  | { type: 'ready'; bind: Address }
  /** The event loop is alive. Sent every heartbeat interval, like Gunicorn's tmp-file touch. */
  | { type: 'beat' }
  /** The worker wants to be replaced (e.g. --max-requests reached); it serves until told to stop. */
  | { type: 'retire'; reason: string };

/** Master → worker. */
export type MasterMessage =
  /** Stop: finish in-flight requests within `timeoutMs` (graceful) or close everything now. */
  { type: 'stop'; graceful: boolean; timeoutMs: number };

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
