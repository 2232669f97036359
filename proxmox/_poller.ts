/**
 * One status poll per node and kind of guest for every watch on a client.
 * Each node with at least one watched CT is asked `GET /nodes/{node}/lxc`,
 * and with at least one watched VM `GET /nodes/{node}/qemu?full=1`, once
 * per interval (live, unlike `/cluster/resources`, which lags up to 10 s).
 * Each change of a guest's state is told to its watches. For a CT, whether
 * a stop was a suspend comes from its latest power task, read once per
 * running→stopped change and never otherwise (a CT that runs again after a
 * suspend the watch saw was resumed, otherwise started); a VM's list entry
 * says it all (`qmpstatus`, which only `full=1` reads, and the hibernation
 * lock). So an interval costs one list request per node and kind with
 * watched guests, plus one task read per CT that stopped. A guest missing from
 * its node's list is looked up in the cluster (`/cluster/resources`, whose
 * node is current): a migrated guest is followed to its new node, one the
 * cluster no longer has is reported destroyed.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import { isObject, shortJson } from "../_internal/json.ts";
import { WatchChannel } from "../_internal/watch_channel.ts";
import { ApiError, ProviderError } from "../errors.ts";
import { Action, type Event, EventType } from "../events/mod.ts";
import type { WatchStreams } from "../provider.ts";
import { nodeGuestsPath, VM_LIST_PARAMS } from "./_api.ts";
import { clusterGuests, type Guest, vmidOf } from "./_locate.ts";
import { isTaskOk, latestPowerTask, type TaskSummary } from "./_tasks.ts";
import type { Transport } from "./_transport.ts";
import { vmStatusOf } from "./_vm_status.ts";

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

const DEFAULT_BUFFERS: WatchBuffers = { events: 1024, errors: 64 };

type PowerState = "running" | "stopped" | "paused" | "error";

/** One watch: its streams, and what its consumer last heard. */
class Subscriber {
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

interface ListedCt {
  vmid: number | string;
  status?: string;
  name?: string;
  qmpstatus?: string;
  lock?: string;
  template?: number | boolean;
}

/** Polls each watched node once per interval, for all watches of one client. */
export class StatusPoller {
  #transport: Transport;
  #intervalMs: number;
  #buffers: WatchBuffers;
  #nodes = new Map<string, NodePoll>();
  #closed = false;

  constructor(transport: Transport, intervalMs: number, buffers: WatchBuffers = DEFAULT_BUFFERS) {
    this.#transport = transport;
    this.#intervalMs = intervalMs;
    this.#buffers = buffers;
  }

  /**
   * Starts a watch of `ct`; it ends when `signal` aborts, when a reader
   * cancels either stream, on `close()`, or after the CT vanished from the
   * cluster (a CT migrated to another node is followed there). After
   * `close()`, the watch is over at once: both streams are closed.
   */
  watch(ct: WatchedCt, signal?: AbortSignal): WatchStreams {
    const subscriber = new Subscriber({ ...ct }, this.#buffers, signal, () => {
      this.#nodes.get(subscriber.ct.node)?.remove(subscriber);
    });
    if (this.#closed || signal?.aborted) subscriber.end();
    else this.#pollOf(ct.node).add(subscriber);
    return subscriber.streams;
  }

  /** Ends every watch and any later one; polling stops. */
  close(): void {
    this.#closed = true;
    for (const poll of [...this.#nodes.values()]) poll.close();
  }

  #pollOf(node: string): NodePoll {
    let poll = this.#nodes.get(node);
    if (poll === undefined) {
      poll = new NodePoll(node, this.#transport, this.#intervalMs, {
        onIdle: () => this.#nodes.delete(node),
        onMoved: (subscriber, to) => this.#move(subscriber, to),
      });
      this.#nodes.set(node, poll);
    }
    return poll;
  }

  /** Hands a watch to the poll of the node its CT moved to. */
  #move(subscriber: Subscriber, node: string): void {
    this.#transport.config.logger.debug(
      `${
        subscriber.ct.type === "qemu" ? "VM" : "CT"
      } ${subscriber.ct.vmid} moved from node "${subscriber.ct.node}" to "${node}"`,
      { container: `${subscriber.ct.vmid}`, action: "watch" },
    );
    this.#nodes.get(subscriber.ct.node)?.remove(subscriber);
    subscriber.ct.node = node;
    this.#pollOf(node).add(subscriber);
  }
}

/** What a node's poll tells its owner. */
interface NodePollHooks {
  /** The poll has no watch left and stopped. */
  onIdle(): void;
  /** A watched CT is on another node now. */
  onMoved(subscriber: Subscriber, node: string): void;
}

class NodePoll {
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
      const byVmid = new Map<number, ListedCt>();
      for (const guest of Array.isArray(data) ? data : []) {
        // An entry that is not an object, or has no usable vmid, names no guest.
        const vmid = isObject(guest) ? vmidOf(guest.vmid) : undefined;
        if (vmid !== undefined) byVmid.set(vmid, guest as ListedCt);
      }
      return byVmid;
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

function unexpectedStatus(ct: WatchedCt, status: unknown): ApiError {
  return new ApiError(
    `${
      ct.type === "qemu" ? "VM" : "CT"
    } ${ct.vmid} on node "${ct.node}" has an unexpected status: ${shortJson(status)}`,
    {
      runtime: "proxmox",
      action: "watch",
      container: String(ct.vmid),
      status: 200,
      serverMessage: "",
    },
  );
}
