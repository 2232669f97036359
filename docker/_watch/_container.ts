/**
 * One watch of one container: what it last reported, its bounded streams,
 * and the events it makes up when the stream could not tell (a
 * force-reload, or the change found by inspecting after events were lost).
 *
 * @module
 */

import { Action, type Event } from "../../events/mod.ts";
import { ProviderError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { WatchStreams } from "../../provider.ts";
import {
  type ContainerState,
  explainChange,
  nanoDate,
  type Phase,
  phaseAfter,
  type WireEvent,
} from "./_wire.ts";
import { WatchChannel } from "../../_internal/watch_channel.ts";

/** Buffer sizes of a watch. */
export interface WatchBuffers {
  /** Events waiting for the consumer at most. */
  events: number;
  /** Errors waiting for the consumer at most. */
  errors: number;
}

/** How a {@linkcode ContainerWatch} is set up. */
export interface ContainerWatchOptions {
  /** The buffer sizes. */
  buffers: WatchBuffers;
  /** Where the watch's own requests are logged: its provider's logger. */
  logger: Logger;
  /** Detaches the watch from the stream; resolves once nothing of the watch runs. */
  onEnd: (watch: ContainerWatch) => Promise<void>;
}

/** A watch of one container, fed by the shared stream. */
export class ContainerWatch {
  /** The container as the caller named it (name, id or id prefix). */
  readonly ref: string;
  /** Where the watch's requests, and the stream's while it is attached, are logged. */
  readonly logger: Logger;
  /** The full id, once the container was inspected; `""` before. */
  id = "";
  /** What runs the start of the watch; the streams close after it settles. */
  #task: Promise<void> = Promise.resolve();
  #name = "";
  #image = "";
  #phase: Phase = "stopped";
  /** `timeNano` of the last event taken from the stream (digits; compared rarely). */
  #lastTimeNano: string | undefined;
  #channel: WatchChannel;
  #stop = new AbortController();
  #onEnd: (watch: ContainerWatch) => Promise<void>;
  #cleanups: (() => void)[] = [];

  /**
   * Creates a watch whose streams are open and empty.
   *
   * @param ref The container as named by the caller.
   * @param options The buffer sizes, the logger, and how to detach.
   */
  constructor(ref: string, options: ContainerWatchOptions) {
    const { buffers, logger, onEnd } = options;
    this.ref = ref;
    this.logger = logger;
    this.#onEnd = onEnd;
    this.#channel = new WatchChannel({
      eventCapacity: buffers.events,
      errorCapacity: buffers.errors,
      onCancel: () => this.end(),
      forceReload: () => this.#event(Action.ForceReload, {}, new Date()),
      droppedEvents: (count) =>
        this.#error(
          `dropped ${count} event${count === 1 ? "" : "s"} the consumer did not read in time; ` +
            "read the status again",
        ),
      droppedErrors: (count) =>
        this.#error(`dropped ${count} error${count === 1 ? "" : "s"} the consumer did not read`),
    });
  }

  /** The streams handed to the caller. */
  get streams(): WatchStreams {
    return { events: this.#channel.events, errors: this.#channel.errors };
  }

  /** Aborted when the watch ends. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Whether the watch still takes events. */
  get live(): boolean {
    return !this.#stop.signal.aborted;
  }

  /**
   * Takes the inspection that starts the watch.
   *
   * @param state The container's state.
   */
  begin(state: ContainerState): void {
    this.id = state.id;
    this.#name = state.name;
    this.#image = state.image;
    this.#phase = state.phase;
  }

  /**
   * Reports an event of the stream.
   *
   * @param event An event of this watch's container.
   * @returns Whether the consumer is behind (its buffer is more than half full).
   */
  deliver(event: WireEvent): boolean {
    if (!this.live) return false;
    const name = event.attributes.name;
    if (name !== undefined) this.#name = name;
    this.#phase = phaseAfter(this.#phase, event.action);
    this.#lastTimeNano = event.timeNano;
    const behind = this.#channel.pushEvent(
      this.#event(event.action, event.attributes, nanoDate(event.timeNano)),
    );
    if (event.action === Action.ContainerDestroy) this.end();
    return behind;
  }

  /**
   * Compares a fresh inspection with what the watch last reported, and
   * reports the events that explain a difference. A change the stream
   * already reported (its last event is as recent as the change) is left
   * alone: the stream is newer than the inspection then.
   *
   * @param state The inspection, or `null` when the container is gone.
   */
  reconcile(state: ContainerState | null): void {
    if (!this.live) return;
    const found: Phase = state === null ? "gone" : state.phase;
    if (found === this.#phase) return;
    const changedAt = state === null
      ? undefined
      : found === "stopped"
      ? state.finishedAt
      : state.startedAt;
    if (
      changedAt !== undefined && this.#lastTimeNano !== undefined &&
      BigInt(this.#lastTimeNano) >= changedAt
    ) return;
    const time = changedAt === undefined ? new Date() : new Date(Number(changedAt / 1_000_000n));
    for (const action of explainChange(this.#phase, found)) {
      const attributes: Record<string, string> = { name: this.#name, image: this.#image };
      if (action === Action.ContainerDie && state !== null) {
        attributes.exitCode = String(state.exitCode);
      }
      this.#phase = phaseAfter(this.#phase, action);
      this.#channel.pushEvent(this.#event(action, attributes, time));
    }
    if (found === "gone") this.end();
  }

  /** Reports a force-reload: events may have been missed, read the status again. */
  forceReload(): void {
    if (this.live) this.#channel.pushEvent(this.#event(Action.ForceReload, {}, new Date()));
  }

  /**
   * Reports a transient error. The error is only built when there is room for it.
   *
   * @param make Builds the error.
   */
  report(make: () => Error): void {
    if (this.live) this.#channel.offerError(make);
  }

  /**
   * Keeps what runs the start of the watch: the streams close only after it settles.
   *
   * @param task The start, which never rejects.
   */
  track(task: Promise<void>): void {
    this.#task = task;
  }

  /**
   * Runs `cleanup` when the watch ends.
   *
   * @param cleanup What to undo, such as an abort listener.
   */
  onEnd(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  /** Ends the watch: nothing more is reported, and both streams close once it is detached. */
  end(): void {
    if (!this.live) return;
    this.#stop.abort();
    for (const cleanup of this.#cleanups) cleanup();
    const detached = this.#onEnd(this);
    Promise.allSettled([this.#task, detached]).then(() => this.#channel.close());
  }

  #event(action: Action, attributes: Record<string, string>, time: Date): Event {
    return {
      type: "docker",
      actorId: this.id,
      actorName: attributes.name ?? this.#name,
      actorAttributes: attributes,
      action,
      time,
    };
  }

  #error(detail: string): ProviderError {
    return new ProviderError(`Watch of container ${JSON.stringify(this.ref)} ${detail}`, {
      runtime: "docker",
      action: "watch",
      container: this.ref,
    });
  }
}
