/**
 * Newline-delimited JSON (NDJSON) framing: splits a byte stream into lines.
 *
 * Splitting happens on bytes (`indexOf(0x0a)`), so only complete lines are
 * decoded, and the complete lines of one chunk are decoded in a single call.
 * A line that grows past the cap is dropped (the bytes are skipped up to its
 * newline) instead of being buffered, and a line that is not valid UTF-8 is
 * reported instead of being decoded with replacement characters.
 *
 * Bytes are decoded by a non-fatal decoder, several times faster than a
 * fatal one: a text without U+FFFD came from valid UTF-8, and only a text
 * with one is decoded again, fatally, to tell a sent U+FFFD from a bad byte.
 *
 * @module
 */

/** Receives what a {@linkcode LineSplitter} finds in the bytes it is given. */
export interface LineSink {
  /** A complete line, decoded, without its newline. Never empty or blank. */
  line(text: string): void;
  /** A line that could not be delivered: too long, or not valid UTF-8. */
  invalid(error: LineError): void;
}

/** Why a line was dropped. */
export class LineError extends Error {
  /** The length of the dropped line in bytes (at least this much when too long). */
  readonly length: number;

  /**
   * Creates an error.
   *
   * @param message What was wrong with the line.
   * @param length The length of the line in bytes.
   */
  constructor(message: string, length: number) {
    super(message);
    this.name = "LineError";
    this.length = length;
  }
}

/** Options of a {@linkcode LineSplitter}. */
export interface LineSplitterOptions {
  /**
   * The longest line accepted, in bytes, without its newline. Longer lines
   * are dropped and reported; at most this much of one line is ever buffered.
   *
   * @default {1048576}
   */
  maxLineLength?: number;
}

const NEWLINE = 0x0a;
const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

/**
 * Splits chunks of bytes into lines. Feed it every chunk in order with
 * {@linkcode LineSplitter.push}, then call {@linkcode LineSplitter.end} once
 * the bytes end.
 *
 * @example
 * ```ts ignore
 * const lines: string[] = [];
 * const sink = { line: (text: string) => lines.push(text), invalid: console.error };
 * const splitter = new LineSplitter();
 * splitter.push(new TextEncoder().encode('{"a":1}\n{"b"'), sink);
 * splitter.push(new TextEncoder().encode(":2}\n"), sink);
 * // lines: ['{"a":1}', '{"b":2}']
 * ```
 */
export class LineSplitter {
  readonly #maxLineLength: number;
  /** The start of the current, unfinished line (copies of the chunks' pieces). */
  #pending: Uint8Array[] = [];
  #pendingLength = 0;
  /** Inside a line that was too long: skip bytes up to its newline. */
  #skipping = false;

  /**
   * Creates a splitter.
   *
   * @param options The line-length cap.
   */
  constructor(options: LineSplitterOptions = {}) {
    this.#maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  }

  /**
   * Splits the next chunk. Complete lines go to `sink` before this returns;
   * the unfinished rest is kept for the next chunk.
   *
   * @param chunk The next bytes of the stream. It is not modified, and
   * nothing of it is kept once this returns: the caller may reuse it.
   * @param sink Where lines and line errors go.
   */
  push(chunk: Uint8Array, sink: LineSink): void {
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      this.#keep(chunk, sink);
      return;
    }
    let start = 0;
    if (this.#skipping) {
      this.#skipping = false;
      start = first + 1;
    } else if (this.#pendingLength > 0) {
      this.#finishPending(chunk.subarray(0, first), sink);
      start = first + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= start) this.#splitComplete(chunk.subarray(start, last), sink);
    if (last + 1 < chunk.length) this.#keep(chunk.subarray(last + 1), sink);
  }

  /**
   * Ends the stream: an unfinished last line (one without a newline) is
   * delivered as a line.
   *
   * @param sink Where the last line goes.
   */
  end(sink: LineSink): void {
    if (this.#pendingLength > 0) this.#finishPending(new Uint8Array(0), sink);
    this.#skipping = false;
  }

  /** Buffers the start of an unfinished line, or drops it once too long. */
  #keep(bytes: Uint8Array, sink: LineSink): void {
    if (this.#skipping) return;
    this.#pendingLength += bytes.length;
    if (this.#pendingLength > this.#maxLineLength) {
      sink.invalid(this.#tooLong(this.#pendingLength));
      this.#pending = [];
      this.#pendingLength = 0;
      this.#skipping = true;
      return;
    }
    // A copy: the caller may write over its chunk once this returns.
    this.#pending.push(bytes.slice());
  }

  /** Completes the buffered line with `tail` (the bytes before its newline). */
  #finishPending(tail: Uint8Array, sink: LineSink): void {
    const length = this.#pendingLength + tail.length;
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingLength = 0;
    if (length > this.#maxLineLength) {
      sink.invalid(this.#tooLong(length));
      return;
    }
    const line = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      line.set(part, offset);
      offset += part.length;
    }
    line.set(tail, offset);
    this.#decodeOne(line, sink);
  }

  /**
   * Delivers the complete lines in `bytes` (lines joined by newlines, without
   * the last newline). The usual case decodes them all in one call.
   */
  #splitComplete(bytes: Uint8Array, sink: LineSink): void {
    if (bytes.length <= this.#maxLineLength) {
      const text = decodeUtf8(bytes);
      if (text === undefined) this.#splitEach(bytes, sink);
      else splitText(text, sink);
      return;
    }
    this.#splitEach(bytes, sink);
  }

  /** Delivers the lines in `bytes` one at a time, checking each one. */
  #splitEach(bytes: Uint8Array, sink: LineSink): void {
    let start = 0;
    while (start <= bytes.length) {
      let end = bytes.indexOf(NEWLINE, start);
      if (end === -1) end = bytes.length;
      const length = end - start;
      if (length > this.#maxLineLength) sink.invalid(this.#tooLong(length));
      else if (length > 0) this.#decodeOne(bytes.subarray(start, end), sink);
      start = end + 1;
    }
  }

  #decodeOne(bytes: Uint8Array, sink: LineSink): void {
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      sink.invalid(
        new LineError(`a line of ${bytes.length} bytes is not valid UTF-8`, bytes.length),
      );
    } else if (!isBlank(text)) {
      sink.line(text);
    }
  }

  #tooLong(length: number): LineError {
    return new LineError(
      `a line of ${length} bytes or more is longer than the limit of ${this.#maxLineLength}`,
      length,
    );
  }
}

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes UTF-8; `undefined` when the bytes are not valid UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  const text = lenient.decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Delivers the non-blank lines of `text` (lines joined by `\n`). */
function splitText(text: string, sink: LineSink): void {
  let start = 0;
  for (;;) {
    const end = text.indexOf("\n", start);
    const line = end === -1 ? text.slice(start) : text.slice(start, end);
    if (!isBlank(line)) sink.line(line);
    if (end === -1) return;
    start = end + 1;
  }
}

/** Tells whether a line holds nothing but JSON whitespace (`\r` included). */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
