/**
 * The two streams of one watch. Bounded: when the consumer falls behind,
 * new events are dropped and, once there is room again, one
 * `force-reloaded` event tells it to read the status afresh; errors beyond
 * the bound are dropped. Cancelling either stream ends the watch; once ended,
 * nothing more is queued.
 *
 * @module
 */

import type { Event } from "../events/mod.ts";
import type { WatchStreams } from "../provider.ts";

/** How many events, and how many errors, wait unread at most. */
export const WATCH_BUFFER = 64;

/** Options of a {@linkcode WatchSink}. */
export interface WatchSinkOptions {
  /** The event a consumer gets after it missed some (actor fields filled in). */
  reloadEvent: () => Event;
  /** Called once, when the watch ends for whatever reason. */
  onEnd: () => void;
  /** Ends the watch when it aborts. */
  signal?: AbortSignal;
}

/** The producer side of one watch. */
export class WatchSink {
  /** The consumer side. */
  readonly streams: WatchStreams;
  #events!: ReadableStreamDefaultController<Event>;
  #errors!: ReadableStreamDefaultController<Error>;
  #missed = false;
  #ended = false;
  #options: WatchSinkOptions;
  #onAbort = () => this.end();

  constructor(options: WatchSinkOptions) {
    this.#options = options;
    const strategy = new CountQueuingStrategy({ highWaterMark: WATCH_BUFFER });
    this.streams = {
      events: new ReadableStream<Event>({
        start: (controller) => {
          this.#events = controller;
        },
        pull: () => {
          if (this.#missed && !this.#ended) {
            this.#missed = false;
            this.#events.enqueue(this.#options.reloadEvent());
          }
        },
        cancel: () => this.end(),
      }, strategy),
      errors: new ReadableStream<Error>({
        start: (controller) => {
          this.#errors = controller;
        },
        cancel: () => this.end(),
      }, strategy),
    };
    if (options.signal?.aborted) this.end();
    else options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Whether the watch has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Queues an event, or notes that one was missed when the buffer is full. */
  event(event: Event): void {
    if (this.#ended) return;
    if ((this.#events.desiredSize ?? 0) > 0) this.#events.enqueue(event);
    else this.#missed = true;
  }

  /** Queues an error; dropped when the buffer is full. */
  error(error: Error): void {
    if (this.#ended) return;
    if ((this.#errors.desiredSize ?? 0) > 0) this.#errors.enqueue(error);
  }

  /** Ends the watch: both streams close (what is queued stays readable). Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    for (const controller of [this.#events, this.#errors]) {
      try {
        controller.close();
      } catch {
        // Already closed by a cancel.
      }
    }
    this.#options.onEnd();
  }
}
