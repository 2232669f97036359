/**
 * The response `HttpClient.request()` resolves with: its interface and the
 * implementation over a body reader.
 *
 * @module
 */

import type { BodyReader } from "./_body.ts";
import type { ResponseHead } from "./_response_head.ts";

const decoder = new TextDecoder();

/** A response whose head has arrived; the body is read on demand. */
export interface HttpResponse extends AsyncDisposable {
  /** The status code. */
  readonly status: number;
  /** The reason phrase exactly as the server sent it (may be empty). */
  readonly statusText: string;
  /** The header fields. */
  readonly headers: Headers;
  /**
   * Reads the next piece of the body (de-chunked). Call it again only after
   * the previous call settled.
   *
   * @param options `transient`: the caller keeps no piece it got from
   * earlier calls (they may be written over from now on), which spares
   * allocating read buffers.
   * @returns A piece the caller owns (never overwritten later, unless a
   * later call is `transient`), or `null` at the end.
   * @throws {Deno.errors.InvalidData} When the body framing is malformed.
   * @throws {Deno.errors.UnexpectedEof} When the connection closes early.
   */
  read(options?: { transient?: boolean }): Promise<Uint8Array | null>;
  /**
   * Reads the whole body.
   *
   * @returns The body.
   * @throws {BodyTooLargeError} When the body is longer than the request's `maxBodySize`.
   */
  bytes(): Promise<Uint8Array>;
  /**
   * Reads the whole body as UTF-8 text.
   *
   * @returns The text.
   */
  text(): Promise<string>;
  /**
   * Reads the whole body and parses it as JSON.
   *
   * @returns The parsed value.
   * @throws {SyntaxError} When the body is not JSON.
   */
  json(): Promise<unknown>;
  /** Drops the rest of the body; unless it was fully read, the connection is closed. */
  cancel(): void;
}

/**
 * A response body is longer than the limit set for buffering it. The
 * connection it came on is closed.
 */
export class BodyTooLargeError extends Error {
  /** The limit, in bytes. */
  readonly limit: number;

  /**
   * Creates the error.
   *
   * @param limit The limit, in bytes.
   */
  constructor(limit: number) {
    super(`The answer is larger than ${formatSize(limit)}`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

function formatSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** How a {@linkcode BodyResponse} hands its connection back, and how much it buffers. */
export interface BodyResponseOptions {
  /** Hands the connection back (`true`) or closes it (`false`); called once. */
  finish: (reuse: boolean) => void;
  /** The largest body `bytes()` reads. */
  maxBodySize: number;
}

/**
 * An {@linkcode HttpResponse} over a {@linkcode BodyReader}. Calls `finish`
 * exactly once: with `true` when the body was read to its end on a connection
 * that may be reused, with `false` when it failed or was cancelled.
 */
export class BodyResponse implements HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  #body: BodyReader;
  #finish: ((reuse: boolean) => void) | undefined;
  #cancelled = false;
  #failed = false;
  #error: unknown;
  #maxBodySize: number;

  /**
   * Wraps a parsed head and its body.
   *
   * @param head The status line and headers.
   * @param body The body reader.
   * @param options How to hand the connection back, and the buffering limit.
   */
  constructor(head: ResponseHead, body: BodyReader, options: BodyResponseOptions) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = head.headers;
    this.#body = body;
    this.#finish = options.finish;
    this.#maxBodySize = options.maxBodySize;
    if (body.done) this.#end(body.reusable);
  }

  async read(options?: { transient?: boolean }): Promise<Uint8Array | null> {
    if (this.#finish === undefined) {
      if (this.#failed) throw this.#error;
      return null;
    }
    if (options?.transient) this.#body.release();
    try {
      const piece = await this.#body.read();
      if (this.#body.done) this.#end(this.#body.reusable);
      return piece;
    } catch (error) {
      if (this.#cancelled) return null;
      this.#failed = true;
      this.#error = error;
      this.#end(false);
      throw error;
    }
  }

  async bytes(): Promise<Uint8Array> {
    const limit = this.#maxBodySize;
    if (Number(this.headers.get("content-length")) > limit) this.#tooLarge();
    const pieces: Uint8Array[] = [];
    let length = 0;
    for (let piece; (piece = await this.read()) !== null;) {
      length += piece.byteLength;
      if (length > limit) this.#tooLarge();
      pieces.push(piece);
    }
    if (pieces.length === 1) return pieces[0];
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const piece of pieces) {
      bytes.set(piece, offset);
      offset += piece.byteLength;
    }
    return bytes;
  }

  async text(): Promise<string> {
    return decoder.decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  cancel(): void {
    if (this.#finish === undefined) return;
    this.#cancelled = true;
    this.#end(false);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.cancel();
    return Promise.resolve();
  }

  /** Drops the connection and fails this and later reads with a {@linkcode BodyTooLargeError}. */
  #tooLarge(): never {
    const error = new BodyTooLargeError(this.#maxBodySize);
    this.#failed = true;
    this.#error = error;
    this.#end(false);
    throw error;
  }

  #end(reuse: boolean): void {
    const finish = this.#finish;
    this.#finish = undefined;
    finish?.(reuse);
  }
}
