/**
 * Hand-written HTTP/1.1 over TLS, framed the way pveproxy frames it
 * (pve-http-server `PVE::APIServer::AnyEvent`): the reason phrase is the first
 * line of the message, keep-alive lasts at most 100 requests, and the
 * connection closes after every response with a code >= 400.
 *
 * @module
 */

import type { Timers } from "./_timers.ts";

/** One parsed request. Header names are lower case; repeated headers are joined with ", ". */
export interface HttpRequest {
  method: string;
  /** The path, percent-decoded (like `uri_unescape`). */
  path: string;
  /** The raw query string without `?`. */
  query: string;
  protocol: string;
  headers: Map<string, string>;
  /**
   * The body; empty when none was sent or it was not read (transfer encoding,
   * over 64 KiB, or not POST/PUT: the answer is then an error that closes the connection).
   */
  body: Uint8Array;
  /** `performance.now()` when the request line arrived. */
  receivedAt: number;
}

/** A response; `body` is UTF-8 text, sent without Content-Type/Length when empty. */
export interface HttpResponse {
  status: number;
  /** The message; only its first line becomes the reason phrase. */
  message: string;
  contentType?: string;
  body?: string;
  /** Wait this long before writing (PVE delays 401s). */
  delayMs?: number;
}

/** What a handler returns: a response, or `"drop"` to close the socket without answering. */
export type HttpResult = HttpResponse | "drop";

/** Handles one request. */
export type HttpHandler = (request: HttpRequest) => Promise<HttpResult>;

/** Options of {@linkcode HttpServer.listen}. */
export interface HttpServerOptions {
  cert: string;
  key: string;
  timers: Timers;
  /** Close a connection that sends no request for this long. */
  idleTimeoutMs: number;
}

const KEEP_ALIVE_REQUESTS = 100;
const MAX_POST = 64 * 1024;
const MAX_HEAD = 64 * 1024;
const CRLF = "\r\n";

/** A TLS listener that serves each connection with a request loop. */
export class HttpServer {
  #listener: Deno.TlsListener;
  #handler: HttpHandler;
  #options: HttpServerOptions;
  #conns = new Set<Deno.TlsConn>();
  #loops = new Set<Promise<void>>();
  #acceptLoop: Promise<void>;

  private constructor(
    listener: Deno.TlsListener,
    handler: HttpHandler,
    options: HttpServerOptions,
  ) {
    this.#listener = listener;
    this.#handler = handler;
    this.#options = options;
    this.#acceptLoop = this.#accept();
  }

