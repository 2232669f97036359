/**
 * An in-memory runtime for the engine's unit tests: containers with a
 * status, providers whose power calls change it and emit the events a real
 * engine would, and counters of every call.
 *
 * @module
 */

import type { Event } from "../../events/mod.ts";
import type { ContainerStatus, Provider, WatchStreams } from "../../provider.ts";
import type {
  Health,
  InstanceInfo,
  Runtime,
  RuntimeChange,
  SignalOptions,
} from "../../serve/_model.ts";

/** One fake container. */
export interface FakeInstance {
  info: InstanceInfo;
  status: ContainerStatus;
}

/** Builds an InstanceInfo with defaults. */
export function fakeInfo(name: string, patch: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    runtimeId: `id-${name}`,
    name,
    aliases: [],
    groups: ["default"],
    sleep: { method: "stop", signal: "", timeoutSeconds: 1 },
    healthcheck: false,
    dependsOn: [],
    state: { status: "stopped" },
    ...patch,
  };
}

/** A runtime whose containers live in memory. */
export class FakeRuntime implements Runtime {
  readonly name: string;
  readonly containers = new Map<string, FakeInstance>();
  /** Every call, as `action name`. */
  readonly calls: string[] = [];
  /** Called before a power call resolves; throw to make it fail. */
  beforePower: (action: string, name: string) => Promise<void> | void = () => {};
  /** How long a power call takes, in ms. */
  powerDelayMs = 0;
  runHealthcheck?: (runtimeId: string, options?: SignalOptions) => Promise<Health>;
  #watchers = new Map<string, Set<ReadableStreamDefaultController<Event>>>();
  #onChange: ((change: RuntimeChange) => void) | undefined;
  #closed = false;

  constructor(name = "fake", infos: InstanceInfo[] = []) {
    this.name = name;
    for (const info of infos) this.add(info);
  }

  /** Adds a container (before start, or later: then reported as created). */
  add(info: InstanceInfo): void {
    this.containers.set(info.runtimeId, { info, status: info.state.status });
    this.#onChange?.({ kind: "upsert", info: this.#current(info.runtimeId)! });
  }

  /** How many calls of `action` were made for `name`. */
  count(action: string, name?: string): number {
    return this.calls.filter((call) =>
      name === undefined ? call.startsWith(`${action} `) : call === `${action} ${name}`
    ).length;
  }

  /** Changes a container from outside (someone else's docker start), with its event. */
  external(name: string, status: ContainerStatus): void {
    const container = this.#byName(name);
    container.status = status;
    this.#emit(
      container,
      status === "running" ? "started" : status === "paused" ? "paused" : "died",
    );
  }

  /** Reports a health change, as the discovery stream would. */
  health(name: string, health: Health): void {
    this.#onChange?.({ kind: "health", runtimeId: this.#byName(name).info.runtimeId, health });
  }

  list(): Promise<InstanceInfo[]> {
    this.calls.push("list *");
    return Promise.resolve([...this.containers.keys()].map((id) => this.#current(id)!));
  }

  inspect(runtimeId: string): Promise<InstanceInfo | undefined> {
    this.calls.push(`inspect ${this.containers.get(runtimeId)?.info.name}`);
    return Promise.resolve(this.#current(runtimeId));
  }

  provider(info: InstanceInfo): Promise<Provider> {
    const container = this.containers.get(info.runtimeId)!;
    const power = async (action: string, status: ContainerStatus, event: Event["action"]) => {
      this.calls.push(`${action} ${container.info.name}`);
      if (this.powerDelayMs > 0) await new Promise((r) => setTimeout(r, this.powerDelayMs));
      await this.beforePower(action, container.info.name);
      if (container.status === status) return;
      container.status = status;
      this.#emit(container, event);
    };
    const provider: Provider = {
      containerStart: () => power("start", "running", "started"),
      containerUnpause: () => power("unpause", "running", "unpaused"),
      containerPause: () => power("pause", "paused", "paused"),
      containerStop: () => power("stop", "stopped", "died"),
      containerKill: () => power("kill", "stopped", "died"),
      containerStatus: () => Promise.resolve(container.status),
      watch: (options) => this.#watch(container, options?.signal),
      close: () => {},
      [Symbol.dispose]: () => {},
    };
    return Promise.resolve(provider);
  }

  async follow(
    onChange: (change: RuntimeChange) => void,
    options: { signal: AbortSignal },
  ): Promise<void> {
    this.#onChange = onChange;
    onChange({ kind: "resync", infos: await this.list() });
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      options.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#onChange = undefined;
  }

  close(): void {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #current(runtimeId: string): InstanceInfo | undefined {
    const container = this.containers.get(runtimeId);
    if (container === undefined) return undefined;
    return { ...container.info, state: { status: container.status } };
  }

  #byName(name: string): FakeInstance {
    for (const container of this.containers.values()) {
      if (container.info.name === name) return container;
    }
    throw new Error(`no fake container ${name}`);
  }

  #watch(container: FakeInstance, signal: AbortSignal | undefined): WatchStreams {
    const id = container.info.runtimeId;
    let controller!: ReadableStreamDefaultController<Event>;
    const events = new ReadableStream<Event>({
      start: (c) => {
        controller = c;
        let set = this.#watchers.get(id);
        if (set === undefined) this.#watchers.set(id, set = new Set());
        set.add(c);
      },
      cancel: () => {
        this.#watchers.get(id)?.delete(controller);
      },
    });
    signal?.addEventListener("abort", () => {
      this.#watchers.get(id)?.delete(controller);
      try {
        controller.close();
      } catch {
        // Already closed.
      }
    }, { once: true });
    return { events, errors: new ReadableStream({ start: () => {} }) };
  }

  #emit(container: FakeInstance, action: Event["action"]): void {
    const event: Event = {
      type: "docker",
      actorId: container.info.runtimeId,
      actorName: container.info.name,
      actorAttributes: {},
      action,
      time: new Date(),
    };
    for (const controller of this.#watchers.get(container.info.runtimeId) ?? []) {
      controller.enqueue(event);
    }
  }
}

/** A logger that keeps lines. */
export function memoryLogger(): {
  lines: string[];
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
} {
  const lines: string[] = [];
  return {
    lines,
    debug: () => {},
    info: (msg) => lines.push(`info ${msg}`),
    warn: (msg) => lines.push(`warn ${msg}`),
    error: (msg) => lines.push(`error ${msg}`),
  };
}

/** Waits until `check` holds, polling every 5 ms, at most `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
