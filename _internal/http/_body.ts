/**
 * Response bodies: choosing how a body is delimited (RFC 9112 §6.3) and
 * reading it as a Content-Length body, a chunked body, or a body that runs
 * until the server closes the connection.
 *
 * @module
 */

import type { Connection } from "./_connection.ts";
import { MAX_HEAD_SIZE, type ResponseHead } from "./_response_head.ts";

const LF = 0x0a;
const CR = 0x0d;
/** The longest chunk-size line accepted, extensions included. */
const MAX_CHUNK_LINE = 4096;
/** More hex digits than this would not fit a safe integer. */
const MAX_CHUNK_SIZE_DIGITS = 13;

/** Reads one response body from its connection. */
export interface BodyReader {
  /** Whether the whole body was read. */
  readonly done: boolean;
  /** Whether the connection can carry another request once the body is done. */
  readonly reusable: boolean;
  /**
   * Reads the next piece of the body. Pieces are not overwritten later,
   * unless the caller releases them ({@linkcode BodyReader.release}).
   *
   * @returns The piece, or `null` at the end.
   */
  read(): Promise<Uint8Array | null>;
  /** Tells that no piece read so far is in use any more: the buffer may be reused. */
  release(): void;
}

/**
 * Returns the reader for the body of the response `head` to a `method` request.
 *
 * @param connection The connection the body comes from.
 * @param method The request method.
 * @param head The response head.
 * @returns The body reader.
 * @throws {Deno.errors.InvalidData} For a bad Content-Length or an unsupported Transfer-Encoding.
 */
export function bodyReader(connection: Connection, method: string, head: ResponseHead): BodyReader {
  const { status, headers } = head;
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
    return new LengthBody(connection, 0, true);
  }
  const transferEncoding = headers.get("transfer-encoding");
  if (transferEncoding !== null) {
    if (transferEncoding.trim().toLowerCase() !== "chunked") {
      throw new Deno.errors.InvalidData(`Unsupported Transfer-Encoding "${transferEncoding}"`);
    }
    // A Content-Length beside Transfer-Encoding is ignored, and the connection not trusted again.
    return new ChunkedBody(connection, !headers.has("content-length"));
  }
  const contentLength = headers.get("content-length");
  if (contentLength !== null) {
    return new LengthBody(connection, parseContentLength(contentLength), true);
  }
  return new UntilCloseBody(connection);
}

/** Parses a Content-Length value; repeated equal values (`"5, 5"`) are allowed. */
function parseContentLength(value: string): number {
  const values = new Set(value.split(",").map((part) => part.trim()));
  const [only] = values;
  const length = Number(only);
  if (values.size !== 1 || !/^\d+$/.test(only) || !Number.isSafeInteger(length)) {
    throw new Deno.errors.InvalidData(`Invalid Content-Length "${value}"`);
  }
  return length;
}

/** Takes up to `max` buffered bytes off the front of the connection's buffer. */
function take(connection: Connection, max: number): Uint8Array {
  const start = connection.start;
  const end = Math.min(connection.end, start + max);
  connection.start = end;
  return connection.lend(start, end);
}

/** A body of a known length. */
class LengthBody implements BodyReader {
  readonly reusable: boolean;
  #connection: Connection;
  #remaining: number;

  constructor(connection: Connection, length: number, reusable: boolean) {
    this.#connection = connection;
    this.#remaining = length;
    this.reusable = reusable;
  }

  get done(): boolean {
    return this.#remaining === 0;
  }

  release(): void {
    this.#connection.release();
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#remaining === 0) return null;
    const connection = this.#connection;
    if (connection.start === connection.end && !await connection.fill()) {
      throw new Deno.errors.UnexpectedEof(
        `The connection closed with ${this.#remaining} bytes of the body unread`,
      );
    }
    const piece = take(connection, this.#remaining);
    this.#remaining -= piece.byteLength;
    return piece;
  }
}

/** A body that ends when the server closes the connection. */
class UntilCloseBody implements BodyReader {
  readonly reusable = false;
  #connection: Connection;
  #done = false;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  get done(): boolean {
    return this.#done;
  }

