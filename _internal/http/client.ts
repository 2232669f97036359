/**
 * A small HTTP/1.1 client over unix sockets, TCP and TLS, with a keep-alive
 * pool. It keeps the reason phrase exactly as sent, hands out body bytes in
 * large pieces, and never sends a request twice unless told to.
 *
 * @module
 */

import { bodyReader } from "./_body.ts";
import { Connection } from "./_connection.ts";
import { serializeRequest } from "./_request_head.ts";
import { BodyResponse, type HttpResponse } from "./_response.ts";
import { readResponseHead, type ResponseHead } from "./_response_head.ts";
import { dial, type DialTarget, hostPort } from "./dial.ts";

export type { HttpResponse } from "./_response.ts";

/** Options of an {@linkcode HttpClient}. */
export interface HttpClientOptions {
  /** Where to connect. */
  target: DialTarget;
  /** The `Host` header sent with every request.
   * @default {"localhost" for unix sockets, otherwise the target's host and port} */
  host?: string;
  /** How many idle connections are kept for reuse.
   * @default {8} */
  maxIdleConnections?: number;
  /** How long, in milliseconds, an idle connection is kept.
   * @default {30000} */
  idleTimeout?: number;
}

/** One request for {@linkcode HttpClient.request}. */
export interface HttpRequest {
  /** The method, such as `"GET"`. */
  method: string;
  /** The origin-form target, already percent-encoded, with its query: `"/v1.41/containers/abc/json"`. */
  path: string;
  /** Extra header fields. `Content-Length` and `Transfer-Encoding` are set by the client.
   * @default {{}} */
  headers?: Record<string, string>;
  /** The body, always sent with a `Content-Length`.
   * @default {undefined} */
  body?: string | Uint8Array;
  /** Aborts the request at any point, including while the body is read; the connection is closed.
   * @default {undefined} */
  signal?: AbortSignal;
  /**
   * Whether to send the request once more, on a new connection, when a reused
   * idle connection turns out to be closed before any byte of the response
   * arrived. Only set it for requests that are safe to repeat.
   * @default {false}
   */
  retryOnStale?: boolean;
}

/**
 * An HTTP/1.1 client for one server, reusing keep-alive connections.
 *
 * Idle connections are unref'ed (an idle pool never keeps the process alive)
 * and watched, so one the server closed is dropped before it is reused.
 *
 * @example Get a document
 * ```ts
 * import { HttpClient } from "./client.ts";
 *
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("OK"));
 * using client = new HttpClient({
 *   target: { transport: "tcp", hostname: "127.0.0.1", port: server.addr.port },
 * });
 * const response = await client.request({ method: "GET", path: "/_ping" });
 * console.log(response.status, await response.text()); // 200 "OK"
 * ```
 *
 * @example Talk to the Docker daemon
 * ```ts ignore
 * import { HttpClient } from "./client.ts";
 *
 * using client = new HttpClient({ target: { transport: "unix", path: "/var/run/docker.sock" } });
 * const response = await client.request({ method: "GET", path: "/v1.41/version", retryOnStale: true });
 * console.log(response.status, await response.json());
 * ```
 */
export class HttpClient implements Disposable {
  #target: DialTarget;
  #host: string;
  #maxIdleConnections: number;
  #idleTimeout: number;
  /** Idle connections, the most recently used last. */
  #idle: Connection[] = [];
  #busy = new Set<Connection>();
  #closing = new AbortController();

  /**
   * Creates a client. Nothing is opened until the first request.
   *
   * @param options Where to connect and how to pool connections.
   */
  constructor(options: HttpClientOptions) {
    this.#target = options.target;
    this.#host = options.host ?? defaultHost(options.target);
    this.#maxIdleConnections = options.maxIdleConnections ?? 8;
    this.#idleTimeout = options.idleTimeout ?? 30_000;
  }

