/**
 * Opening the byte streams an {@linkcode HttpClient} speaks HTTP over: a unix
 * socket, a TCP connection, or a TLS connection.
 *
 * @module
 */

/** Where to connect: a unix socket, a plain TCP port, or a TLS port. */
export type DialTarget =
  | {
    /** A unix domain socket. */
    transport: "unix";
    /** The socket's path, such as `/var/run/docker.sock`. */
    path: string;
  }
  | {
    /** A plain TCP connection. */
    transport: "tcp";
    /** The host name or IP address. */
    hostname: string;
    /** The TCP port. */
    port: number;
  }
  | {
    /** A TCP connection secured with TLS. */
    transport: "tls";
    /** The host name or IP address, also used to verify the certificate. */
    hostname: string;
    /** The TCP port. */
    port: number;
    /** PEM certificates of the authorities to trust instead of the system's. */
    caCerts?: string[];
    /** A PEM client certificate, for mutual TLS. */
    cert?: string;
    /** The PEM private key of `cert`. */
    key?: string;
  };

/** Options of {@linkcode dial}. */
export interface DialOptions {
  /** Aborts the connection attempt.
   * @default {undefined} */
  signal?: AbortSignal;
}

/**
 * Opens a connection to `target`. TLS connections finish their handshake
 * before the promise resolves, so certificate errors surface here.
 *
 * @param target Where to connect.
 * @param options The abort signal.
 * @returns The open connection; the caller closes it.
 * @throws {Deno.errors.NotFound | Deno.errors.ConnectionRefused | Deno.errors.PermissionDenied}
 * and the other errors of `Deno.connect` / `Deno.connectTls`, unchanged.
 * @throws The signal's reason when it aborts; a connection that arrives
 * after the abort is closed.
 *
 * @example Connect to a local TCP port
 * ```ts
 * import { dial } from "./dial.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await dial({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
 * using accepted = await listener.accept();
 * conn.close();
 * ```
 */
export async function dial(target: DialTarget, options?: DialOptions): Promise<Deno.Conn> {
  const signal = options?.signal;
  signal?.throwIfAborted();
  const connecting: Promise<Deno.Conn> = target.transport === "unix"
    ? Deno.connect({ transport: "unix", path: target.path })
    : target.transport === "tcp"
    ? Deno.connect({ hostname: target.hostname, port: target.port })
    : Deno.connectTls({
      hostname: target.hostname,
      port: target.port,
      caCerts: target.caCerts,
      cert: target.cert,
      key: target.key,
    });
  let conn: Deno.Conn;
  try {
    conn = signal === undefined ? await connecting : await raceAbort(connecting, signal);
  } catch (error) {
    throw isOutOfDescriptors(error) ? withoutFrames(error as Error) : error;
  }
  if (target.transport !== "tls") return conn;
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await (conn as Deno.TlsConn).handshake();
    signal?.throwIfAborted();
    return conn;
  } catch (error) {
    closeQuietly(conn);
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Settles like `connecting`, or rejects with the signal's reason first; a late connection is closed. */
function raceAbort(connecting: Promise<Deno.Conn>, signal: AbortSignal): Promise<Deno.Conn> {
  const { promise, resolve, reject } = Promise.withResolvers<Deno.Conn>();
  let settled = false;
  const onAbort = () => {
    if (settled) return;
    settled = true;
    connecting.then(closeQuietly, () => {});
    reject(signal.reason);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  connecting.then((conn) => {
    signal.removeEventListener("abort", onAbort);
    if (settled) return;
    settled = true;
    resolve(conn);
  }, (error) => {
    signal.removeEventListener("abort", onAbort);
    if (settled) return;
    settled = true;
    reject(error);
  });
  return promise;
}

/**
 * Tells whether `error` says the process or the system ran out of file
 * descriptors (`EMFILE`, `ENFILE`).
 *
 * @param error What an I/O call threw.
 * @returns `true` for "Too many open files".
 *
 * @example
 * ```ts
 * import { isOutOfDescriptors } from "./dial.ts";
 *
 * console.log(isOutOfDescriptors(new Error("Too many open files (os error 24)"))); // true
 * ```
 */
export function isOutOfDescriptors(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === "EMFILE" || code === "ENFILE" || /\(os error 2[34]\)/.test(error.message);
}

/**
 * Gives `error` a stack of one line, its name and message, with no frames.
 * While the process is out of file descriptors, Deno cannot render the
 * frames of an error raised in TypeScript (it panics doing so), so errors
 * about running out must never carry any.
 *
 * @typeParam T The error's type.
 * @param error The error, changed in place.
 * @returns The same error.
 */
export function withoutFrames<T extends Error>(error: T): T {
  Object.defineProperty(error, "stack", {
    value: `${error.name}: ${error.message}`,
    writable: true,
    configurable: true,
  });
  return error;
}

/**
 * Closes `conn`, ignoring the error of a connection that is already closed.
 *
 * @param conn The connection to close.
 */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * Describes `target` as a URL for messages, without any key material.
 *
 * @param target The connection target.
 * @returns `unix:///path`, `tcp://host:port` or `tls://host:port`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { describeTarget } from "./dial.ts";
 *
 * strictEqual(
 *   describeTarget({ transport: "unix", path: "/var/run/docker.sock" }),
 *   "unix:///var/run/docker.sock",
 * );
 * ```
 */
export function describeTarget(target: DialTarget): string {
  if (target.transport === "unix") return `unix://${target.path}`;
  return `${target.transport}://${hostPort(target.hostname, target.port)}`;
}

/**
 * Joins a host name and a port, bracketing IPv6 addresses.
 *
 * @param hostname The host name or IP address.
 * @param port The port.
 * @returns `host:port` or `[v6]:port`.
 */
export function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
