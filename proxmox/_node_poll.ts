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
import { type Subscriber, unexpectedStatus } from "./_guest_watch.ts";
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
  /** A watched CT is on another node now. */
  onMoved(subscriber: Subscriber, node: string): void;
}

/** Polls one node once per interval while it has watches. */
export class NodePoll {
  #node: string;
  #transport: Transport;
  #intervalMs: number;
  #subscribers = new Set<Subscriber>();
  #stop = new AbortController();
  #hooks: NodePollHooks;
  #running = false;

  constructor(node: string, transport: Transport, intervalMs: number, hooks: NodePollHooks) {
    this.#node = node;
    this.#transport = transport;
    this.#intervalMs = intervalMs;
    this.#hooks = hooks;
  }

  add(subscriber: Subscriber): void {
    this.#subscribers.add(subscriber);
    if (!this.#running && !this.#stop.signal.aborted) {
      this.#running = true;
      this.#run().catch((error) => {
        this.#transport.config.logger.error(`Watching node "${this.#node}" failed`, { error });
        this.close();
      });
    }
  }

  /** Stops polling for `subscriber`; the poll closes with its last watch. */
  remove(subscriber: Subscriber): void {
    if (this.#subscribers.delete(subscriber) && this.#subscribers.size === 0) this.close();
  }

  close(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#hooks.onIdle();
    for (const subscriber of [...this.#subscribers]) subscriber.end();
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
  async #lost(subscriber: Subscriber, round: Round): Promise<void> {
    const { signal, nodeOf } = round;
    let node: string | undefined;
    try {
      node = await nodeOf(subscriber.ct.vmid, subscriber.ct.type ?? "lxc");
    } catch (error) {
      if (!signal.aborted) subscriber.error(error);
      return;
    }
    if (node === undefined) {
      subscriber.event(Action.ContainerDestroy);
      subscriber.end();
    } else if (node !== this.#node) {
      this.#hooks.onMoved(subscriber, node);
    }
  }

  /** One poll: the node's CT list and VM list, each only when a watch needs it. */
  async #poll(signal: AbortSignal): Promise<void> {
    const cts: Subscriber[] = [];
    const vms: Subscriber[] = [];
    for (const subscriber of this.#subscribers) {
      (subscriber.ct.type === "qemu" ? vms : cts).push(subscriber);
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
    subscribers: Subscriber[],
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
      if (!signal.aborted) { for (const subscriber of subscribers) subscriber.error(error); }
      return undefined;
    }
  }

  /**
   * Lists the node's guests of one kind and tells each watch of that kind
   * what changed: a guest missing from the list is looked for in the
   * cluster; one with a status no watch knows is an error.
   */
  async #pollKind(kind: "lxc" | "qemu", subscribers: Subscriber[], round: Round): Promise<void> {
    const { signal } = round;
    const byVmid = await this.#list(kind, subscribers, signal);
    if (byVmid === undefined) return;
    const tell: ChangeTeller = kind === "qemu"
      ? tellVmChange
      : ctChangeTeller(this.#transport, this.#node, signal);
    await Promise.all(subscribers.map(async (subscriber) => {
      const { ct } = subscriber;
      if (subscriber.ended) return;
      const found = byVmid.get(ct.vmid);
      if (found === undefined) return await this.#lost(subscriber, round);
      if (typeof found.name === "string" && found.name) ct.name = found.name;
      if (found.status !== "running" && found.status !== "stopped") {
        subscriber.error(unexpectedStatus(ct, found.status));
        return;
      }
      await tell(subscriber, found as KnownGuest);
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
