/**
 * The signals a container can be stopped or killed with, as one list that
 * the {@linkcode ContainerSignal} type is derived from.
 *
 * @example List the signals a command line accepts
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { CONTAINER_SIGNALS } from "./signals.ts";
 *
 * deepStrictEqual(CONTAINER_SIGNALS.filter((s) => s.startsWith("SIG")), [
 *   "SIGINT",
 *   "SIGTERM",
 *   "SIGKILL",
 *   "SIGQUIT",
 *   "SIGHUP",
 * ]);
 * ```
 *
 * @module
 */

/**
 * Every {@linkcode ContainerSignal}, in the order messages and help texts
 * list them: `""` (the runtime's default), the five signals with their `SIG`
 * prefix, then the same five without it.
 */
export const CONTAINER_SIGNALS = [
  "",
  "SIGINT",
  "SIGTERM",
  "SIGKILL",
  "SIGQUIT",
  "SIGHUP",
  "INT",
  "TERM",
  "KILL",
  "QUIT",
  "HUP",
] as const;

/**
 * A signal for stop or kill: one of {@linkcode CONTAINER_SIGNALS}. `""` lets
 * the runtime decide: the container's own stop signal for stop, `SIGKILL` for
 * kill.
 */
export type ContainerSignal = typeof CONTAINER_SIGNALS[number];
