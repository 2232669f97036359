/**
 * A hostile server for the hardening tests: it accepts connections on a
 * unix socket or on loopback TLS, hands each to a handler that reads
 * requests and writes whatever bytes the case needs, and counts the
 * sockets it sees (accepted, and open at the peak).
 */

import { type ReceivedRequest, ServerConn } from "../_fakes/raw_server.ts";

const encoder = new TextEncoder();

/** A request as the server received it. */
export type Received = ReceivedRequest;

/** The server side of one accepted connection, for cases that outlast their client. */
export class HostileConn extends ServerConn {
  /** Waits until the client closes the connection, reading whatever it sends. */
  override async waitForClose(): Promise<void> {
    while (await this.readSome() !== null) {
      // Drain.
    }
  }

  /** Writes all of `data`, like {@linkcode ServerConn.write}; `false` when the client is gone. */
  async send(data: string | Uint8Array): Promise<boolean> {
    try {
      await this.write(data);
      return true;
    } catch {
      return false;
    }
  }
}

/** Handles one connection; it is closed when the handler returns. */
export type Handler = (conn: HostileConn, index: number) => Promise<void>;

/** TLS material for a server on loopback. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** A listening hostile server; dispose of it to close everything it opened. */
export class HostileServer implements AsyncDisposable {
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections open right now. */
  open = 0;
  /** The most connections open at once. */
  peakOpen = 0;
  /** `unix:///path` or `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** The socket path (unix only). */
  readonly path: string | undefined;
  #listener: Deno.Listener;
  #conns = new Set<HostileConn>();
  #handlers = new Set<Promise<void>>();
  #loop: Promise<void>;
  #dir: string | undefined;

  private constructor(
    listener: Deno.Listener,
    url: string,
    dir: string | undefined,
    handler: Handler,
  ) {
    this.#listener = listener;
    this.url = url;
    this.#dir = dir;
    this.path = dir === undefined ? undefined : `${dir}/hostile.sock`;
    this.#loop = this.#accept(handler);
  }

  /** Listens on a fresh unix socket. */
  static async unix(handler: Handler): Promise<HostileServer> {
    const dir = await Deno.makeTempDir({ prefix: "hostile-" });
    const listener = Deno.listen({ transport: "unix", path: `${dir}/hostile.sock` });
    return new HostileServer(listener, `unix://${dir}/hostile.sock`, dir, handler);
  }

  /** Listens with TLS on a free loopback port. */
  static tls(material: TlsMaterial, handler: Handler): HostileServer {
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...material });
    const { port } = listener.addr as Deno.NetAddr;
    return new HostileServer(listener, `https://127.0.0.1:${port}`, undefined, handler);
  }

  async #accept(handler: Handler): Promise<void> {
    for (let index = 0;; index++) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.accepted++;
      this.open++;
      this.peakOpen = Math.max(this.peakOpen, this.open);
      const hostile = new HostileConn(conn);
      this.#conns.add(hostile);
      const handling = handler(hostile, index).catch(() => {}).finally(() => {
        hostile.close();
        this.#conns.delete(hostile);
        this.open--;
        this.#handlers.delete(handling);
      });
      this.#handlers.add(handling);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#loop;
    for (const conn of this.#conns) conn.close();
    await Promise.all(this.#handlers);
    if (this.#dir !== undefined) await Deno.remove(this.#dir, { recursive: true });
  }
}

/** A whole response with a Content-Length. */
export function respond(
  status: number,
  body: string | Uint8Array = "",
  headers: Record<string, string> = {},
): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const fields = Object.entries({
    "Content-Type": "application/json",
    ...headers,
    "Content-Length": String(bytes.byteLength),
  }).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  const head = encoder.encode(`HTTP/1.1 ${status} X\r\n${fields}\r\n`);
  const out = new Uint8Array(head.byteLength + bytes.byteLength);
  out.set(head);
  out.set(bytes, head.byteLength);
  return out;
}

/** The answer of a Docker `/_ping`. */
export const PING: Uint8Array = respond(200, "OK", {
  "Content-Type": "text/plain",
  "Api-Version": "1.41",
});

/** A Docker inspect answer for a container in `status`. */
export function inspect(status = "running"): Uint8Array {
  return respond(
    200,
    JSON.stringify({ Id: "c0ffee", Name: "/web", State: { Status: status, Running: true } }),
  );
}

/** The TLS material of the fake PVE's fixtures (a CA and a cert for 127.0.0.1). */
export async function pveTls(): Promise<TlsMaterial & { ca: string }> {
  const dir = new URL("../fixtures/pve/", import.meta.url);
  return {
    cert: await Deno.readTextFile(new URL("server.pem", dir)),
    key: await Deno.readTextFile(new URL("server-key.pem", dir)),
    ca: await Deno.readTextFile(new URL("ca.pem", dir)),
  };
}

/**
 * PVE's guest list, which a Proxmox provider reads when it is created: CT
 * 101 (and every other vmid asked for) as an LXC container on node "pve".
 * `undefined` for any other request.
 */
export function pveGuestList(request: Received): Uint8Array | undefined {
  if (!request.path.startsWith("/api2/json/cluster/resources")) return undefined;
  const data = Array.from(
    { length: 1000 },
    (_, i) => ({ vmid: 100 + i, type: "lxc", node: "pve" }),
  );
  return respond(200, JSON.stringify({ data }));
}
