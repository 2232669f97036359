/**
 * The response object `HttpClient.request()` resolves with.
 *
 * @module
 */

import type { BodyReader } from "./_body.ts";
import type { ResponseHead } from "./_response_head.ts";
import type { HttpResponse } from "./client.ts";

const decoder = new TextDecoder();

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

  /**
   * Wraps a parsed head and its body.
   *
   * @param head The status line and headers.
   * @param body The body reader.
   * @param finish Hands the connection back (`true`) or closes it (`false`).
   */
  constructor(head: ResponseHead, body: BodyReader, finish: (reuse: boolean) => void) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = head.headers;
    this.#body = body;
    this.#finish = finish;
    if (body.done) this.#end(body.reusable);
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#finish === undefined) {
      if (this.#failed) throw this.#error;
      return null;
    }
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
    const pieces: Uint8Array[] = [];
    let length = 0;
    for (let piece; (piece = await this.read()) !== null;) {
      pieces.push(piece);
      length += piece.byteLength;
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

  #end(reuse: boolean): void {
    const finish = this.#finish;
    this.#finish = undefined;
    finish?.(reuse);
  }
}
