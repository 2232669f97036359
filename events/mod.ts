/**
 * The lifecycle events every provider's `watch()` emits, whatever the runtime.
 *
 * @example React to an event
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { Action, type Event, isStartAction, isStopAction } from "./mod.ts";
 *
 * function onEvent(event: Event): string {
 *   if (isStartAction(event.action)) return `${event.actorName} is up`;
 *   if (isStopAction(event.action)) return `${event.actorName} is down`;
 *   if (event.action === Action.ForceReload) return "re-read status";
 *   return "nothing to do";
 * }
 * const said = onEvent({
 *   type: "docker",
 *   actorId: "0123",
 *   actorName: "web",
 *   actorAttributes: {},
 *   action: Action.ContainerStart,
 *   time: new Date(),
 * });
 * strictEqual(said, "web is up");
 * ```
 *
 * @module
 */

/**
 * The runtime an event comes from.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { EventType } from "./mod.ts";
 *
 * strictEqual(EventType.Docker, "docker");
 * ```
 */
export const EventType: {
  readonly Docker: "docker";
  readonly Proxmox: "proxmox";
} = Object.freeze({ Docker: "docker", Proxmox: "proxmox" });

/** The runtime an event comes from: `"docker"` or `"proxmox"`. */
export type EventType = typeof EventType[keyof typeof EventType];

/**
 * What happened to the container.
 *
 * `ForceReload` is not a change of the container: it tells the consumer that
 * events may have been missed (a reconnect, a full buffer) and that it should
 * read the status again.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { Action } from "./mod.ts";
 *
 * strictEqual(Action.ContainerDie, "died");
 * ```
 */
export const Action: {
  readonly ContainerCreate: "created";
  readonly ContainerStart: "started";
  readonly ContainerUnpause: "unpaused";
  readonly ContainerKill: "killed";
  readonly ContainerStop: "stopped";
  readonly ContainerPause: "paused";
  readonly ContainerDie: "died";
  readonly ContainerDestroy: "destroyed";
  readonly ForceReload: "force-reloaded";
} = Object.freeze({
  ContainerCreate: "created",
  ContainerStart: "started",
  ContainerUnpause: "unpaused",
  ContainerKill: "killed",
  ContainerStop: "stopped",
  ContainerPause: "paused",
  ContainerDie: "died",
  ContainerDestroy: "destroyed",
  ForceReload: "force-reloaded",
});

/** What happened to the container; one of the values of {@linkcode Action}. */
export type Action = typeof Action[keyof typeof Action];

/**
 * One lifecycle event of one container.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import type { Event } from "./mod.ts";
 *
 * const event: Event = {
 *   type: "proxmox",
 *   actorId: "101",
 *   actorName: "web",
 *   actorAttributes: { node: "pve" },
 *   action: "stopped",
 *   time: new Date(),
 * };
 * strictEqual(`${event.action} ${event.actorName}`, "stopped web");
 * ```
 */
export interface Event {
  /** The runtime the event comes from. */
  type: EventType;
  /** The container's id: Docker's full 64-hex id, or the Proxmox vmid in decimal. */
  actorId: string;
  /** The container's name (Docker's `name` attribute, or the CT's hostname). */
  actorName: string;
  /** The runtime's attributes of the event (Docker's labels, `image`, `exitCode`, ...; Proxmox's `node`). */
  actorAttributes: Record<string, string>;
  /** What happened. */
  action: Action;
  /** When it happened, as the runtime reports it. */
  time: Date;
}

/**
 * Tells whether the action means the container is now up: created, started or
 * unpaused.
 *
 * @param action The event's action.
 * @returns `true` for `created`, `started` and `unpaused`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { Action, isStartAction } from "./mod.ts";
 *
 * strictEqual(isStartAction(Action.ContainerUnpause), true);
 * strictEqual(isStartAction(Action.ContainerPause), false);
 * ```
 */
export function isStartAction(action: Action): boolean {
  return action === Action.ContainerCreate ||
    action === Action.ContainerStart || action === Action.ContainerUnpause;
}

/**
 * Tells whether the action means the container is going or gone down: killed,
 * stopped or died.
 *
 * @param action The event's action.
 * @returns `true` for `killed`, `stopped` and `died`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { Action, isStopAction } from "./mod.ts";
 *
 * strictEqual(isStopAction(Action.ContainerDie), true);
 * ```
 */
export function isStopAction(action: Action): boolean {
  return action === Action.ContainerKill ||
    action === Action.ContainerStop || action === Action.ContainerDie;
}

/**
 * Tells whether the action means the container was paused.
 *
 * @param action The event's action.
 * @returns `true` for `paused` only.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { Action, isPauseAction } from "./mod.ts";
 *
 * strictEqual(isPauseAction(Action.ContainerPause), true);
 * ```
 */
export function isPauseAction(action: Action): boolean {
  return action === Action.ContainerPause;
}
