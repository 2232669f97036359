/**
 * One HTTP connection: the socket, its read buffer, and the watch kept on it
 * while it waits idle in a pool.
 *
 * @module
 */

import { closeQuietly } from "./dial.ts";

/** The size of the buffers responses are read into. */
export const BUFFER_SIZE = 64 * 1024;
/** A read never goes into less free space than this; a fresh buffer is taken instead. */
const MIN_READ_SPACE = 8 * 1024;

/**
 * Bytes arrived on a pooled connection while it was idle, before the next
 * request was sent: they answer nothing that was asked, so the connection is
 * out of step with the server and is closed.
 */
export class UnsolicitedBytesError extends Deno.errors.InvalidData {
  /** Creates the error. */
  constructor() {
    super("The server sent bytes on an idle connection before the request was written");
    this.name = "UnsolicitedBytesError";
  }
}

/**
 * A socket plus the bytes read from it and not consumed yet,
 * `buffer[start, end)`. Bytes before `start` may belong to arrays already
 * handed to callers ({@linkcode Connection.lend}), so reads only ever write
 * at `end` and beyond; when that space runs short, the unconsumed bytes move
 * to a fresh buffer, or to the front of this one once the callers said they
 * use none of those arrays any more ({@linkcode Connection.release}).
 */
export class Connection {
  /** The underlying socket. */
  readonly conn: Deno.Conn;
  /** The current read buffer. */
  buffer: Uint8Array = new Uint8Array(BUFFER_SIZE);
  /** Where the unconsumed bytes start. */
  start = 0;
  /** Where the unconsumed bytes end. */
  end = 0;
  /** Bytes received since {@linkcode Connection.checkOut}. */
  received = 0;
  /** Whether no array handed out of `buffer` is in use any more: it may be written over. */
  #released = false;
  #pendingRead: Promise<number | null> | undefined;
  #closeReason: unknown;
  #closed = false;
  #onClose: ((connection: Connection) => void) | undefined;
  #idle = false;
  /** Whether the read started by {@linkcode Connection.park} has brought bytes. */
  #idleReadSettled = false;
  /** When the idle connection ends, in `performance.now()` time. */
  #idleUntil = 0;
  #onIdleEnd: ((connection: Connection) => void) | undefined;
  /**
   * Fires at `#idleTimerAt` (no later than `#idleUntil` while idle). It is
   * left running when the connection is checked out: a connection parked
   * again soon finds it still armed and early enough, and keeps it.
   */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimerAt = Infinity;

  /**
   * Wraps an open socket.
   *
   * @param conn The socket, now owned by this connection.
   * @param onClose Called once, when the connection closes.
   */
  constructor(conn: Deno.Conn, onClose?: (connection: Connection) => void) {
    this.conn = conn;
    this.#onClose = onClose;
  }

  /** Whether {@linkcode Connection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads more bytes into the buffer (after `end`). The read left pending
   * while idle, if any, is the one awaited.
   *
   * @returns `false` at the end of the stream.
   * @throws The reason given to {@linkcode Connection.close} when the
   * connection was closed; otherwise the socket's error.
   */
  async fill(): Promise<boolean> {
    let reading = this.#pendingRead;
    this.#pendingRead = undefined;
    if (reading === undefined) {
      this.#makeRoom();
      reading = this.conn.read(this.buffer.subarray(this.end));
    }
    let n: number | null;
    try {
      n = await reading;
    } catch (error) {
      throw this.#closed ? this.#closeReason : error;
    }
    if (this.#closed) throw this.#closeReason;
    if (n === null) return false;
    this.end += n;
    this.received += n;
    return true;
  }

  /**
   * Writes all of `bytes`.
   *
   * @param bytes What to send.
   * @throws The reason given to {@linkcode Connection.close} when the
   * connection was closed; otherwise the socket's error.
   */
  async write(bytes: Uint8Array): Promise<void> {
    try {
      for (let written = 0; written < bytes.byteLength;) {
        written += await this.conn.write(bytes.subarray(written));
      }
    } catch (error) {
      throw this.#closed ? this.#closeReason : error;
    }
  }

  /**
   * Parks the connection: unrefs it, starts the idle timer, and keeps one
   * read pending to notice the server closing it (or sending anything).
   *
   * @param idleTimeout Milliseconds before `onEnd` is called anyway.
   * @param onEnd Called once if the read completes or the timer fires while idle.
   */
  park(idleTimeout: number, onEnd: (connection: Connection) => void): void {
    this.#idle = true;
    this.conn.unref();
    this.#makeRoom();
    const reading = this.conn.read(this.buffer.subarray(this.end));
    this.#pendingRead = reading;
    this.#idleReadSettled = false;
    const settled = (n: number | null | undefined) => {
      this.#idleReadSettled = typeof n === "number" && n > 0;
      if (this.#idle) onEnd(this);
    };
    reading.then(settled, () => settled(undefined));
    this.#onIdleEnd = onEnd;
    this.#idleUntil = performance.now() + idleTimeout;
    if (this.#idleTimerAt > this.#idleUntil) this.#armIdleTimer();
  }

  /**
   * Throws when the read left pending while idle has already settled: the
   * server sent something (or closed) before it could have seen the request.
   *
   * @throws {UnsolicitedBytesError} When it has.
   */
  throwIfIdleBytes(): void {
    if (this.#pendingRead !== undefined && this.#idleReadSettled) throw new UnsolicitedBytesError();
  }

  /** Takes the connection out of the idle state; its pending read becomes the next {@linkcode Connection.fill}. */
  checkOut(): void {
    this.#idle = false;
    this.conn.ref();
    this.received = 0;
  }

  /**
   * Closes the socket. Later and pending reads and writes reject with `reason`.
   *
   * @param reason What pending operations reject with.
   */
  close(reason: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#idle = false;
    clearTimeout(this.#idleTimer);
    closeQuietly(this.conn);
    this.#onClose?.(this);
  }

  #armIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimerAt = this.#idleUntil;
    const timer = setTimeout(this.#onIdleTimer, Math.max(0, this.#idleUntil - performance.now()));
    Deno.unrefTimer(timer);
    this.#idleTimer = timer;
  }

  #onIdleTimer = (): void => {
    this.#idleTimer = undefined;
    this.#idleTimerAt = Infinity;
    if (!this.#idle) return;
    if (performance.now() < this.#idleUntil) this.#armIdleTimer();
    else this.#onIdleEnd?.(this);
  };

  /**
   * Hands a caller `buffer[from, to)`. It stays as it is until the caller
   * calls {@linkcode Connection.release}.
   *
   * @param from Where the piece starts.
   * @param to Where it ends.
   * @returns The piece (a view of the buffer).
   */
  lend(from: number, to: number): Uint8Array {
    this.#released = false;
    return this.buffer.subarray(from, to);
  }

  /** Tells the connection that no piece it lent so far is in use: its buffer may be reused. */
  release(): void {
    this.#released = true;
  }

  /**
   * Makes room when the free space is short: moves the unconsumed bytes to
   * the front of the buffer when no lent piece is in use, else to a fresh one.
   */
  #makeRoom(): void {
    if (this.buffer.byteLength - this.end >= MIN_READ_SPACE) return;
    if (this.#released && this.buffer.byteLength - (this.end - this.start) >= MIN_READ_SPACE) {
      this.buffer.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      return;
    }
    const unconsumed = this.buffer.subarray(this.start, this.end);
    this.buffer = new Uint8Array(Math.max(BUFFER_SIZE, 2 * unconsumed.byteLength));
    this.buffer.set(unconsumed);
    this.start = 0;
    this.end = unconsumed.byteLength;
  }
}
