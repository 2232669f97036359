/**
 * Where the CLI writes: ordered, non-blocking writes to stdout or stderr, and
 * a progress line for terminals.
 *
 * @module
 */

/**
 * A byte sink such as `Deno.stdout` or `Deno.stderr`.
 *
 * @example Collect the output of the CLI in memory
 * ```ts
 * import type { CliWriter } from "./_output.ts";
 *
 * const chunks: Uint8Array[] = [];
 * const writer: CliWriter = {
 *   write(bytes) {
 *     chunks.push(bytes.slice());
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * await writer.write(new TextEncoder().encode("hello\n"));
 * ```
 */
export interface CliWriter {
  /**
   * Writes some or all of `bytes`.
   *
   * @param bytes The bytes to write.
   * @returns How many bytes were written.
   */
  write(bytes: Uint8Array): Promise<number>;
  /**
   * Tells whether the sink is a terminal; progress is shown only there.
   *
   * @returns `true` for a terminal. Without the method: `false`.
   */
  isTerminal?(): boolean;
}

const encoder = new TextEncoder();

/** Text output in order, written in the background; `flush()` waits for it. */
export class Output {
  #writer: CliWriter;
  #pending: Promise<void> = Promise.resolve();
  #closed = new AbortController();

  /**
   * Creates an output.
   *
   * @param writer Where the bytes go.
   */
  constructor(writer: CliWriter) {
    this.#writer = writer;
  }

  /** Whether the sink is a terminal. */
  get isTerminal(): boolean {
    return this.#writer.isTerminal?.() ?? false;
  }

  /** Aborts once the sink refuses writes (a closed pipe): further output is dropped. */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Queues `text`.
   *
   * @param text The text, written as UTF-8.
   */
  write(text: string): void {
    if (this.#closed.signal.aborted) return;
    const bytes = encoder.encode(text);
    this.#pending = this.#pending.then(() => this.#writeAll(bytes));
  }

  /**
   * Queues `text` and a newline.
   *
   * @param text One line, without its newline.
   */
  line(text: string): void {
    this.write(`${text}\n`);
  }

  /**
   * Waits until everything queued is written (or dropped).
   *
   * @returns When the queue is empty.
   */
  flush(): Promise<void> {
    return this.#pending;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    if (this.#closed.signal.aborted) return;
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.#writer.write(bytes.subarray(offset));
    } catch (error) {
      this.#closed.abort(error);
    }
  }
}

/**
 * A line on a terminal that shows how long something has taken, redrawn every
 * second from the first second on, and erased when disposed. Does nothing when
 * the output is not a terminal.
 */
export class Progress implements Disposable {
  #output: Output;
  #render: (seconds: number) => string;
  #seconds = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Starts the clock.
   *
   * @param output Where the line is drawn (stderr).
   * @param render The line's text after `seconds` seconds.
   */
  constructor(output: Output, render: (seconds: number) => string) {
    this.#output = output;
    this.#render = render;
    if (output.isTerminal) this.#timer = setInterval(() => this.#draw(), 1000);
  }

  #draw(): void {
    this.#seconds++;
    this.#output.write(`\r\x1b[K${this.#render(this.#seconds)}`);
  }

  /** Stops the clock and erases the line. */
  [Symbol.dispose](): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#seconds > 0) this.#output.write("\r\x1b[K");
  }
}
