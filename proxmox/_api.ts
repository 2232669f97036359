/**
 * The PVE API as data: every path this module requests, and the power
 * endpoints with the state each one ends in. Paths are relative to the API
 * root (`/api2/json`), each segment percent-encoded.
 *
 * @module
 */

import { ProviderError } from "../errors.ts";
import { ContainerStatus } from "../provider.ts";

/** The kind of guest a path is about: `lxc` (a container) or `qemu` (a virtual machine). */
export type GuestType = "lxc" | "qemu";

/** `CT 101` or `VM 100`: how messages name a guest. */
export function guestLabel(guest: { vmid: number; type: GuestType }): string {
  return `${guest.type === "qemu" ? "VM" : "CT"} ${guest.vmid}`;
}

/** Paths without parameters. */
export const PATHS: {
  readonly ticket: "/access/ticket";
  readonly nodes: "/nodes";
  readonly clusterResources: "/cluster/resources";
} = Object.freeze({
  /** `POST`: a login ticket for a user and password. */
  ticket: "/access/ticket",
  /** `GET`: the cluster's nodes. */
  nodes: "/nodes",
  /** `GET` with `type=vm`: every guest of the cluster and the node that holds it. */
  clusterResources: "/cluster/resources",
});

/** A node name: one host name label, as PVE requires (pve-common's `pve-node` format). */
export const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/**
 * A node's path, `/nodes/{node}`. Node names also come from PVE's answers
 * (the cluster's guest list, task ids): each one is checked like a caller's.
 *
 * @throws {ProviderError} When `node` is not a node name (such as `..`).
 */
export function nodePath(node: string): string {
  if (typeof node !== "string" || !NODE_NAME.test(node)) {
    throw new ProviderError(
      `Refusing to request a path for node ${
        JSON.stringify(String(node).slice(0, 64))
      }: not a node name`,
      { runtime: "proxmox" },
    );
  }
  return `/nodes/${node}`;
}

/** `GET`: the guests of a node with their live status, `/nodes/{node}/lxc`. */
export function nodeGuestsPath(node: string, type: GuestType = "lxc"): string {
  return `${nodePath(node)}/${type}`;
}

/** `GET` (with `vmid`, `source`, `limit`): the recent tasks of a node, newest first. */
export function nodeTasksPath(node: string): string {
  return `${nodePath(node)}/tasks`;
}

/** `GET`: a task's status, on the node that runs it (the UPID URL-encoded). */
export function taskStatusPath(upid: { node: string; value: string }): string {
  return `${nodeTasksPath(upid.node)}/${encodeURIComponent(upid.value)}/status`;
}

/** The last segment of a guest's status path: `current` to read it, or a power endpoint. */
export type StatusEndpoint = "current" | PowerEndpoint;

/**
 * `GET .../status/current` reads a guest's status; `POST .../status/<power
 * endpoint>` starts a power task and answers with its UPID.
 */
export function guestStatusPath(
  guest: { node: string; vmid: number; type?: GuestType },
  endpoint: StatusEndpoint = "current",
): string {
  return `${nodeGuestsPath(guest.node, guest.type)}/${guest.vmid}/status/${endpoint}`;
}

/** PVE's power endpoints for a guest. */
export type PowerEndpoint = "start" | "shutdown" | "stop" | "suspend" | "resume";

/** A provider call as a power endpoint: what it posts, the state it ends in, its name in messages. */
export interface PowerCall {
  /** The endpoint posted to. */
  endpoint: PowerEndpoint;
  /** The verb for messages and log lines: `start`, `stop`, `kill`, `pause`, `unpause`. */
  verb: "start" | "stop" | "kill" | "pause" | "unpause";
  /** The state the guest is in once the call is done. */
  target: ContainerStatus;
  /** The endpoint's parameters. */
  params?: Record<string, number>;
  /** The call's deadline, when not the provider's action deadline, in milliseconds. */
  deadlineMs?: number;
}

/**
 * Each provider call's endpoint. A stop is PVE's clean `shutdown` (given a
 * timeout, then forced); a kill is PVE's immediate `stop`; pause and unpause
 * are `suspend` and `resume` (a CRIU checkpoint for LXC; for a VM, see
 * {@linkcode VM_PAUSE_PARAMS}).
 */
export const POWER: {
  readonly start: PowerCall;
  readonly stop: PowerCall;
  readonly kill: PowerCall;
  readonly pause: PowerCall;
  readonly unpause: PowerCall;
} = Object.freeze({
  start: { endpoint: "start", verb: "start", target: ContainerStatus.Running },
  stop: { endpoint: "shutdown", verb: "stop", target: ContainerStatus.Stopped },
  kill: { endpoint: "stop", verb: "kill", target: ContainerStatus.Stopped },
  pause: { endpoint: "suspend", verb: "pause", target: ContainerStatus.Paused },
  unpause: { endpoint: "resume", verb: "unpause", target: ContainerStatus.Running },
});

/**
 * A VM's `suspend` parameters for each `vmPause`: `todisk=0` freezes the
 * guest in memory (QMP `stop`, task `qmpause`); `todisk=1` saves it to disk
 * and ends its QEMU process, the config locked `suspended` (task `qmsuspend`).
 */
export const VM_PAUSE_PARAMS: {
  readonly suspend: Readonly<Record<string, number>>;
  readonly hibernate: Readonly<Record<string, number>>;
} = Object.freeze({ suspend: { todisk: 0 }, hibernate: { todisk: 1 } });

/** `GET` parameters of a node's VM list: only the full status has each VM's QMP run state. */
export const VM_LIST_PARAMS: Readonly<Record<string, number>> = Object.freeze({ full: 1 });

/** Task types that change a CT's power state. */
export const POWER_TASKS: ReadonlySet<string> = new Set([
  "vzstart",
  "vzstop",
  "vzshutdown",
  "vzsuspend",
  "vzresume",
  "vzreboot",
  "hastart",
  "hastop",
]);