  /**
   * Sends a request and resolves once the response head has arrived. Read
   * the body to its end, or cancel it, to free the connection.
   *
   * @param request The request.
   * @returns The response.
   * @throws {TypeError} When the method, path or a header would break the request framing.
   * @throws {Deno.errors.InvalidData} When the response is malformed or its head exceeds 64 KiB.
   * @throws {Deno.errors.UnexpectedEof} When the connection closes before the response is complete.
   * @throws {Deno.errors.BadResource} When the client is closed.
   * @throws {Deno.errors.Interrupted} When the client is closed while the request is in flight.
   * @throws The signal's reason when it aborts; connection errors from Deno unchanged.
   */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const bytes = serializeRequest({ ...request, host: this.#host });
    request.signal?.throwIfAborted();
    if (this.#closing.signal.aborted) {
      throw new Deno.errors.BadResource("The HTTP client is closed");
    }
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      idle.checkOut();
      try {
        return await this.#exchange(idle, bytes, request);
      } catch (error) {
        if (!request.retryOnStale || !this.#wasStale(idle, error, request.signal)) throw error;
      }
    }
    const conn = await dial(this.#target, {
      signal: request.signal === undefined
        ? this.#closing.signal
        : AbortSignal.any([request.signal, this.#closing.signal]),
    });
    return await this.#exchange(new Connection(conn), bytes, request);
  }

  /**
   * Closes every idle and in-flight connection. In-flight requests and
   * bodies reject; later requests reject. Calling it again does nothing.
   */
  close(): void {
    if (this.#closing.signal.aborted) return;
    const error = new Deno.errors.Interrupted("The HTTP client was closed");
    this.#closing.abort(error);
    for (const connection of [...this.#idle, ...this.#busy]) connection.close(error);
    this.#idle.length = 0;
    this.#busy.clear();
  }

  /** Closes the client, like {@linkcode HttpClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** How many idle connections wait in the pool. */
  get idleConnections(): number {
    return this.#idle.length;
  }

  async #exchange(
    connection: Connection,
    bytes: Uint8Array,
    request: HttpRequest,
  ): Promise<HttpResponse> {
    const { signal } = request;
    const onAbort = () => connection.close(signal?.reason);
    const finish = (reuse: boolean) => {
      signal?.removeEventListener("abort", onAbort);
      this.#busy.delete(connection);
      if (reuse) this.#release(connection);
      else connection.close(new Deno.errors.BadResource("The connection is closed"));
    };
    this.#busy.add(connection);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      if (this.#closing.signal.aborted) throw this.#closing.signal.reason;
      await connection.write(bytes);
      let head = await readResponseHead(connection);
      // Interim responses (100 Continue, 102, 103) come before the final one.
      while (head.status < 200 && head.status !== 101) head = await readResponseHead(connection);
      if (head.status === 101) {
        throw new Deno.errors.InvalidData(
          "Unexpected 101 Switching Protocols: no upgrade was asked for",
        );
      }
      const body = bodyReader(connection, request.method, head);
      const keepAlive = isKeepAlive(head, request.headers);
      return new BodyResponse(head, body, (reuse) => finish(reuse && keepAlive));
    } catch (error) {
      finish(false);
      throw error;
    }
  }

  /** Whether `error` means the reused `connection` was closed by the server before it answered. */
  #wasStale(connection: Connection, error: unknown, signal: AbortSignal | undefined): boolean {
    return connection.received === 0 && !signal?.aborted && !this.#closing.signal.aborted &&
      (error instanceof Deno.errors.UnexpectedEof ||
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.BrokenPipe);
  }

  #release(connection: Connection): void {
    if (
      this.#closing.signal.aborted || connection.start !== connection.end ||
      this.#idle.length >= this.#maxIdleConnections
    ) {
      connection.close(new Deno.errors.BadResource("The connection is closed"));
      return;
    }
    connection.park(this.#idleTimeout, this.#dropIdle);
    this.#idle.push(connection);
  }

  #dropIdle = (connection: Connection): void => {
    const index = this.#idle.indexOf(connection);
    if (index !== -1) this.#idle.splice(index, 1);
    connection.close(new Deno.errors.BadResource("The connection is closed"));
  };
}

function defaultHost(target: DialTarget): string {
  if (target.transport === "unix") return "localhost";
  const defaultPort = target.transport === "tls" ? 443 : 80;
  return target.port === defaultPort ? target.hostname : hostPort(target.hostname, target.port);
}

/** Whether the connection may carry another request after this exchange. */
function isKeepAlive(
  head: ResponseHead,
  requestHeaders: Record<string, string> | undefined,
): boolean {
  const tokens = connectionTokens(head.headers.get("connection"));
  if (tokens.includes("close")) return false;
  for (const [name, value] of Object.entries(requestHeaders ?? {})) {
    if (name.toLowerCase() === "connection" && connectionTokens(value).includes("close")) {
      return false;
    }
  }
  return head.minorVersion >= 1 || tokens.includes("keep-alive");
}

function connectionTokens(value: string | null): string[] {
  return value === null ? [] : value.toLowerCase().split(",").map((token) => token.trim());
}
