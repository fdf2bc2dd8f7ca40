/**
 * One transaction on a pooled connection: BEGIN, the body, COMMIT; on any failure ROLLBACK, and
 * a connection that failed is destroyed rather than handed to the next request.
 */
import type pg from 'pg';
import { fromPgError } from './connection.ts';

/** Run `body` in a transaction; failures of the database come out as StoreUnavailableError. */
export async function inTransaction<T>(pool: pg.Pool, target: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw fromPgError(error, target);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    const typed = fromPgError(error, target);
    if (typed !== error) broken = error as Error; // the connection itself failed: do not reuse it
    else await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw typed;
  } finally {
    client.release(broken);
  }
}
