/**
 * A small HTTP/1.1 client over unix sockets, TCP and TLS, with a keep-alive
 * pool. It keeps the reason phrase exactly as sent, hands out body bytes in
 * large pieces, and never sends a request twice unless told to.
 *
 * @module
 */

import { bodyReader } from "./_body.ts";
import { type Connection, UnsolicitedBytesError } from "./_connection.ts";
import { serializeRequest } from "./_request_head.ts";
import { BodyResponse, BodyTooLargeError, type HttpResponse } from "./_response.ts";
import { readResponseHead, type ResponseHead } from "./_response_head.ts";
import { dial, type DialTarget, hostPort } from "./dial.ts";
import { ConnectionPool } from "./_pool.ts";

export { BodyTooLargeError };

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
  /**
   * How many connections may be open at once, idle ones included. Requests
   * beyond it wait for a connection to come free, each still bound by its
   * own signal.
   * @default {32}
   */
  maxConnections?: number;
  /**
   * The largest body, in bytes, that `bytes()`, `text()` and `json()` read;
   * a longer one rejects with a {@linkcode BodyTooLargeError} as soon as it
   * is known to be longer, and the connection is closed. `read()` has no limit.
   * @default {4194304} (4 MiB)
   */
  maxBodySize?: number;
}

/** How many connections an {@linkcode HttpClient} opens at most, unless told otherwise. */
export const DEFAULT_MAX_CONNECTIONS = 32;
/** The largest body an {@linkcode HttpClient} buffers, unless told otherwise: 4 MiB. */
export const DEFAULT_MAX_BODY_SIZE: number = 4 * 1024 * 1024;

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
  /** The largest body `bytes()`, `text()` and `json()` read for this request.
   * @default {the client's maxBodySize} */
  maxBodySize?: number;
}

/**
 * An HTTP/1.1 client for one server, reusing keep-alive connections.
 *
 * At most `maxConnections` connections are open at once; more requests wait
 * their turn. Idle connections are unref'ed (an idle pool never keeps the
 * process alive) and watched: one the server closed, or sent any byte on,
 * is dropped and never reused, so a stray answer is never taken for the
 * next request's.
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
  #host: string;
  #maxBodySize: number;
  #pool: ConnectionPool;
  #closing = new AbortController();

  /**
   * Creates a client. Nothing is opened until the first request.
   *
   * @param options Where to connect and how to pool connections.
   * @throws {RangeError} When `maxConnections` or `maxBodySize` is not a positive integer.
   */
  constructor(options: HttpClientOptions) {
    const target = options.target;
    this.#host = options.host ?? defaultHost(target);
    this.#maxBodySize = positiveInteger(options.maxBodySize, DEFAULT_MAX_BODY_SIZE, "maxBodySize");
    const maxConnections = positiveInteger(
      options.maxConnections,
      DEFAULT_MAX_CONNECTIONS,
      "maxConnections",
    );
    this.#pool = new ConnectionPool({
      maxConnections,
      maxIdleConnections: Math.min(options.maxIdleConnections ?? 8, maxConnections),
      idleTimeout: options.idleTimeout ?? 30_000,
    }, (signal) =>
      dial(target, {
        signal: signal === undefined
          ? this.#closing.signal
          : AbortSignal.any([signal, this.#closing.signal]),
      }));
  }

  /**
   * Sends a request and resolves once the response head has arrived. Read
   * the body to its end, or cancel it, to free the connection. When
   * `maxConnections` are busy, the request waits for one to come free.
   *
   * @param request The request.
   * @returns The response.
   * @throws {TypeError} When the method, path or a header would break the request framing.
   * @throws {Deno.errors.InvalidData} When the response is malformed or its head exceeds 64 KiB,
   * or when bytes arrived on the reused connection before the request was sent.
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
    const first = await this.#pool.acquire(request.signal, false);
    if (!first.reused) return await this.#exchange(first.connection, bytes, request);
    try {
      return await this.#exchange(first.connection, bytes, request);
    } catch (error) {
      if (!request.retryOnStale || !this.#wasStale(first.connection, error, request.signal)) {
        throw error;
      }
    }
    const fresh = await this.#pool.acquire(request.signal, true);
    return await this.#exchange(fresh.connection, bytes, request);
  }

  /**
   * Closes every idle and in-flight connection. In-flight requests and
   * bodies reject; waiting and later requests reject. Calling it again does nothing.
   */
  close(): void {
    if (this.#closing.signal.aborted) return;
    const error = new Deno.errors.Interrupted("The HTTP client was closed");
    this.#closing.abort(error);
    this.#pool.close(error);
  }

  /** Closes the client, like {@linkcode HttpClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** How many idle connections wait in the pool. */
  get idleConnections(): number {
    return this.#pool.idleCount;
  }

  /** How many connections are open (idle, busy, or being opened). */
  get openConnections(): number {
    return this.#pool.openCount;
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
      this.#pool.release(connection, reuse);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      if (this.#closing.signal.aborted) throw this.#closing.signal.reason;
      await connection.write(bytes);
      connection.throwIfIdleBytes();
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
      const maxBodySize = request.maxBodySize ?? this.#maxBodySize;
      return new BodyResponse(head, body, {
        maxBodySize,
        finish: (reuse) => finish(reuse && keepAlive),
      });
    } catch (error) {
      finish(false);
      throw error;
    }
  }

  /** Whether `error` means the reused `connection` was closed (or spoke out of turn) before it answered. */
  #wasStale(connection: Connection, error: unknown, signal: AbortSignal | undefined): boolean {
    if (signal?.aborted || this.#closing.signal.aborted) return false;
    if (error instanceof UnsolicitedBytesError) return true;
    return connection.received === 0 &&
      (error instanceof Deno.errors.UnexpectedEof ||
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.BrokenPipe);
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (Number.isSafeInteger(value) && value > 0) return value;
  throw new RangeError(`Invalid ${name} ${value}: expected a positive integer`);
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
