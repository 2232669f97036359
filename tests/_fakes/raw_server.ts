/**
 * A raw HTTP/1.1 test server: it hands each accepted connection to a handler
 * that reads requests and writes exact bytes, so tests can send any framing,
 * reason phrase or garbage, close early, or stay silent.
 */

import type { DialTarget } from "../../_internal/http/dial.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A request as the server received it. */
export interface ReceivedRequest {
  /** The request line and headers, up to and including the blank line. */
  head: string;
  /** The request line, such as `GET / HTTP/1.1`. */
  line: string;
  /** The method. */
  method: string;
  /** The path with its query. */
  path: string;
  /** The body (from Content-Length). */
  body: string;
}

/** The server side of one accepted connection. */
export class ServerConn {
  readonly conn: Deno.Conn;
  #buffered = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Reads the next request; `null` when the client closed the connection. */
  async readRequest(): Promise<ReceivedRequest | null> {
    while (true) {
      const text = decoder.decode(this.#buffered);
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd !== -1) {
        const head = text.slice(0, headEnd + 4);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const headBytes = encoder.encode(head).byteLength;
        if (this.#buffered.byteLength >= headBytes + length) {
          const body = decoder.decode(this.#buffered.subarray(headBytes, headBytes + length));
          this.#buffered = this.#buffered.slice(headBytes + length);
          const line = head.slice(0, head.indexOf("\r\n"));
          const [method, path] = line.split(" ");
          return { head, line, method, path, body };
        }
      }
      const chunk = await this.readSome();
      if (chunk === null) return null;
      const joined = new Uint8Array(this.#buffered.byteLength + chunk.byteLength);
      joined.set(this.#buffered);
      joined.set(chunk, this.#buffered.byteLength);
      this.#buffered = joined;
    }
  }

  /** Waits until the client closes the connection (or sends more bytes). */
  async waitForClose(): Promise<void> {
    await this.readSome();
  }

  /** Writes all of `data` (strings as UTF-8). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    for (let written = 0; written < bytes.byteLength;) {
      written += await this.conn.write(bytes.subarray(written));
    }
  }

  /** Closes the connection (again is fine). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Reads whatever comes next; `null` at the end or on an error. */
  async readSome(): Promise<Uint8Array | null> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      const n = await this.conn.read(buffer);
      return n === null ? null : buffer.subarray(0, n);
    } catch {
      return null; // Reset by the client, or closed here.
    }
  }
}

/** Handles one accepted connection; the connection is closed when it returns. */
export type ConnHandler = (conn: ServerConn, index: number) => Promise<void>;

/** Options of {@linkcode RawServer.start}. */
export interface RawServerOptions {
  /** Listen on a unix socket (default) or on TCP at 127.0.0.1. */
  transport?: "unix" | "tcp";
}

/** A listening raw server; dispose of it to close everything it opened. */
export class RawServer implements AsyncDisposable {
  /** How many connections were accepted. */
  accepts = 0;
  /** Where the client connects. */
  readonly target: DialTarget;
  #listener: Deno.Listener;
  #conns = new Set<ServerConn>();
  #handlers: Promise<void>[] = [];
  #loop: Promise<void>;
  #dir: string | undefined;

  private constructor(
    listener: Deno.Listener,
    target: DialTarget,
    dir: string | undefined,
    handler: ConnHandler,
  ) {
    this.#listener = listener;
    this.target = target;
    this.#dir = dir;
    this.#loop = this.#acceptLoop(handler);
  }

  /** Starts a server that runs `handler` for each connection. */
  static async start(handler: ConnHandler, options?: RawServerOptions): Promise<RawServer> {
    if (options?.transport === "tcp") {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      return new RawServer(
        listener,
        { transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port },
        undefined,
        handler,
      );
    }
    const dir = await Deno.makeTempDir();
    const path = `${dir}/http.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    return new RawServer(listener, { transport: "unix", path }, dir, handler);
  }

  async #acceptLoop(handler: ConnHandler): Promise<void> {
    for (let index = 0;; index++) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // Listener closed.
      }
      this.accepts++;
      const serverConn = new ServerConn(conn);
      this.#conns.add(serverConn);
      this.#handlers.push(
        handler(serverConn, index).catch(() => {}).finally(() => {
          serverConn.close();
          this.#conns.delete(serverConn);
        }),
      );
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

/** Reads requests and answers each one with `response`, until the client closes. */
export function answerEach(response: string | ((request: ReceivedRequest) => string)): ConnHandler {
  return async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      await conn.write(typeof response === "string" ? response : response(request));
    }
  };
}
