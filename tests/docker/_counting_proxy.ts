/**
 * A unix-socket proxy that counts the connections it accepts, to observe
 * connection reuse from outside the client.
 *
 * @module
 */

/** A running proxy; dispose it to stop it and close what it holds. */
export interface CountingProxy extends AsyncDisposable {
  /** The proxy's socket path. */
  path: string;
  /** How many connections were accepted so far. */
  readonly accepted: number;
  /** How many accepted connections are still open. */
  readonly open: number;
  /**
   * Waits until no accepted connection is open.
   *
   * @returns Once every client connection has been closed (by either side).
   */
  drained(): Promise<void>;
}

/**
 * Starts a proxy in front of a unix socket.
 *
 * @param upstream The socket to forward to.
 * @returns The proxy, already listening.
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const dir = await Deno.makeTempDir({ prefix: "idlewatcher-proxy-" });
  const path = `${dir}/proxy.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const pairs = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  let accepted = 0;
  let onDrained: (() => void) | undefined;

  const serve = async (client: Deno.UnixConn) => {
    conns.add(client);
    let server: Deno.Conn | undefined;
    try {
      server = await Deno.connect({ transport: "unix", path: upstream });
      conns.add(server);
      await Promise.all([pipe(client, server), pipe(server, client)]);
    } catch {
      // The upstream is gone: drop the client.
    } finally {
      for (const conn of [client, server]) {
        if (conn === undefined) continue;
        closeQuietly(conn);
        conns.delete(conn);
      }
    }
  };

  const accepting = (async () => {
    for await (const client of listener) {
      accepted++;
      const pair = serve(client).finally(() => {
        pairs.delete(pair);
        if (pairs.size === 0) onDrained?.();
      });
      pairs.add(pair);
    }
  })().catch(() => {});

  return {
    path,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    drained() {
      if (pairs.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (onDrained = resolve));
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of conns) closeQuietly(conn);
      await Promise.all(pairs);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Copies `from` into `to` until either ends, then closes both. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      let written = 0;
      while (written < n) written += await to.write(buffer.subarray(written, n));
    }
  } catch {
    // One side closed.
  } finally {
    closeQuietly(from);
    closeQuietly(to);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
