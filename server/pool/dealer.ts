/**
 * The pool's dealer: the master accepts every connection on the one listening socket (bound once,
 * exclusively) and hands it to a worker over the IPC channel, round-robin among the workers the
 * arbiter says can serve now. Why not let the workers accept for themselves (node:cluster's
 * SCHED_NONE, Gunicorn's model): the kernel hands a burst of new connections to whichever worker
 * wakes first, and the front keeps only a few upstream connections open, so CPU-bound requests
 * ran on one worker while the other idled. Why not node:cluster's own round-robin: it deals to a
 * stuck worker as to any other, and keeps its copy of a connection handed to a worker that dies
 * before taking it, so the client waits for its own timeout (60 s behind the front).
 *
 * So the dealer:
 * - skips workers the arbiter finds unfit (booting, retiring or draining, heartbeat late), and a
 *   worker that has left a connection untaken for DEAL_WINDOW_MS (it looks stuck);
 * - keeps its own copy of each dealt socket (paused, never read) until the worker says it took
 *   it; one not taken within REDEAL_AFTER_MS, refused, or left with a worker that died without
 *   taking it is dealt again (the client sees a delay, not an error); one the dead worker had
 *   taken is closed (its request was in flight there, as Gunicorn loses a killed worker's);
 * - holds connections while no worker can take one (as the listen backlog would) and deals them
 *   as soon as one can; closes them when the pool stops.
 * A worker only takes a connection within DEAL_WINDOW_MS of its deal (messages.ts), so a stuck
 * worker that wakes up late never reads a connection dealt again to another.
 */
import type { Worker } from 'node:cluster';
import net from 'node:net';
import type { ParsedAddress as Address } from '../../options/grammar.ts';
import { DEAL_WINDOW_MS, type MasterMessage, monotonicMs, REDEAL_AFTER_MS } from './messages.ts';

/** A worker the arbiter finds fit to take a connection now. */
export interface Seat {
  /** The worker's id (node:cluster's), stable for its life. */
  readonly key: number;
  readonly worker: Worker;
  /** False for a worker that asked to be replaced: dealt to only when no other can take it. */
  readonly preferred: boolean;
}

interface Deal {
  readonly id: number;
  readonly socket: net.Socket;
  key: number;
  at: number;
  tries: number;
}

/** How many times one connection is dealt before the dealer gives up and closes it. */
const MAX_TRIES = 6;
/** How often dealt connections are checked for a worker that has not taken them. */
const SWEEP_MS = 250;

const ignore = () => {};

export class Dealer {
  readonly #seats: () => readonly Seat[];
  readonly #error: (message: string) => void;
  readonly #info: (message: string) => void;
  readonly #server: net.Server;
  readonly #deals = new Map<number, Deal>();
  /** Deal ids by worker key. */
  readonly #byWorker = new Map<number, Set<number>>();
  /** Connections no worker could take yet, oldest first. */
  #waiting: net.Socket[] = [];
  #ids = 0;
  /** The key of the worker dealt to last: the round-robin goes on after it. */
  #last = -1;
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;

  /**
   * @param seats the workers fit to take a connection now, in any order (asked on every deal).
   * @param error writes one ERROR line to the error log; `info` one INFO line.
   */
  constructor(seats: () => readonly Seat[], error: (message: string) => void, info: (message: string) => void) {
    this.#seats = seats;
    this.#error = error;
    this.#info = info;
    // pauseOnConnect: the master never reads; the bytes stay in the kernel for the worker.
    this.#server = net.createServer({ pauseOnConnect: true }, (socket) => this.#accepted(socket));
    // accept() failing (EMFILE, ENFILE) must not kill the master; the listener keeps going.
    this.#server.on('error', (error) => this.#error(`Accepting a connection failed: ${error.message}`));
  }

