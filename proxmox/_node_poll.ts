/**
 * The poll of one node: its watched guests' lists, once per interval, and
 * each change of a guest's state told to its watch.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import { Action } from "../events/mod.ts";
import { nodeGuestsPath, VM_LIST_PARAMS } from "./_api.ts";
import { type PowerState, type Subscriber, unexpectedStatus } from "./_guest_watch.ts";
import { clusterGuests, type Guest } from "./_locate.ts";
import { isTaskOk, latestPowerTask, type TaskSummary } from "./_tasks.ts";
import type { Transport } from "./_transport.ts";
import { vmStatusOf } from "./_vm_status.ts";

interface ListedCt {
  vmid: number | string;
  status?: string;
  name?: string;
  qmpstatus?: string;
  lock?: string;
  template?: number | boolean;
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
  async #lost(
    subscriber: Subscriber,
    nodeOf: (vmid: number, type: string) => Promise<string | undefined>,
    signal: AbortSignal,
  ): Promise<void> {
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
    const nodeOf = guestNodeLookup(this.#transport, signal);
    await Promise.all([
      cts.length > 0 ? this.#pollCts(cts, nodeOf, signal) : undefined,
      vms.length > 0 ? this.#pollVms(vms, nodeOf, signal) : undefined,
    ]);
  }

  /** Lists the node's guests of one kind; `undefined` (errors told) when it fails. */
  async #list(
    kind: "lxc" | "qemu",
    subscribers: Subscriber[],
    signal: AbortSignal,
  ): Promise<Map<number, ListedCt> | undefined> {
    const path = nodeGuestsPath(this.#node, kind);
    const what = `list the ${kind === "qemu" ? "VMs" : "CTs"} of node "${this.#node}"`;
    try {
      const data = await this.#transport.request("GET", path, {
        params: kind === "qemu" ? VM_LIST_PARAMS : undefined,
        signal,
        context: { what, action: "watch" },
        retry: false,
      });
      const listed: ListedCt[] = Array.isArray(data) ? data : [];
      return new Map(listed.map((guest) => [Number(guest.vmid), guest]));
    } catch (error) {
      if (!signal.aborted) { for (const subscriber of subscribers) subscriber.error(error); }
      return undefined;
    }
  }

  /**
   * The VMs' changes, from the list alone: into `running` from `paused` is
   * an unpause, else a start; into `paused` a pause; into `stopped` a stop;
   * into `error` (a failed or panicked guest) a death.
   */
  async #pollVms(
    subscribers: Subscriber[],
    nodeOf: (vmid: number, type: string) => Promise<string | undefined>,
    signal: AbortSignal,
  ): Promise<void> {
    const byVmid = await this.#list("qemu", subscribers, signal);
    if (byVmid === undefined) return;
    await Promise.all(subscribers.map(async (subscriber) => {
      const { ct } = subscriber;
      if (subscriber.ended) return;
      const found = byVmid.get(ct.vmid);
      if (found === undefined) return await this.#lost(subscriber, nodeOf, signal);
      if (typeof found.name === "string" && found.name) ct.name = found.name;
      if (found.status !== "running" && found.status !== "stopped") {
        subscriber.error(unexpectedStatus(ct, found.status));
        return;
      }
      const state: PowerState = vmStatusOf(found);
      const last = subscriber.last;
      subscriber.last = state;
      if (last === undefined || last === state) return;
      subscriber.event(
        state === "running"
          ? (last === "paused" ? Action.ContainerUnpause : Action.ContainerStart)
          : state === "paused"
          ? Action.ContainerPause
          : state === "stopped"
          ? Action.ContainerStop
          : Action.ContainerDie,
      );
    }));
  }

  async #pollCts(
    subscribers: Subscriber[],
    nodeOf: (vmid: number, type: string) => Promise<string | undefined>,
    signal: AbortSignal,
  ): Promise<void> {
    const byVmid = await this.#list("lxc", subscribers, signal);
    if (byVmid === undefined) return;
    const lookups = new Map<number, Promise<TaskSummary | undefined>>();
    const latestTask = (vmid: number) => {
      let lookup = lookups.get(vmid);
      if (lookup === undefined) {
        lookup = latestPowerTask(this.#transport, this.#node, vmid, {
          signal,
          context: {
            what: `read the tasks of CT ${vmid} on node "${this.#node}"`,
            action: "watch",
          },
          retry: false,
        });
        lookups.set(vmid, lookup);
      }
      return lookup;
    };
    await Promise.all(subscribers.map(async (subscriber) => {
      const { ct } = subscriber;
      if (subscriber.ended) return;
      const found = byVmid.get(ct.vmid);
      if (found === undefined) return await this.#lost(subscriber, nodeOf, signal);
      if (typeof found.name === "string" && found.name) ct.name = found.name;
      if (found.status !== "running" && found.status !== "stopped") {
        subscriber.error(unexpectedStatus(ct, found.status));
        return;
      }
      const running = found.status === "running";
      if (subscriber.last === undefined) {
        subscriber.last = running ? "running" : "stopped";
        return;
      }
      if (running === (subscriber.last === "running")) return;
      if (running) {
        // Up again: a resume when the watch saw the CT suspended, a start otherwise. No task read.
        const action = subscriber.last === "paused"
          ? Action.ContainerUnpause
          : Action.ContainerStart;
        subscriber.last = "running";
        subscriber.event(action);
        return;
      }
      // Down: a suspend (CRIU checkpoint) leaves the CT stopped too; its latest task tells.
      let task: TaskSummary | undefined;
      try {
        task = await latestTask(ct.vmid);
      } catch (error) {
        if (signal.aborted) return;
        subscriber.error(error);
      }
      const suspended = task?.type === "vzsuspend" &&
        (task.status === undefined || isTaskOk(task.status));
      const action = suspended ? Action.ContainerPause : Action.ContainerStop;
      subscriber.last = suspended ? "paused" : "stopped";
      subscriber.event(action);
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
): (vmid: number, type: string) => Promise<string | undefined> {
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
