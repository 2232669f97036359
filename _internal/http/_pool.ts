/**
 * The connections of one {@linkcode HttpClient}: at most `maxConnections`
 * open at once (idle, busy or being dialed), idle ones kept for reuse, and
 * a queue of requests waiting for a connection to come free.
 *
 * A connection that comes free goes straight to the first waiter: a
 * connection handed back is given as it is, a closed one leaves a slot the
 * waiter dials with. Later requests therefore never overtake waiting ones.
 *
 * @module
 */

import { Connection } from "./_connection.ts";

/** Options of a {@linkcode ConnectionPool}. */
export interface PoolOptions {
  /** How many connections may be open at once. */
  maxConnections: number;
  /** How many idle connections are kept. */
  maxIdleConnections: number;
  /** How long an idle connection is kept, in milliseconds. */
  idleTimeout: number;
}

/** Opens one socket; the signal aborts the attempt. */
export type Dialer = (signal: AbortSignal | undefined) => Promise<Deno.Conn>;

/** What a waiter is given: a connection handed back, or a free slot (`null`) to dial with. */
type Grant = Connection | null;

interface Waiter {
  grant(grant: Grant): void;
}

/** A bounded set of connections to one server. */
export class ConnectionPool {
  #options: PoolOptions;
  #dial: Dialer;
  /** Idle connections, the most recently used last. */
  #idle: Connection[] = [];
  /** Every open connection, idle or busy. */
  #all = new Set<Connection>();
  /** Connections open or being dialed. */
  #open = 0;
  #waiters: Waiter[] = [];
  #closeReason: unknown;
  #closed = false;

  /**
   * Creates an empty pool.
   *
   * @param options The limits.
   * @param dial Opens a new socket.
   */
  constructor(options: PoolOptions, dial: Dialer) {
    this.#options = options;
    this.#dial = dial;
  }

  /** How many idle connections wait for reuse. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** How many connections are open or being dialed. */
  get openCount(): number {
    return this.#open;
  }

  /** How many requests wait for a connection. */
  get waitingCount(): number {
    return this.#waiters.length;
  }

  /**
   * Gives a connection: an idle one (unless `fresh`), a new one while fewer
   * than `maxConnections` are open, or else the first one that comes free.
   *
   * @param signal Ends the wait and the dial; rejects with its reason.
   * @param fresh Whether the connection must be a new one (idle ones are closed to make room).
   * @returns The connection, checked out, and whether it was reused.
   * @throws The signal's reason; the pool's close reason; the dial's error.
   */
  async acquire(
    signal: AbortSignal | undefined,
    fresh: boolean,
  ): Promise<{ connection: Connection; reused: boolean }> {
    this.#throwIfClosed();
    let grant: Grant | undefined;
    if (!fresh) grant = this.#idle.pop();
    else if (this.#open >= this.#options.maxConnections) this.#idle.shift()?.close(closedReason());
    if (grant === undefined && this.#open < this.#options.maxConnections) {
      grant = null;
      this.#open++;
    }
    // A slot granted to a waiter is already counted as open.
    if (grant === undefined) grant = await this.#wait(signal);
    if (grant !== null) {
      grant.checkOut();
      return { connection: grant, reused: true };
    }
    try {
      const conn = await this.#dial(signal);
      if (this.#closed) {
        conn.close();
        this.#throwIfClosed();
      }
      const connection = new Connection(conn, this.#onClose);
      this.#all.add(connection);
      return { connection, reused: false };
    } catch (error) {
      this.#slotFreed();
      throw error;
    }
  }

  /**
   * Hands a connection back after an exchange: to the first waiter, to the
   * idle list, or closed.
   *
   * @param connection The connection.
   * @param reusable Whether it may carry another request.
   */
  release(connection: Connection, reusable: boolean): void {
    if (
      !reusable || this.#closed || connection.closed || connection.start !== connection.end
    ) {
      connection.close(closedReason());
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.grant(connection);
      return;
    }
    if (this.#idle.length >= this.#options.maxIdleConnections) {
      connection.close(closedReason());
      return;
    }
    connection.park(this.#options.idleTimeout, this.#dropIdle);
    this.#idle.push(connection);
  }

  /**
   * Closes every connection; waiting and later acquisitions reject with `reason`.
   *
   * @param reason What pending operations reject with.
   */
  close(reason: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    for (const waiter of this.#waiters.splice(0)) waiter.grant(null);
    for (const connection of [...this.#all]) connection.close(reason);
    this.#idle.length = 0;
  }

  #throwIfClosed(): void {
    if (this.#closed) throw this.#closeReason;
  }

  /** Waits for a connection or a slot; leaves the queue when `signal` aborts. */
  #wait(signal: AbortSignal | undefined): Promise<Grant> {
    signal?.throwIfAborted();
    const { promise, resolve, reject } = Promise.withResolvers<Grant>();
    const onAbort = () => {
      const index = this.#waiters.indexOf(waiter);
      if (index !== -1) this.#waiters.splice(index, 1);
      reject(signal!.reason);
    };
    const waiter: Waiter = {
      grant: (grant) => {
        signal?.removeEventListener("abort", onAbort);
        if (this.#closed) {
          grant?.close(this.#closeReason);
          reject(this.#closeReason);
        } else {
          resolve(grant);
        }
      },
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiters.push(waiter);
    return promise;
  }

  /** A slot came free (a connection closed, or a dial failed): the first waiter dials with it. */
  #slotFreed(): void {
    const waiter = this.#closed ? undefined : this.#waiters.shift();
    if (waiter === undefined) this.#open--;
    else waiter.grant(null); // The slot passes to the waiter, still counted.
  }

  #onClose = (connection: Connection): void => {
    if (!this.#all.delete(connection)) return;
    const index = this.#idle.indexOf(connection);
    if (index !== -1) this.#idle.splice(index, 1);
    this.#slotFreed();
  };

  #dropIdle = (connection: Connection): void => {
    connection.close(closedReason());
  };
}

function closedReason(): Error {
  return new Deno.errors.BadResource("The connection is closed");
}
