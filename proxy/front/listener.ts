/**
 * What the front needs from a client-side engine: listen, re-read settings, and the two halves of
 * a graceful shutdown (stop accepting; later, cut whatever is still open).
 */

/** A client-side engine bound to a FrontCore. */
export interface FrontListener {
  readonly engine: 'net' | 'http';
  /** Start listening; resolves with the actual port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Pick up changed client settings after a reload (what the engine can change live). */
  applySettings(): void;
  /** Stop accepting connections and close idle keep-alive ones; in-flight requests continue. */
  stopAccepting(): void;
  /** Close every remaining connection. */
  closeAll(): void;
}
