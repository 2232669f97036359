/**
 * The argument checks both providers share, so that a bad stop timeout or
 * signal is refused the same way, with the same message, whatever the
 * runtime: an {@linkcode InvalidArgumentError} before any request.
 *
 * @module
 */

import { InvalidArgumentError, type Runtime } from "../errors.ts";
import { CONTAINER_SIGNALS, type ContainerSignal } from "../signals.ts";

/** The call an argument was given to, named on the error. */
export interface ArgumentContext {
  /** The provider's runtime. */
  runtime: Runtime;
  /** The operation, such as `"stop"`. */
  action: string;
  /** The container id, name or vmid. */
  container: string;
}

/**
 * The longest stop timeout, in seconds (about 68 years): the largest 32-bit
 * integer. PVE hands its shutdown `timeout` to `lxc-stop --timeout`, which
 * reads a C `int`; dockerd and Podman take more, but dockerd's wait overflows
 * past 2^63 ns (about 292 years).
 */
export const MAX_STOP_TIMEOUT = 2_147_483_647;

const SIGNALS: ReadonlySet<string> = new Set<string>(CONTAINER_SIGNALS);

/**
 * Checks a stop timeout: whole seconds, from 0 to {@linkcode MAX_STOP_TIMEOUT}.
 *
 * @param timeout The timeout, from a caller that may not use TypeScript.
 * @param context The call, set on the error and named in its message.
 * @returns The same number.
 * @throws {InvalidArgumentError} When it is negative, fractional, too large or not a number.
 *
 * @example Refuse a fractional timeout with the call's context
 * ```ts
 * import { strictEqual, throws } from "node:assert/strict";
 * import { InvalidArgumentError } from "../errors.ts";
 * import { checkStopTimeout } from "./validate.ts";
 *
 * const context = { runtime: "docker", action: "stop", container: "web" } as const;
 * strictEqual(checkStopTimeout(10, context), 10);
 * throws(() => checkStopTimeout(1.5, context), {
 *   name: "InvalidArgumentError",
 *   message: 'Invalid stop timeout 1.5 for container "web": expected whole seconds, 0 to 2147483647',
 * });
 * throws(() => checkStopTimeout(-1, context), InvalidArgumentError);
 * ```
 */
export function checkStopTimeout(timeout: number, context: ArgumentContext): number {
  if (
    typeof timeout === "number" && Number.isInteger(timeout) && timeout >= 0 &&
    timeout <= MAX_STOP_TIMEOUT
  ) {
    return timeout;
  }
  throw new InvalidArgumentError(
    `Invalid stop timeout ${show(timeout)}${forContainer(context)}: ` +
      `expected whole seconds, 0 to ${MAX_STOP_TIMEOUT}`,
    context,
  );
}

/**
 * Checks a signal name. The match is case-sensitive, as the runtimes' is.
 *
 * @param signal The signal, from a caller that may not use TypeScript.
 * @param context The call, set on the error and named in its message;
 * without it (a signal not yet given to a call) the message names no container.
 * @returns The same signal.
 * @throws {InvalidArgumentError} When it is not a {@linkcode ContainerSignal}.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { checkSignal } from "./validate.ts";
 *
 * const context = { runtime: "proxmox", action: "kill", container: "101" } as const;
 * strictEqual(checkSignal("SIGTERM", context), "SIGTERM");
 * ```
 */
export function checkSignal(signal: ContainerSignal, context?: ArgumentContext): ContainerSignal {
  if (typeof signal === "string" && SIGNALS.has(signal)) return signal;
  throw new InvalidArgumentError(
    `Invalid signal ${show(signal)}${forContainer(context)}: expected one of ${
      [...SIGNALS].filter(Boolean).join(", ")
    }, or "" for the runtime's default`,
    context,
  );
}

/**
 * Checks a `maxConnections` setting: a positive whole number, or `undefined`
 * for the default (32).
 *
 * @param value The setting, from a caller that may not use TypeScript.
 * @param runtime The provider it configures, set on the error.
 * @returns The same value.
 * @throws {InvalidArgumentError} When it is not a positive whole number.
 *
 * @example
 * ```ts
 * import { checkMaxConnections } from "./validate.ts";
 *
 * console.log(checkMaxConnections(8, "docker")); // 8
 * console.log(checkMaxConnections(undefined, "docker")); // undefined
 * ```
 */
export function checkMaxConnections(
  value: number | undefined,
  runtime: Runtime,
): number | undefined {
  if (value === undefined || (Number.isSafeInteger(value) && value > 0)) return value;
  throw new InvalidArgumentError(
    `Invalid maxConnections ${show(value)}: expected a whole number of connections, at least 1`,
    { runtime },
  );
}

/** A value as the caller wrote it: a string quoted, so that `"5"` and `5` differ. */
function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function forContainer(context: ArgumentContext | undefined): string {
  return context === undefined ? "" : ` for container ${JSON.stringify(context.container)}`;
}
