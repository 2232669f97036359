/**
 * The two bounded streams of one watch. A consumer that stops reading never
 * holds anything up: what does not fit is dropped and counted, and once the
 * consumer has read half of the backlog, the count is reported on the
 * errors stream and a force-reloaded event follows on the events stream.
 *
 * @module
 */

import type { Event } from "../events/mod.ts";

/** The parts of a {@linkcode WatchChannel}'s behaviour its owner decides. */
export interface WatchChannelOptions {
  /** How many events wait for the consumer at most. */
  eventCapacity: number;
  /** How many errors wait for the consumer at most. */
  errorCapacity: number;
  /** Called once, when the consumer cancels either stream. */
  onCancel: () => void;
  /** The event that follows dropped events: a force-reload of the watched container. */
  forceReload: () => Event;
  /** The error reporting that `count` events were dropped. */
  droppedEvents: (count: number) => Error;
  /** The error reporting that `count` errors were dropped. */
  droppedErrors: (count: number) => Error;
}

/** The events and errors streams of one watch, with bounded buffers. */
export class WatchChannel {
  /** The watch's events. */
  readonly events: ReadableStream<Event>;
  /** The watch's transient errors. */
  readonly errors: ReadableStream<Error>;
  #events: Lane<Event>;
  #errors: Lane<Error>;
  #open = true;

  /**
   * Creates both streams, open and empty.
   *
   * @param options Capacities, and what to emit on overflow and on cancel.
   */
  constructor(options: WatchChannelOptions) {
    const onCancel = () => {
      if (this.#open) options.onCancel();
    };
    this.#errors = new Lane<Error>(options.errorCapacity, onCancel, (count) => [
      options.droppedErrors(count),
    ]);
    this.#events = new Lane<Event>(options.eventCapacity, onCancel, (count) => {
      this.#errors.offer(() => options.droppedEvents(count));
      return [options.forceReload()];
    });
    this.events = this.#events.stream;
    this.errors = this.#errors.stream;
  }

  /** Whether the streams still take items. */
  get open(): boolean {
    return this.#open;
  }

  /**
   * Queues an event, or drops and counts it when the buffer is full.
   *
   * @param event The event.
   * @returns Whether the consumer is behind: the buffer is more than half full.
   */
  pushEvent(event: Event): boolean {
    return this.#open && this.#events.push(event);
  }

  /**
   * Queues an error, or drops and counts it when the buffer is full. The
   * error is only built when it is queued.
   *
   * @param make Builds the error.
   */
  offerError(make: () => Error): void {
    if (this.#open) this.#errors.offer(make);
  }

  /** Closes both streams; what is queued can still be read. Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#events.close();
    this.#errors.close();
  }
}

/** One bounded stream that counts what it drops and reports it once there is room. */
class Lane<T> {
  readonly stream: ReadableStream<T>;
  #controller!: ReadableStreamDefaultController<T>;
  #capacity: number;
  #dropped = 0;
  #closed = false;
  #recovered: (dropped: number) => T[];

  constructor(capacity: number, onCancel: () => void, recovered: (dropped: number) => T[]) {
    this.#capacity = capacity;
    this.#recovered = recovered;
    this.stream = new ReadableStream<T>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => this.#recover(),
      cancel: () => {
        this.#closed = true;
        onCancel();
      },
    }, new CountQueuingStrategy({ highWaterMark: capacity }));
  }

  /** Queues an item; tells whether the buffer is now more than half full. */
  push(item: T): boolean {
    if (!this.#hasRoom()) return false;
    this.#controller.enqueue(item);
    return (this.#controller.desiredSize ?? 0) < this.#capacity / 2;
  }

  offer(make: () => T): void {
    if (this.#hasRoom()) this.#controller.enqueue(make());
  }

  /** Whether an item can be queued now; counts it as dropped when not. */
  #hasRoom(): boolean {
    if (this.#closed) return false;
    if (this.#dropped > 0) this.#recover();
    if (this.#dropped > 0 || (this.#controller.desiredSize ?? 0) <= 0) {
      this.#dropped++;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.close();
  }

  /** After an overflow: once half the buffer is free again, reports the drops. */
  #recover(): void {
    if (this.#closed || this.#dropped === 0) return;
    const free = this.#controller.desiredSize ?? 0;
    if (free < Math.max(1, Math.floor(this.#capacity / 2))) return;
    const dropped = this.#dropped;
    this.#dropped = 0;
    for (const item of this.#recovered(dropped)) this.#controller.enqueue(item);
  }
}