  /** Bind the pool's address, exclusively (no other process can share the port); resolves with the address bound (a real port for port 0). */
  listen(bind: Address): Promise<Address> {
    const server = this.#server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const options: net.ListenOptions = bind.kind === 'unix' ? { path: bind.path, exclusive: true } : { host: bind.host, port: bind.port, exclusive: true };
      server.listen(options, () => {
        server.off('error', reject);
        this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
        this.#sweeper.unref();
        const address = server.address();
        resolve(bind.kind === 'tcp' && typeof address === 'object' && address !== null ? { ...bind, port: address.port } : bind);
      });
    });
  }

  /** Stop accepting (a unix socket file is removed) and close the connections no worker took yet. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#server.listening) this.#server.close(ignore);
    for (const socket of this.#waiting) socket.destroy();
    this.#waiting = [];
  }

  /** Deal the connections that are waiting, if a worker can take them now. Cheap when none wait. */
  flush(): void {
    while (this.#waiting.length > 0) {
      const seat = this.#pick();
      if (seat === undefined) return;
      this.#send(seat, this.#waiting.shift()!, this.#ids++, 1);
    }
  }

  /** The worker took connection `id`: our copy goes (the connection stays open in the worker). */
  took(key: number, id: number): void {
    const deal = this.#deals.get(id);
    if (deal === undefined || deal.key !== key) return;
    this.#forget(deal);
    deal.socket.destroy();
  }

  /** The worker closed its copy of `id` unread: deal it again. */
  refused(key: number, id: number): void {
    const deal = this.#deals.get(id);
    if (deal === undefined || deal.key !== key) return;
    this.#forget(deal);
    this.#again(deal);
  }

  /**
   * The worker has exited and its IPC channel is closed (every 'took' it sent has been read): a
   * connection it took is closed by its death; ours to deal again are those it never took.
   */
  workerGone(key: number, pid: number): void {
    const ids = this.#byWorker.get(key);
    this.#byWorker.delete(key);
    if (ids === undefined || ids.size === 0) return;
    this.#info(`Worker (pid:${pid}) left ${ids.size} connection(s) dealt to it untaken: dealt again`);
    for (const id of ids) {
      const deal = this.#deals.get(id)!;
      this.#deals.delete(id);
      this.#again(deal);
    }
  }

  #accepted(socket: net.Socket): void {
    // Our copy is never read nor written; an error on it (a reset) must not reach the master.
    socket.on('error', ignore);
    if (this.#closed) {
      socket.destroy();
      return;
    }
    if (this.#waiting.length > 0) {
      // Others came first: they go first.
      this.#waiting.push(socket);
      this.flush();
      return;
    }
    const seat = this.#pick();
    if (seat === undefined) this.#waiting.push(socket);
    else this.#send(seat, socket, this.#ids++, 1);
  }

  /** Deal `deal`'s connection again to another worker (or hold it), or close it after MAX_TRIES. */
  #again(deal: Deal): void {
    if (deal.socket.destroyed || this.#closed) {
      deal.socket.destroy();
      return;
    }
    if (deal.tries >= MAX_TRIES) {
      this.#error(`A connection was dealt ${deal.tries} times and no worker took it: closed`);
      deal.socket.destroy();
      return;
    }
    const seat = this.#pick(deal.key);
    if (seat === undefined) this.#waiting.unshift(deal.socket);
    else this.#send(seat, deal.socket, deal.id, deal.tries + 1);
  }

  /**
   * The next fit worker after the last one dealt to: one that holds no untaken connection and
   * did not ask to be replaced, else the best of the others. `avoid`: the worker that just failed
   * to take this connection, chosen only if it is the only one.
   */
  #pick(avoid = -1): Seat | undefined {
    const seats = this.#seats();
    if (seats.length === 0) return undefined;
    const now = monotonicMs();
    const ordered = [...seats].sort((a, b) => a.key - b.key);
    let start = ordered.findIndex((seat) => seat.key > this.#last);
    if (start < 0) start = 0;
    let best: Seat | undefined;
    let bestScore = Infinity;
    for (let i = 0; i < ordered.length; i++) {
      const seat = ordered[(start + i) % ordered.length]!;
      const pending = this.#byWorker.get(seat.key);
      let score = seat.preferred ? 0 : 4;
      if (pending !== undefined && pending.size > 0) {
        // A connection left untaken past the window: the worker's event loop is not turning.
        let oldest = Infinity;
        for (const id of pending) oldest = Math.min(oldest, this.#deals.get(id)!.at);
        if (now - oldest > DEAL_WINDOW_MS) continue;
        score += 1;
      }
      if (seat.key === avoid) score += 2;
      if (score < bestScore) {
        best = seat;
        bestScore = score;
        if (score === 0) break;
      }
    }
    return best;
  }

  #send(seat: Seat, socket: net.Socket, id: number, tries: number): void {
    const at = monotonicMs();
    const deal: Deal = { id, socket, key: seat.key, at, tries };
    this.#deals.set(id, deal);
    let ids = this.#byWorker.get(seat.key);
    if (ids === undefined) this.#byWorker.set(seat.key, (ids = new Set()));
    ids.add(id);
    this.#last = seat.key;
    const message: MasterMessage = { type: 'deal', id, at };
    // keepOpen: our copy stays open until the worker says it took it, so nothing is lost if it
    // never does. A send that fails (the worker just exited) is dealt again by workerGone().
    seat.worker.send(message, socket, { keepOpen: true }, ignore);
  }

  #forget(deal: Deal): void {
    this.#deals.delete(deal.id);
    this.#byWorker.get(deal.key)?.delete(deal.id);
  }

  /** Deal again what a worker left untaken past REDEAL_AFTER_MS (it can no longer take it). */
  #sweep(): void {
    if (this.#deals.size === 0) {
      this.flush();
      return;
    }
    const now = monotonicMs();
    const overdue: Deal[] = [];
    for (const deal of this.#deals.values()) if (now - deal.at > REDEAL_AFTER_MS) overdue.push(deal);
    for (const deal of overdue) {
      this.#forget(deal);
      this.#again(deal);
    }
    this.flush();
  }
}
