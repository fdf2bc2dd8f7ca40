/**
 * The per-connection limits a worker's engine enforces, from the pool's settings (seconds become
 * milliseconds). Its own module so that a worker, whose heartbeat clock runs from the fork, loads
 * none of the option declarations before its first beat.
 */
import type { ServerConfig } from '../config.ts';
import type { Limits } from '../../wire/limits.ts';

/** The limits of `config`. */
export function limitsOf(config: ServerConfig): Limits {
  return {
    maxBodySize: config.maxBodySize,
    maxHeaderSize: config.maxHeaderSize,
    maxRequestLine: config.limitRequestLine,
    maxHeaderCount: config.limitRequestFields,
    headerTimeout: Math.round(config.headerTimeout * 1000),
    requestTimeout: Math.round(config.requestTimeout * 1000),
    keepAliveTimeout: Math.round(config.keepAlive * 1000),
    sendTimeout: Math.round(config.sendTimeout * 1000),
  };
}
