/**
 * The poll of one node: its watched guests' lists, once per interval, and
 * each change of a guest's state told to its watch.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import { Action } from "../events/mod.ts";
import { nodeGuestsPath, VM_LIST_PARAMS } from "./_api.ts";
import {
  type ChangeTeller,
  ctChangeTeller,
  type KnownGuest,
  type ListedGuest,
  tellVmChange,
} from "./_guest_changes.ts";
import { type GuestWatch, unexpectedStatus } from "./_guest_watch.ts";
import { clusterGuests, type Guest } from "./_locate.ts";
import type { Transport } from "./_transport.ts";

/** Finds the node of a guest of a kind in the cluster; `undefined` when the cluster has none. */
type NodeLookup = (vmid: number, type: string) => Promise<string | undefined>;

/** One poll: what ends it, and its one cluster lookup for the guests it misses. */
interface Round {
  signal: AbortSignal;
  nodeOf: NodeLookup;
}

/** What a node's poll tells its owner. */
export interface NodePollHooks {
  /** The poll has no watch left and stopped. */
  onIdle(): void;
  /** A watched guest is on another node now. */
  onMoved(watch: GuestWatch, node: string): void;
}

/** Polls one node once per interval while it has watches. */
export class NodePoll {
  #node: string;
  #transport: Transport;
  #intervalMs: number;
  #watches = new Set<GuestWatch>();
  #stop = new AbortController();
  #hooks: NodePollHooks;
  #running = false;

  constructor(node: string, transport: Transport, intervalMs: number, hooks: NodePollHooks) {
    this.#node = node;
    this.#transport = transport;
    this.#intervalMs = intervalMs;
    this.#hooks = hooks;
  }

  add(watch: GuestWatch): void {
    this.#watches.add(watch);
    if (!this.#running && !this.#stop.signal.aborted) {
      this.#running = true;
      this.#run().catch((error) => {
        this.#transport.config.logger.error(`Watching node "${this.#node}" failed`, { error });
        this.close();
      });
    }
  }

  /** Stops polling for `watch`; the poll closes with its last watch. */
  remove(watch: GuestWatch): void {
    if (this.#watches.delete(watch) && this.#watches.size === 0) this.close();
  }

  close(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#hooks.onIdle();
    for (const watch of [...this.#watches]) watch.end();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const started = performance.now();
      await this.#poll(signal);
      const wait = Math.max(0, this.#intervalMs - (performance.now() - started));
      await delay(wait, { signal }).catch(() => {});
    }
  }

  /**
   * A watched CT is not on this node: it moved (the watch follows it), or is
   * gone from the cluster (destroyed: the watch ends). A CT the cluster
   * still places here is on its way: the next poll sees it.
   */
  async #lost(watch: GuestWatch, round: Round): Promise<void> {
    const { signal, nodeOf } = round;
    let node: string | undefined;
    try {
      node = await nodeOf(watch.guest.vmid, watch.guest.type ?? "lxc");
    } catch (error) {
      if (!signal.aborted) watch.error(error);
      return;
    }
    if (node === undefined) {
      watch.event(Action.ContainerDestroy);
      watch.end();
    } else if (node !== this.#node) {
      this.#hooks.onMoved(watch, node);
    }
  }

  /** One poll: the node's CT list and VM list, each only when a watch needs it. */
  async #poll(signal: AbortSignal): Promise<void> {
    const cts: GuestWatch[] = [];
    const vms: GuestWatch[] = [];
    for (const watch of this.#watches) {
      (watch.guest.type === "qemu" ? vms : cts).push(watch);
    }
    const round: Round = { signal, nodeOf: guestNodeLookup(this.#transport, signal) };
    await Promise.all([
      cts.length > 0 ? this.#pollKind("lxc", cts, round) : undefined,
      vms.length > 0 ? this.#pollKind("qemu", vms, round) : undefined,
    ]);
  }

  /** Lists the node's guests of one kind; `undefined` (errors told) when it fails. */
  async #list(
    kind: "lxc" | "qemu",
    watches: GuestWatch[],
    signal: AbortSignal,
  ): Promise<Map<number, ListedGuest> | undefined> {
    const path = nodeGuestsPath(this.#node, kind);
    const what = `list the ${kind === "qemu" ? "VMs" : "CTs"} of node "${this.#node}"`;
    try {
      const data = await this.#transport.request("GET", path, {
        params: kind === "qemu" ? VM_LIST_PARAMS : undefined,
        signal,
        context: { what, action: "watch" },
        retry: false,
      });
      const listed: ListedGuest[] = Array.isArray(data) ? data : [];
      return new Map(listed.map((guest) => [Number(guest.vmid), guest]));
    } catch (error) {
      if (!signal.aborted) { for (const watch of watches) watch.error(error); }
      return undefined;
    }
  }

  /**
   * Lists the node's guests of one kind and tells each watch of that kind
   * what changed: a guest missing from the list is looked for in the
   * cluster; one with a status no watch knows is an error.
   */
  async #pollKind(kind: "lxc" | "qemu", watches: GuestWatch[], round: Round): Promise<void> {
    const { signal } = round;
    const byVmid = await this.#list(kind, watches, signal);
    if (byVmid === undefined) return;
    const tell: ChangeTeller = kind === "qemu"
      ? tellVmChange
      : ctChangeTeller(this.#transport, this.#node, signal);
    await Promise.all(watches.map(async (watch) => {
      const { guest } = watch;
      if (watch.ended) return;
      const found = byVmid.get(guest.vmid);
      if (found === undefined) return await this.#lost(watch, round);
      if (typeof found.name === "string" && found.name) guest.name = found.name;
      if (found.status !== "running" && found.status !== "stopped") {
        watch.error(unexpectedStatus(guest, found.status));
        return;
      }
      await tell(watch, found as KnownGuest);
    }));
  }
}

/**
 * Finds the node of a guest of a kind in the cluster: one request for all
 * the guests a poll misses. Resolves with `undefined` when the cluster has
 * no such guest.
 */
function guestNodeLookup(
  transport: Transport,
  signal: AbortSignal,
): NodeLookup {
  let guests: Promise<Map<number, Guest>> | undefined;
  return async (vmid, type) => {
    guests ??= clusterGuests(transport, {
      signal,
      context: { what: `find the node of guest ${vmid}`, action: "watch" },
      retry: false,
    });
    const guest = (await guests).get(vmid);
    return guest?.type === type ? guest.node : undefined;
  };
}
