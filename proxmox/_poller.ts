/**
 * One status poll per node for every watch on a client. Each node with at
 * least one watched CT is asked `GET /nodes/{node}/lxc` (live, unlike
 * `/cluster/resources`, which lags up to 10 s) once per interval; each
 * change of a CT between running and not running is told to its watches.
 * Whether a stop was a suspend, or a start a resume, comes from the CT's
 * latest power task, read once per change.
 *
 * @module
 */

import { ApiError } from "../errors.ts";
import { Action, type Event, EventType } from "../events/mod.ts";
import { isTaskOk, latestPowerTask, type TaskSummary } from "./_tasks.ts";
import { delay } from "./_timing.ts";
import type { Transport } from "./_transport.ts";
import { WatchSink } from "./_watch.ts";

/** The CT a watch is about. */
export interface WatchedCt {
  node: string;
  vmid: number;
  /** The CT's name when the watch starts; kept up to date from the polls. */
  name: string;
}

type PowerState = "running" | "stopped" | "paused";

interface Subscriber {
  ct: WatchedCt;
  sink: WatchSink;
  /** The state the consumer last heard of; `undefined` until the first poll (the baseline). */
  last: PowerState | undefined;
}

interface ListedCt {
  vmid: number | string;
  status?: string;
  name?: string;
}

/** Polls each watched node once per interval, for all watches of one client. */
export class StatusPoller {
  #transport: Transport;
  #intervalMs: number;
  #nodes = new Map<string, NodePoll>();

  constructor(transport: Transport, intervalMs: number) {
    this.#transport = transport;
    this.#intervalMs = intervalMs;
  }

  /** Starts a watch of `ct`; it ends when `signal` aborts, on `close()`, or when the CT vanishes. */
  watch(ct: WatchedCt, signal?: AbortSignal): WatchSink {
    let poll = this.#nodes.get(ct.node);
    if (poll === undefined) {
      poll = new NodePoll(ct.node, this.#transport, this.#intervalMs, () => {
        this.#nodes.delete(ct.node);
      });
      this.#nodes.set(ct.node, poll);
    }
    return poll.add({ ...ct }, signal);
  }

  /** Ends every watch; polling stops. */
  close(): void {
    for (const poll of [...this.#nodes.values()]) poll.close();
  }
}

class NodePoll {
  #node: string;
  #transport: Transport;
  #intervalMs: number;
  #subscribers = new Set<Subscriber>();
  #stop = new AbortController();
  #onIdle: () => void;
  #running = false;

  constructor(node: string, transport: Transport, intervalMs: number, onIdle: () => void) {
    this.#node = node;
    this.#transport = transport;
    this.#intervalMs = intervalMs;
    this.#onIdle = onIdle;
  }

  add(ct: WatchedCt, signal: AbortSignal | undefined): WatchSink {
    const subscriber: Subscriber = { ct, last: undefined, sink: undefined! };
    this.#subscribers.add(subscriber);
    subscriber.sink = new WatchSink({
      signal,
      reloadEvent: () => toEvent(subscriber.ct, Action.ForceReload),
      onEnd: () => {
        this.#subscribers.delete(subscriber);
        if (this.#subscribers.size === 0) this.close();
      },
    });
    if (!this.#running && !this.#stop.signal.aborted) {
      this.#running = true;
      this.#run().catch((error) => {
        this.#transport.config.logger.error(`Watching node "${this.#node}" failed`, { error });
        this.close();
      });
    }
    return subscriber.sink;
  }

  close(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#onIdle();
    for (const subscriber of [...this.#subscribers]) subscriber.sink.end();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const started = performance.now();
      await this.#poll(signal);
      const wait = Math.max(0, this.#intervalMs - (performance.now() - started));
      await delay(wait, signal).catch(() => {});
    }
  }

  async #poll(signal: AbortSignal): Promise<void> {
    const subscribers = [...this.#subscribers];
    const path = `/nodes/${encodeURIComponent(this.#node)}/lxc`;
    const context = { what: `list the CTs of node "${this.#node}"`, action: "watch" };
    let listed: ListedCt[];
    try {
      const data = await this.#transport.request("GET", path, { signal, context, retry: false });
      listed = Array.isArray(data) ? data : [];
    } catch (error) {
      if (signal.aborted) return;
      for (const { sink } of subscribers) sink.error(asError(error));
      return;
    }
    const byVmid = new Map(listed.map((ct) => [Number(ct.vmid), ct]));
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
      const { sink, ct } = subscriber;
      if (sink.ended) return;
      const found = byVmid.get(ct.vmid);
      if (found === undefined) {
        sink.event(toEvent(ct, Action.ContainerDestroy));
        sink.end();
        return;
      }
      if (typeof found.name === "string" && found.name) ct.name = found.name;
      if (found.status !== "running" && found.status !== "stopped") {
        sink.error(unexpectedStatus(ct, found.status));
        return;
      }
      const running = found.status === "running";
      if (subscriber.last === undefined) {
        subscriber.last = running ? "running" : "stopped";
        return;
      }
      if (running === (subscriber.last === "running")) return;
      let task: TaskSummary | undefined;
      try {
        task = await latestTask(ct.vmid);
      } catch (error) {
        if (signal.aborted) return;
        sink.error(asError(error));
      }
      const action = running
        ? (task?.type === "vzresume" ? Action.ContainerUnpause : Action.ContainerStart)
        : (task?.type === "vzsuspend" && (task.status === undefined || isTaskOk(task.status))
          ? Action.ContainerPause
          : Action.ContainerStop);
      subscriber.last = running
        ? "running"
        : action === Action.ContainerPause
        ? "paused"
        : "stopped";
      sink.event(toEvent(ct, action));
    }));
  }
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
    `CT ${ct.vmid} on node "${ct.node}" has an unexpected status: ${JSON.stringify(status)}`,
    {
      runtime: "proxmox",
      action: "watch",
      container: String(ct.vmid),
      status: 200,
      serverMessage: "",
    },
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