  /** Listens on 127.0.0.1 with an OS-chosen port. */
  static listen(handler: HttpHandler, options: HttpServerOptions): HttpServer {
    const listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: options.cert,
      key: options.key,
    });
    return new HttpServer(listener, handler, options);
  }

  /** The port the listener got. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Stops accepting, closes every connection and waits for the loops to end. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#acceptLoop;
    await Promise.all(this.#loops);
  }

  async #accept(): Promise<void> {
    while (true) {
      let conn: Deno.TlsConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      this.#conns.add(conn);
      const loop = this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        this.#loops.delete(loop);
      });
      this.#loops.add(loop);
    }
  }

  async #serve(conn: Deno.TlsConn): Promise<void> {
    const reader = new ConnReader(conn, this.#options.timers, this.#options.idleTimeoutMs);
    let keepAlive = KEEP_ALIVE_REQUESTS;
    try {
      while (true) {
        const head = await reader.readHead();
        if (head === null) return;
        keepAlive--;
        const request = parseHead(head);
        if ("status" in request) {
          await this.#write(conn, "HTTP/1.0", request, false, false);
          return;
        }
        const length = Number(request.headers.get("content-length") ?? "0");
        if (
          length > 0 && length <= MAX_POST && !request.headers.has("transfer-encoding") &&
          (request.method === "POST" || request.method === "PUT")
        ) {
          request.body = await reader.readExact(length);
        }
        const connection = request.headers.get("connection");
        if (
          connection !== undefined ? /close/i.test(connection) : request.protocol === "HTTP/1.0"
        ) {
          keepAlive = 0;
        }
        const result = await this.#handler(request);
        if (result === "drop") return;
        if (result.delayMs) await this.#options.timers.sleep(result.delayMs);
        const keep = keepAlive > 0 && result.status < 400;
        const gzip = /gzip/.test(request.headers.get("accept-encoding") ?? "");
        await this.#write(conn, request.protocol, result, keep, gzip);
        if (!keep) return;
      }
    } catch {
      // peer went away, TLS failed, or the fake is closing
    } finally {
      await closeGracefully(conn);
    }
  }

  async #write(
    conn: Deno.TlsConn,
    protocol: string,
    res: HttpResponse,
    keepAlive: boolean,
    acceptGzip: boolean,
  ): Promise<void> {
    const bytes = await serializeResponse(protocol, res, keepAlive, acceptGzip);
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  }
}

/** Builds the status line, the headers in HTTP::Headers order, and the body. */
async function serializeResponse(
  protocol: string,
  res: HttpResponse,
  keepAlive: boolean,
  acceptGzip: boolean,
): Promise<Uint8Array> {
  const reason = res.message.match(/^(.*)$/m)?.[1] ?? "";
  let body = new TextEncoder().encode(res.body ?? "");
  const date = new Date().toUTCString();
  const lines = [
    `${protocol} ${res.status} ${reason}`,
    "Cache-Control: max-age=0",
    `Connection: ${keepAlive ? "Keep-Alive" : "close"}`,
    `Date: ${date}`,
    "Pragma: no-cache",
    "Server: pve-api-daemon/3.0",
  ];
  if (body.length > 1024 && acceptGzip) {
    body = await gzip(body);
    lines.push("Content-Encoding: gzip");
  }
  if (body.length > 0) lines.push(`Content-Length: ${body.length}`);
  if (res.contentType) lines.push(`Content-Type: ${res.contentType}`);
  lines.push(`Expires: ${date}`);
  const head = new TextEncoder().encode(lines.join(CRLF) + CRLF + CRLF);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Parses a request head, or returns the error pveproxy would answer with. */
function parseHead(head: string): HttpRequest | HttpResponse {
  const lines = head.split(/\r?\n/);
  const requestLine = lines.shift() ?? "";
  const m = requestLine.match(/^(\S+) (\S+) HTTP\/(\d+)\.(\d+)/);
  if (!m) return { status: 400, message: "bad request" };
  const [, method, target, major, minor] = m;
  if (major !== "1") {
    return { status: 506, message: `http protocol version ${major}.${minor} not supported` };
  }
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines) {
    const folded = line.match(/^\s+(.*)/);
    if (folded && last) {
      headers.set(last, `${headers.get(last)} ${folded[1]}`);
      continue;
    }
    const h = line.match(/^([^:\s]+)\s*:\s*(.*)/);
    if (!h) return { status: 506, message: "unable to parse request header" };
    last = h[1].toLowerCase();
    const prev = headers.get(last);
    headers.set(last, prev === undefined ? h[2] : `${prev}, ${h[2]}`);
  }
  const q = target.indexOf("?");
  const rawPath = q < 0 ? target : target.slice(0, q);
  return {
    method,
    path: unescapePath(rawPath),
    query: q < 0 ? "" : target.slice(q + 1),
    protocol: `HTTP/${major}.${minor}`,
    headers,
    body: new Uint8Array(),
    receivedAt: performance.now(),
  };
}

function unescapePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Buffered reads from one connection. */
class ConnReader {
  #conn: Deno.TlsConn;
  #timers: Timers;
  #idleMs: number;
  #buf = new Uint8Array(0);

  constructor(conn: Deno.TlsConn, timers: Timers, idleMs: number) {
    this.#conn = conn;
    this.#timers = timers;
    this.#idleMs = idleMs;
  }

  /** Reads up to the blank line after the headers; null on EOF or idle timeout. */
  async readHead(): Promise<string | null> {
    const idle = new AbortController();
    const timer = this.#timers.sleep(this.#idleMs, idle.signal).then(
      () => closeQuietly(this.#conn),
      () => {},
    );
    try {
      while (true) {
        const text = latin1(this.#buf);
        const start = text.match(/^(\r?\n)*/)?.[0].length ?? 0; // empty lines before a request are skipped
        const end = text.slice(start).search(/\r?\n\r?\n/);
        if (end >= 0) {
          const head = text.slice(start, start + end);
          const sep = text.slice(start + end).match(/^\r?\n\r?\n/)![0].length;
          this.#buf = this.#buf.subarray(start + end + sep);
          return head;
        }
        if (this.#buf.length > MAX_HEAD) return null;
        if (!(await this.#fill())) return null;
      }
    } finally {
      idle.abort();
      await timer;
    }
  }

  /** Reads exactly `n` bytes. */
  async readExact(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) throw new Deno.errors.UnexpectedEof("body cut short");
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const merged = new Uint8Array(this.#buf.length + n);
    merged.set(this.#buf);
    merged.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = merged;
    return true;
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

function closeQuietly(conn: Deno.TlsConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

async function closeGracefully(conn: Deno.TlsConn): Promise<void> {
  try {
    await conn.closeWrite(); // TLS close_notify, so the client reads a clean EOF
  } catch { /* already closed */ }
  closeQuietly(conn);
}