  release(): void {
    this.#connection.release();
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#done) return null;
    const connection = this.#connection;
    if (connection.start === connection.end && !await connection.fill()) {
      this.#done = true;
      return null;
    }
    return take(connection, Infinity);
  }
}

const SIZE_LINE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILER = 3;
const DONE = 4;

/**
 * A chunked body. Each read decodes every chunk already buffered and returns
 * their data as one piece, moved together in place over the chunk framing.
 */
class ChunkedBody implements BodyReader {
  readonly reusable: boolean;
  #connection: Connection;
  #state = SIZE_LINE;
  #chunkLeft = 0;
  #trailerSize = 0;

  constructor(connection: Connection, reusable: boolean) {
    this.#connection = connection;
    this.reusable = reusable;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  release(): void {
    this.#connection.release();
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#state !== DONE) {
      const piece = this.#decode();
      if (piece !== null) return piece;
      if (this.#state !== DONE && !await this.#connection.fill()) {
        throw new Deno.errors.UnexpectedEof(
          "The connection closed in the middle of a chunked body",
        );
      }
    }
    return null;
  }

  /** Decodes what is buffered; returns the data found, or `null` if none. */
  #decode(): Uint8Array | null {
    const connection = this.#connection;
    const { buffer, end } = connection;
    const out = connection.start;
    let written = out;
    let at = out;
    while (this.#state !== DONE) {
      if (this.#state === DATA) {
        const n = Math.min(this.#chunkLeft, end - at);
        if (n === 0) break;
        if (written !== at) buffer.copyWithin(written, at, at + n);
        written += n;
        at += n;
        this.#chunkLeft -= n;
        if (this.#chunkLeft === 0) this.#state = DATA_END;
        continue;
      }
      const lineEnd = indexOfLF(buffer, at, end);
      if (lineEnd === -1) {
        if (end - at > (this.#state === TRAILER ? MAX_HEAD_SIZE : MAX_CHUNK_LINE)) {
          throw new Deno.errors.InvalidData("A line of the chunked framing is too long");
        }
        break;
      }
      const contentEnd = lineEnd > at && buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      switch (this.#state) {
        case SIZE_LINE:
          this.#chunkLeft = parseChunkSize(buffer, at, contentEnd);
          this.#state = this.#chunkLeft === 0 ? TRAILER : DATA;
          break;
        case DATA_END:
          if (contentEnd !== at) throw new Deno.errors.InvalidData("Chunk data overruns its size");
          this.#state = SIZE_LINE;
          break;
        case TRAILER:
          this.#trailerSize += lineEnd + 1 - at;
          if (this.#trailerSize > MAX_HEAD_SIZE) {
            throw new Deno.errors.InvalidData(
              `The trailer section is larger than ${MAX_HEAD_SIZE} bytes`,
            );
          }
          if (contentEnd === at) this.#state = DONE;
          break;
      }
      at = lineEnd + 1;
    }
    connection.start = at;
    return written === out ? null : connection.lend(out, written);
  }
}

function indexOfLF(buffer: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buffer[i] === LF) return i;
  }
  return -1;
}

/** Parses `hex-digits [BWS] [; extensions]`. */
function parseChunkSize(buffer: Uint8Array, from: number, to: number): number {
  let size = 0;
  let i = from;
  for (; i < to; i++) {
    const digit = hexValue(buffer[i]);
    if (digit === -1) break;
    size = size * 16 + digit;
  }
  const digits = i - from;
  const rest = buffer[i];
  const validEnd = i === to || rest === 0x3b /* ; */ || rest === 0x20 || rest === 0x09;
  if (digits === 0 || digits > MAX_CHUNK_SIZE_DIGITS || !validEnd) {
    const line = String.fromCharCode(...buffer.subarray(from, Math.min(to, from + 40)));
    throw new Deno.errors.InvalidData(`Malformed chunk size ${JSON.stringify(line)}`);
  }
  return size;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
