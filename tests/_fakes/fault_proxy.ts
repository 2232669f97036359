/**
 * A unix-socket proxy that forwards every connection to another unix socket.
 * It counts the connections it accepts, to observe connection reuse from
 * outside a client, and can cut them all on command, or refuse new ones for
 * a while: an engine that drops off the network while it keeps running.
 *
 * @example Cut and refuse
 * ```ts ignore
 * await using proxy = await FaultProxy.start("/var/run/docker.sock");
 * // point the client at proxy.socketPath ... then:
 * proxy.refuse(); // cut every connection and refuse new ones
 * proxy.restore(); // accept again
 * ```
 *
 * @example Count connections
 * ```ts ignore
 * await using proxy = await FaultProxy.start("/var/run/docker.sock");
 * // make two calls through proxy.socketPath, close the client ... then:
 * console.log(proxy.accepted); // 1 when the calls shared a connection
 * await proxy.drained(); // the client closed its connections
 * ```
 *
 * @module
 */

interface Pair {
  client: Deno.UnixConn;
  upstream: Deno.UnixConn | undefined;
  closed: boolean;
}

/** A counting, cuttable proxy between unix sockets. */
export class FaultProxy implements AsyncDisposable {
  /** The socket clients connect to. */
  readonly socketPath: string;
  /** How many connections it accepted, in total (refused ones included). */
  accepted = 0;
  #target: string;
  #dir: string;
  #listener: Deno.UnixListener;
  #pairs = new Set<Pair>();
  #tasks = new Set<Promise<void>>();
  #refusing = false;
  #accepting: Promise<void>;
  #drainWaiters: (() => void)[] = [];

  private constructor(dir: string, target: string) {
    this.#dir = dir;
    this.#target = target;
    this.socketPath = `${dir}/proxy.sock`;
    this.#listener = Deno.listen({ transport: "unix", path: this.socketPath });
    this.#accepting = this.#accept();
  }

  /**
   * Starts a proxy on a fresh socket in a temporary folder.
   *
   * @param target The socket to forward to.
   * @returns The proxy, listening.
   */
  static async start(target: string): Promise<FaultProxy> {
    return new FaultProxy(await Deno.makeTempDir({ prefix: "fault-proxy-" }), target);
  }

  /** How many connections are open now. */
  get open(): number {
    return this.#pairs.size;
  }

  /**
   * Waits until no connection is open.
   *
   * @returns Once every forwarded connection has been closed (by either side).
   */
  drained(): Promise<void> {
    if (this.#pairs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Closes every open connection (new ones are still accepted). */
  cut(): void {
    for (const pair of this.#pairs) close(pair);
  }

  /** Cuts every open connection and closes new ones at once, until {@linkcode FaultProxy.restore}. */
  refuse(): void {
    this.#refusing = true;
    this.cut();
  }

  /** Forwards new connections again. */
  restore(): void {
    this.#refusing = false;
  }

  /** Stops listening, cuts everything, and waits for the forwarding to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    this.cut();
    await Promise.allSettled([...this.#tasks]);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.accepted++;
      if (this.#refusing) {
        conn.close();
        continue;
      }
      this.#track(this.#forward(conn));
    }
  }

  async #forward(client: Deno.UnixConn): Promise<void> {
    const pair: Pair = { client, upstream: undefined, closed: false };
    this.#pairs.add(pair);
    try {
      pair.upstream = await Deno.connect({ transport: "unix", path: this.#target });
    } catch {
      close(pair);
      this.#remove(pair);
      return;
    }
    if (pair.closed) {
      pair.upstream.close();
      this.#remove(pair);
      return;
    }
    await Promise.allSettled([
      pipe(client, pair.upstream, pair),
      pipe(pair.upstream, client, pair),
    ]);
    this.#remove(pair);
  }

  #remove(pair: Pair): void {
    this.#pairs.delete(pair);
    if (this.#pairs.size > 0) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }
}

/** Copies `from` to `to` until either side ends; then closes both. */
async function pipe(from: Deno.Conn, to: Deno.Conn, pair: Pair): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      let written = 0;
      while (written < n) written += await to.write(buffer.subarray(written, n));
    }
  } catch {
    // A cut or a peer gone: either ends the pair.
  } finally {
    close(pair);
  }
}

function close(pair: Pair): void {
  if (pair.closed) return;
  pair.closed = true;
  for (const conn of [pair.client, pair.upstream]) {
    try {
      conn?.close();
    } catch {
      // Already closed.
    }
  }
}
