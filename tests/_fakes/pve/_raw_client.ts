/**
 * A raw HTTP/1.1-over-TLS client for wire-level tests: it writes request bytes
 * by hand and returns the status line exactly as sent (fetch hides custom
 * reason phrases) and whether the server closed the connection.
 *
 * @module
 */

/** A request to write; `raw` replaces everything else with literal bytes. */
export interface RawRequestInit {
  method?: string;
  /** Path and query, e.g. `/api2/json/version`. */
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Literal request bytes (for malformed or chunked requests). */
  raw?: string;
}

/** A response as read off the wire. */
export interface RawResponse {
  /** The status line without CRLF, e.g. `HTTP/1.1 500 CT 101 not running`. */
  statusLine: string;
  status: number;
  /** Everything after the code on the status line. */
  reason: string;
  /** Header names in lower case. */
  headers: Map<string, string>;
  /** Header names in the order sent. */
  headerOrder: string[];
  body: string;
}

/** One TLS connection to the fake. */
export class RawTlsClient implements AsyncDisposable {
  #conn: Deno.TlsConn;
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);

  private constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
  }

  /** Connects to `server.url`, trusting `server.caCert`. */
  static async connect(server: { url: string; caCert: string }): Promise<RawTlsClient> {
    const u = new URL(server.url);
    const tcp = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    tcp.setNoDelay(true); // else delayed ACKs add ~40 ms per TLS round trip
    return new RawTlsClient(
      await Deno.startTls(tcp, { hostname: u.hostname, caCerts: [server.caCert] }),
    );
  }

  /** Writes a request and reads its response. */
  async request(init: RawRequestInit): Promise<RawResponse> {
    await this.send(init);
    return await this.readResponse();
  }

  /** Writes a request without reading. */
  async send(init: RawRequestInit): Promise<void> {
    const bytes = new TextEncoder().encode(init.raw ?? serialize(init));
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Reads one response: by Content-Length, else up to EOF when the server closes. */
  async readResponse(): Promise<RawResponse> {
    let end: number;
    while ((end = indexOfHeadEnd(this.#buf)) < 0) {
      if (!(await this.#fill())) {
        throw new Deno.errors.UnexpectedEof("connection closed before a response");
      }
    }
    const head = new TextDecoder().decode(this.#buf.subarray(0, end));
    this.#buf = this.#buf.subarray(end + 4);
    const [statusLine, ...lines] = head.split("\r\n");
    const headers = new Map<string, string>();
    const headerOrder: string[] = [];
    for (const line of lines) {
      const i = line.indexOf(":");
      headerOrder.push(line.slice(0, i));
      headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    let body: Uint8Array<ArrayBuffer>;
    const length = headers.get("content-length");
    if (length !== undefined) {
      while (this.#buf.length < Number(length)) {
        if (!(await this.#fill())) throw new Deno.errors.UnexpectedEof("body cut short");
      }
      body = this.#buf.slice(0, Number(length));
      this.#buf = this.#buf.subarray(Number(length));
    } else if (/close/i.test(headers.get("connection") ?? "")) {
      while (await this.#fill());
      body = this.#buf;
      this.#buf = new Uint8Array(0);
    } else {
      body = new Uint8Array(0);
    }
    if (headers.get("content-encoding") === "gzip") body = await gunzip(body);
    const m = statusLine.match(/^HTTP\/\d\.\d (\d{3}) ?(.*)$/);
    return {
      statusLine,
      status: Number(m?.[1]),
      reason: m?.[2] ?? "",
      headers,
      headerOrder,
      body: new TextDecoder().decode(body),
    };
  }

  /** True when the server has closed the connection (EOF with nothing buffered). */
  async closedByPeer(): Promise<boolean> {
    if (this.#buf.length > 0) return false;
    return !(await this.#fill());
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch (err) {
      if (err instanceof Deno.errors.UnexpectedEof || err instanceof Deno.errors.ConnectionReset) {
        return false;
      }
      throw err;
    }
    if (n === null) return false;
    const merged = new Uint8Array(this.#buf.length + n);
    merged.set(this.#buf);
    merged.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = merged;
    return true;
  }
}

/** Connects, sends one request, reads the response, closes. */
export async function rawRequest(
  server: { url: string; caCert: string },
  init: RawRequestInit,
): Promise<RawResponse> {
  await using client = await RawTlsClient.connect(server);
  return await client.request(init);
}

function serialize(init: RawRequestInit): string {
  const headers: Record<string, string> = { Host: "127.0.0.1", ...init.headers };
  if (init.body !== undefined) {
    headers["Content-Length"] = String(new TextEncoder().encode(init.body).length);
  }
  const lines = [`${init.method ?? "GET"} ${init.path ?? "/"} HTTP/1.1`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join("\r\n") + "\r\n\r\n" + (init.body ?? "");
}

function indexOfHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
