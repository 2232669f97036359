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
import { guestLabel, type GuestType } from "./_api.ts";

/** The guest a watch is about. */
export interface WatchedGuest {
  node: string;
  vmid: number;
  /** The guest's name when the watch starts; kept up to date from the polls. */
  name: string;
  /** `lxc` (the default) or `qemu`. */
  type?: GuestType;
}

/** How many events, and how many errors, wait unread at most; beyond, they are dropped and counted. */
export interface WatchBuffers {
  events: number;
  errors: number;
}

/** A guest's state as a watch reports it. */
export type PowerState = "running" | "stopped" | "paused" | "error";

/** One watch: its streams, and what its consumer last heard. */
export class GuestWatch {
  readonly guest: WatchedGuest;
  /** The state last reported; `undefined` until the first poll (the baseline). */
  last: PowerState | undefined;
  #channel: WatchChannel;
  #signal: AbortSignal | undefined;
  #onEnd: () => void;
  #ended = false;

  constructor(
    guest: WatchedGuest,
    buffers: WatchBuffers,
    signal: AbortSignal | undefined,
    onEnd: () => void,
  ) {
    this.guest = guest;
    this.#signal = signal;
    this.#onEnd = onEnd;
    const error = (message: string) =>
      new ProviderError(message, {
        runtime: "proxmox",
        action: "watch",
        container: `${guest.vmid}`,
      });
    this.#channel = new WatchChannel({
      eventCapacity: buffers.events,
      errorCapacity: buffers.errors,
      onCancel: () => this.end(),
      forceReload: () => toEvent(guest, Action.ForceReload),
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
    this.#channel.pushEvent(toEvent(this.guest, action));
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

function toEvent(guest: WatchedGuest, action: Action): Event {
  return {
    type: EventType.Proxmox,
    actorId: String(guest.vmid),
    actorName: guest.name,
    actorAttributes: { node: guest.node },
    action,
    time: new Date(),
  };
}

export function unexpectedStatus(guest: WatchedGuest, status: unknown): ApiError {
  return new ApiError(
    `${labelOf(guest)} on node "${guest.node}" has an unexpected status: ${JSON.stringify(status)}`,
    {
      runtime: "proxmox",
      action: "watch",
      container: String(guest.vmid),
      status: 200,
      serverMessage: "",
    },
  );
}

/** `CT 101` or `VM 100`: how messages name the watched guest. */
export function labelOf(guest: WatchedGuest): string {
  return guestLabel({ vmid: guest.vmid, type: guest.type ?? "lxc" });
}
