/**
 * What the idle-watching engine knows about instances, and the one interface
 * it needs from a runtime (Docker, Podman or Proxmox VE). The engine never
 * speaks HTTP and never reads a label itself: a {@linkcode Runtime} turns
 * labels and tags into an {@linkcode InstanceInfo}.
 *
 * @module
 */

import type { ContainerSignal, ContainerStatus, Provider } from "../provider.ts";

/** How an instance goes to sleep when its session ends. */
export type SleepMethod = "stop" | "pause";

/** The sleep settings of one instance (labels `idlewatcher.sleep`, `idlewatcher.stop-signal`, `idlewatcher.stop-timeout`). */
export interface SleepPolicy {
  /** Stop (the default) or pause. */
  method: SleepMethod;
  /** The stop signal; `""` lets the runtime choose. */
  signal: ContainerSignal;
  /** Seconds a stop waits before it kills. */
  timeoutSeconds: number;
}

/** An opt-in readiness check run after the instance is up (label `idlewatcher.ready-url` or `idlewatcher.ready-tcp`). */
export type ReadyProbe =
  | { kind: "http"; url: string }
  | { kind: "tcp"; hostname: string; port: number };

/** A container's health, when it has a healthcheck. */
export type Health = "starting" | "healthy" | "unhealthy";

/** What the runtime says about an instance right now. */
export interface ObservedState {
  /** Running, stopped, paused, or error. */
  status: ContainerStatus;
  /** The healthcheck's verdict; `undefined` without a healthcheck or when not running. */
  health?: Health;
}

/** One opted-in instance, as its runtime describes it. */
export interface InstanceInfo {
  /** Unique within the runtime: Docker's full id, Proxmox's `node/vmid`. */
  runtimeId: string;
  /** The name requests use: the container's name, or the CT's hostname. */
  name: string;
  /** Other names that reach it (Proxmox: `node/vmid`). */
  aliases: readonly string[];
  /** Its groups (`default` when no label or tag names one). */
  groups: readonly string[];
  /** How it sleeps. */
  sleep: SleepPolicy;
  /** Whether it has a healthcheck: then ready needs `healthy`. */
  healthcheck: boolean;
  /** The opt-in readiness probe. */
  probe?: ReadyProbe;
  /** Docker Compose's project, to resolve `dependsOn`. */
  composeProject?: string;
  /** Docker Compose's service name of the instance. */
  composeService?: string;
  /** The Compose services it depends on (`com.docker.compose.depends_on`). */
  dependsOn: readonly string[];
  /** Its state when it was listed or inspected. */
  state: ObservedState;
}

/** A change a runtime reports outside the providers' lifecycle events. */
export type RuntimeChange =
  | { kind: "upsert"; info: InstanceInfo }
  | { kind: "remove"; runtimeId: string }
  | { kind: "health"; runtimeId: string; health: Health }
  | { kind: "state"; runtimeId: string; action: "started" | "died" | "paused" | "unpaused" }
  | { kind: "resync"; infos: InstanceInfo[] };

/** Options with an abort signal. */
export interface SignalOptions {
  /** Ends the call; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A runtime (one Docker or Podman engine, one Proxmox cluster) as the engine
 * uses it. Every method takes a signal; none waits forever.
 */
export interface Runtime {
  /** The engine's name in `ENGINE/name` and in messages: `docker`, `podman`, `proxmox`, ... */
  readonly name: string;
  /** Lists every opted-in instance. */
  list(options?: SignalOptions): Promise<InstanceInfo[]>;
  /** Reads one instance again; `undefined` when it is gone or no longer opted in. */
  inspect(runtimeId: string, options?: SignalOptions): Promise<InstanceInfo | undefined>;
  /** The provider that starts, stops and watches the instance. */
  provider(info: InstanceInfo): Promise<Provider>;
  /**
   * Reports discoveries, removals and health changes until `signal` aborts.
   * Resolves when the signal aborts; reconnects by itself.
   */
  follow(
    onChange: (change: RuntimeChange) => void,
    options: { signal: AbortSignal },
  ): Promise<void>;
  /**
   * Runs the instance's healthcheck once, for runtimes that never run it on
   * their own (Podman without systemd). Absent when the runtime runs them.
   */
  runHealthcheck?(runtimeId: string, options?: SignalOptions): Promise<Health>;
  /** Releases what the runtime holds. */
  close(): void;
}

/** Where the server reports what it does; each call has a message and an optional object of context. */
export interface ServeLogger {
  /** Detail: every runtime call, every request. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** What an operator follows: wakes, sleeps, discoveries. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something that works, but not as configured. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** A failed operation. */
  error(msg: string, fields?: Record<string, unknown>): void;
}
