/**
 * What a watch of one guest holds: the guest it is about, its two streams,
 * and the state its consumer last heard.
 *
 * @module
 */

import { WatchChannel } from "../_internal/watch_channel.ts";
import { ApiError, ProviderError } from "../errors.ts";
import { Action, type Event, EventType } from "../events/mod.ts";
import type { WatchStreams } from "../provider.ts";

/** The guest a watch is about. */
export interface WatchedCt {
  node: string;
  vmid: number;
  /** The guest's name when the watch starts; kept up to date from the polls. */
  name: string;
  /** `lxc` (the default) or `qemu`. */
  type?: "lxc" | "qemu";
}

/** How many events, and how many errors, wait unread at most; beyond, they are dropped and counted. */
export interface WatchBuffers {
  events: number;
  errors: number;
}

/** A guest's state as a watch reports it. */
export type PowerState = "running" | "stopped" | "paused" | "error";

/** One watch: its streams, and what its consumer last heard. */
export class Subscriber {
  readonly ct: WatchedCt;
  /** The state last reported; `undefined` until the first poll (the baseline). */
  last: PowerState | undefined;
  #channel: WatchChannel;
  #signal: AbortSignal | undefined;
  #onEnd: () => void;
  #ended = false;

  constructor(
    ct: WatchedCt,
    buffers: WatchBuffers,
    signal: AbortSignal | undefined,
    onEnd: () => void,
  ) {
    this.ct = ct;
    this.#signal = signal;
    this.#onEnd = onEnd;
    const error = (message: string) =>
      new ProviderError(message, { runtime: "proxmox", action: "watch", container: `${ct.vmid}` });
    this.#channel = new WatchChannel({
      eventCapacity: buffers.events,
      errorCapacity: buffers.errors,
      onCancel: () => this.end(),
      forceReload: () => toEvent(ct, Action.ForceReload),
      droppedEvents: (count) =>
        error(
          `dropped ${count} event${count === 1 ? "" : "s"} the consumer did not read in time; ` +
            "read the status again",
        ),
      droppedErrors: (count) =>
        error(`dropped ${count} error${count === 1 ? "" : "s"} the consumer did not read`),
    });
    signal?.addEventListener("abort", this.end, { once: true });
  }

  get streams(): WatchStreams {
    return { events: this.#channel.events, errors: this.#channel.errors };
  }

  get ended(): boolean {
    return this.#ended;
  }

  event(action: Action): void {
    this.#channel.pushEvent(toEvent(this.ct, action));
  }

  error(error: unknown): void {
    this.#channel.offerError(() => error instanceof Error ? error : new Error(String(error)));
  }

  /** Closes both streams (what is queued stays readable) and detaches the watch. Idempotent. */
  end = (): void => {
    if (this.#ended) return;
    this.#ended = true;
    this.#signal?.removeEventListener("abort", this.end);
    this.#channel.close();
    this.#onEnd();
  };
}

function toEvent(ct: WatchedCt, action: Action): Event {
  return {
    type: EventType.Proxmox,
    actorId: String(ct.vmid),
    actorName: ct.name,
    actorAttributes: { node: ct.node },
    action,
    time: new Date(),
  };
}

export function unexpectedStatus(ct: WatchedCt, status: unknown): ApiError {
  return new ApiError(
    `${
      ct.type === "qemu" ? "VM" : "CT"
    } ${ct.vmid} on node "${ct.node}" has an unexpected status: ${JSON.stringify(status)}`,
    {
      runtime: "proxmox",
      action: "watch",
      container: String(ct.vmid),
      status: 200,
      serverMessage: "",
    },
  );
}
