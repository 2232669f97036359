/**
 * The runtime-neutral {@linkcode Provider} contract: what an idle watcher can
 * do with one container, whatever runs it.
 *
 * @example Wake a container, whatever its runtime
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { ContainerStatus, Provider } from "./provider.ts";
 *
 * async function wake(provider: Provider): Promise<void> {
 *   const status = await provider.containerStatus();
 *   if (status === "paused") await provider.containerUnpause();
 *   else if (status !== "running") await provider.containerStart();
 * }
 *
 * // A stand-in for a real provider: it records the calls it gets.
 * function standIn(status: ContainerStatus, calls: string[]): Provider {
 *   const call = (name: string) => () => Promise.resolve(void calls.push(name));
 *   return {
 *     containerStatus: () => Promise.resolve(status),
 *     containerStart: call("start"),
 *     containerUnpause: call("unpause"),
 *     containerPause: call("pause"),
 *     containerStop: call("stop"),
 *     containerKill: call("kill"),
 *     watch: () => ({ events: ReadableStream.from([]), errors: ReadableStream.from([]) }),
 *     close: () => {},
 *     [Symbol.dispose]: () => {},
 *   };
 * }
 * const calls: string[] = [];
 * await wake(standIn("paused", calls));
 * await wake(standIn("stopped", calls));
 * await wake(standIn("running", calls));
 * deepStrictEqual(calls, ["unpause", "start"]);
 * ```
 *
 * @module
 */

import { checkSignal } from "./_internal/validate.ts";
import type { Event } from "./events/mod.ts";
import type { ContainerSignal } from "./signals.ts";

export { CONTAINER_SIGNALS, type ContainerSignal } from "./signals.ts";

/**
 * The state of a container, reduced to what an idle watcher acts on.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ContainerStatus } from "./provider.ts";
 *
 * strictEqual(ContainerStatus.Paused, "paused");
 * ```
 */
export const ContainerStatus: {
  readonly Running: "running";
  readonly Stopped: "stopped";
  readonly Paused: "paused";
  readonly Error: "error";
} = Object.freeze({
  Running: "running",
  Stopped: "stopped",
  Paused: "paused",
  Error: "error",
});

/** `"running"`, `"stopped"`, `"paused"` or `"error"` (a state no call can wake from). */
export type ContainerStatus = typeof ContainerStatus[keyof typeof ContainerStatus];

/**
 * Checks a signal name given as text, such as a command-line flag. The match
 * is case-sensitive, as the runtimes' is.
 *
 * @param value The signal name.
 * @returns The value, typed as a {@linkcode ContainerSignal}.
 * @throws {InvalidArgumentError} When the value is not one of the signals.
 *
 * @example
 * ```ts
 * import { strictEqual, throws } from "node:assert/strict";
 * import { parseContainerSignal } from "./provider.ts";
 *
 * strictEqual(parseContainerSignal("SIGTERM"), "SIGTERM");
 * throws(() => parseContainerSignal("sigterm"), { name: "InvalidArgumentError" });
 * ```
 */
export function parseContainerSignal(value: string): ContainerSignal {
  return checkSignal(value as ContainerSignal);
}

/** Options every provider call accepts. */
export interface CallOptions {
  /**
   * Aborts the call: it rejects with `signal.reason` and stops waiting at
   * once. Without it, each call still has a deadline of its own.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** The two streams of a {@linkcode Provider.watch}. */
export interface WatchStreams {
  /** The container's lifecycle events, in order. */
  events: ReadableStream<Event>;
  /** Transient problems (a lost connection, a failed poll); they never end the watch. */
  errors: ReadableStream<Error>;
}

/**
 * One container, whatever runtime runs it. Every call validates its
 * arguments before any request, has a deadline, and rejects with a
 * {@linkcode ProviderError} kind (or the caller's `signal.reason`). A failed
 * call is logged by the rule the `Logger` interface states: ERROR for a
 * failed power call or an unreadable status, DEBUG for a missing container's
 * status, an invalid argument, or the caller's own abort.
 *
 * `[Symbol.dispose]()` is `close()`, so `using provider = ...` closes it.
 *
 * @example Stop a container when idle, wake it on demand
 * ```ts ignore
 * import { newDockerProvider } from "./docker/mod.ts";
 *
 * using provider = newDockerProvider({}, "web");
 * await provider.containerStop("SIGTERM", 10);
 * await provider.containerStart();
 * console.log(await provider.containerStatus()); // "running"
 * ```
 */
export interface Provider extends Disposable {
  /** Pauses (freezes) the container. Already paused is success. */
  containerPause(options?: CallOptions): Promise<void>;
  /** Unpauses the container. Already running is success. */
  containerUnpause(options?: CallOptions): Promise<void>;
  /** Starts the container. Already running is success. */
  containerStart(options?: CallOptions): Promise<void>;
  /**
   * Stops the container: sends `signal` (or the container's own stop signal
   * for `""`), waits up to `timeout` seconds, then kills it. Already stopped
   * is success.
   *
   * `timeout` is whole seconds from 0 to 2147483647 (2^31-1, about 68 years:
   * the most `lxc-stop` under Proxmox takes). A timeout that is negative,
   * fractional, larger or not a number, and a signal not in
   * {@linkcode ContainerSignal}, reject with an `InvalidArgumentError` that
   * names the runtime, the action and the container, before any request.
   */
  containerStop(
    signal: ContainerSignal,
    timeout: number,
    options?: CallOptions,
  ): Promise<void>;
  /** Sends `signal` to the container (`""`: `SIGKILL`). */
  containerKill(signal: ContainerSignal, options?: CallOptions): Promise<void>;
  /**
   * Reads the container's status. Resolves `"error"` for states no call can
   * wake from; rejects only when the status cannot be read.
   */
  containerStatus(options?: CallOptions): Promise<ContainerStatus>;
  /**
   * Streams the container's lifecycle events and transient errors, until
   * `signal` aborts, the provider is closed, or the container is destroyed.
   */
  watch(options?: CallOptions): WatchStreams;
  /** Releases what the provider holds. Ends its watches. Idempotent. */
  close(): void;
}
