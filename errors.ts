/**
 * The typed errors every provider throws. One base class,
 * {@linkcode ProviderError}, and a few kinds a caller can branch on with
 * `instanceof`.
 *
 * @example Branch on the kind of failure
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { NotFoundError, ProviderError, TimeoutError } from "./errors.ts";
 *
 * function describe(error: unknown): string {
 *   if (error instanceof NotFoundError) return "no such container";
 *   if (error instanceof ProviderError) return error.message;
 *   throw error;
 * }
 * strictEqual(describe(new NotFoundError("gone")), "no such container");
 * strictEqual(describe(new TimeoutError("too slow")), "too slow");
 * ```
 *
 * @module
 */

import { redactSecrets } from "./_internal/secrets.ts";
import { escapeControls } from "./_internal/text.ts";

/** The runtime a provider talks to. */
export type Runtime = "docker" | "proxmox";

/** Context attached to every {@linkcode ProviderError}. */
export interface ProviderErrorOptions extends ErrorOptions {
  /** The runtime that failed.
   * @default {undefined} */
  runtime?: Runtime;
  /** The operation that failed, such as `"start"` or `"status"`.
   * @default {undefined} */
  action?: string;
  /** The container id, name or vmid the operation was about.
   * @default {undefined} */
  container?: string;
  /** How to fix it, when known, in the library's terms (configuration fields, environment
   * variables, Deno flags). The message ends with it, after `"; "`.
   * @default {undefined} */
  fix?: string;
}

/**
 * The base class of every error a provider throws on purpose.
 *
 * @example Catch any provider failure
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ProviderError } from "./errors.ts";
 *
 * const error = new ProviderError("Cannot start container \"web\"", {
 *   runtime: "docker",
 *   action: "start",
 *   container: "web",
 * });
 * deepStrictEqual([error.runtime, error.action, error.container], ["docker", "start", "web"]);
 * ```
 *
 * @example The fix apart from the reason
 * ```ts
 * import { ProviderError } from "./errors.ts";
 *
 * const error = new ProviderError("Cannot reach the daemon at unix:///d.sock: no such socket", {
 *   fix: "start the daemon",
 * });
 * console.log(error.reason); // "Cannot reach the daemon at unix:///d.sock: no such socket"
 * console.log(error.fix); // "start the daemon"
 * console.log(error.message); // "Cannot reach ...: no such socket; start the daemon"
 * ```
 */
export class ProviderError extends Error {
  /** The runtime that failed, when known. */
  readonly runtime: Runtime | undefined;
  /** The operation that failed, when known (`"start"`, `"stop"`, ...). */
  readonly action: string | undefined;
  /** The container the operation was about, when known. */
  readonly container: string | undefined;
  /** What failed and why: the message without its fix. */
  readonly reason: string;
  /** How to fix it, when known; the message ends with it. */
  readonly fix: string | undefined;

  /**
   * Creates an error.
   *
   * @param message What failed and why.
   * @param options The cause, the context of the failure, and the fix.
   */
  constructor(message: string, options?: ProviderErrorOptions) {
    // Messages carry server text: no control character reaches a terminal or a log line,
    // and no secret of ours that a server echoed back.
    const fix = options?.fix === undefined ? undefined : safeText(options.fix);
    message = safeText(message);
    super(fix === undefined ? message : `${message}; ${fix}`, options);
    this.name = "ProviderError";
    this.runtime = options?.runtime;
    this.action = options?.action;
    this.container = options?.container;
    this.reason = message;
    this.fix = fix;
  }
}

/**
 * The runtime could not be reached: a missing socket, a refused connection, a
 * missing permission, a TLS failure, a DNS failure, or (Proxmox 595/596) a
 * cluster node that cannot be reached.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ConnectionError, ProviderError } from "./errors.ts";
 *
 * const error = new ConnectionError("Cannot connect to unix:///nope.sock");
 * strictEqual(error.name, "ConnectionError");
 * strictEqual(error instanceof ProviderError, true);
 * ```
 */
export class ConnectionError extends ProviderError {
  /**
   * Creates an error.
   *
   * @param message What could not be reached, and how to fix it when known.
   * @param options The cause (the Deno error) and the context.
   */
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/**
 * The container does not exist.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { NotFoundError } from "./errors.ts";
 *
 * const error = new NotFoundError("No such container: web");
 * strictEqual(error instanceof Error, true);
 * strictEqual(error.name, "NotFoundError");
 * ```
 */
export class NotFoundError extends ProviderError {
  /**
   * Creates an error.
   *
   * @param message Which container was not found.
   * @param options The context of the failure.
   */
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options);
    this.name = "NotFoundError";
  }
}

/** Options of an {@linkcode ApiError}. */
export interface ApiErrorOptions extends ProviderErrorOptions {
  /** The HTTP status the runtime answered with. */
  status: number;
  /** The runtime's own message, as it sent it.
   * @default {""} */
  serverMessage?: string;
}

/**
 * The runtime refused the request (any other non-success answer), or a
 * runtime task failed (then it is the {@linkcode TaskError} kind). Carries
 * the HTTP status and the runtime's own message.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ApiError } from "./errors.ts";
 *
 * const error = new ApiError("Cannot pause container \"web\": daemon returned 409", {
 *   status: 409,
 *   serverMessage: "Container web is not running",
 * });
 * deepStrictEqual([error.status, error.serverMessage], [409, "Container web is not running"]);
 * ```
 */
export class ApiError extends ProviderError {
  /**
   * The HTTP status of the answer. `0` for a {@linkcode TaskError}: the
   * request was accepted, the task it started failed.
   */
  readonly status: number;
  /** The runtime's own message, or `""` when it sent none. */
  readonly serverMessage: string;

  /**
   * Creates an error.
   *
   * @param message What failed, including the runtime's message.
   * @param options The status, the runtime's message and the context.
   */
  constructor(message: string, options: ApiErrorOptions) {
    super(message, options);
    this.name = "ApiError";
    this.status = options.status;
    this.serverMessage = safeText(options.serverMessage ?? "");
  }
}

/** Options of a {@linkcode TaskError}. */
export interface TaskErrorOptions extends ProviderErrorOptions {
  /** The task's type, such as Proxmox's `"vzstart"`. */
  task: string;
  /** How the task ended, as the runtime says it: Proxmox's `exitstatus`. */
  exitStatus: string;
}

/**
 * A task the runtime accepted, then failed: Proxmox VE answers a power call
 * with a task id at once and runs the task in the background, so a failure
 * arrives after a successful answer. A kind of {@linkcode ApiError} whose
 * `status` is `0` and whose `serverMessage` is the exit status, so code that
 * catches `ApiError` keeps working.
 *
 * @example Tell a failed task from a refused request
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ApiError, TaskError } from "./errors.ts";
 *
 * const error: unknown = new TaskError("Cannot pause CT 101: task vzsuspend failed: CRIU failed", {
 *   task: "vzsuspend",
 *   exitStatus: "CRIU failed",
 * });
 * strictEqual(error instanceof ApiError, true);
 * strictEqual(error instanceof TaskError && error.task, "vzsuspend");
 * strictEqual((error as ApiError).status, 0);
 * ```
 */
export class TaskError extends ApiError {
  /** The task's type, such as `"vzsuspend"`. */
  readonly task: string;
  /** How the task ended: its exit status. */
  readonly exitStatus: string;

  /**
   * Creates an error.
   *
   * @param message What failed, including the exit status.
   * @param options The task, its exit status and the context.
   */
  constructor(message: string, options: TaskErrorOptions) {
    super(message, { ...options, status: 0, serverMessage: options.exitStatus });
    this.name = "TaskError";
    this.task = options.task;
    this.exitStatus = options.exitStatus;
  }
}

/**
 * A deadline passed before the runtime answered or before the container
 * reached the state asked for. (An abort of the caller's own `AbortSignal`
 * rejects with `signal.reason` instead.)
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { TimeoutError } from "./errors.ts";
 *
 * const error = new TimeoutError("Container \"web\" did not start within 120 s");
 * strictEqual(error.name, "TimeoutError");
 * ```
 */
export class TimeoutError extends ProviderError {
  /**
   * Creates an error.
   *
   * @param message What did not finish in time, and the deadline.
   * @param options The context of the failure.
   */
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * A bad configuration, container id, signal or timeout. Thrown before any
 * request is sent.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { InvalidArgumentError, isRetriable } from "./errors.ts";
 *
 * const error = new InvalidArgumentError(
 *   "Invalid stop timeout -1 for container \"web\": expected whole seconds, 0 to 2147483647",
 * );
 * strictEqual(error.name, "InvalidArgumentError");
 * strictEqual(isRetriable(error), false);
 * ```
 */
export class InvalidArgumentError extends ProviderError {
  /**
   * Creates an error.
   *
   * @param message Which argument is wrong and why.
   * @param options The context of the failure.
   */
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options);
    this.name = "InvalidArgumentError";
  }
}

/**
 * Tells whether an operation that failed with `error` may succeed if tried
 * again later: connection failures, timeouts, and 5xx answers other than 500
 * (which runtimes use for refusals), plus Deno's own transient network errors.
 *
 * @param error The error a provider call rejected with.
 * @returns `true` when a retry may help.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ApiError, ConnectionError, InvalidArgumentError, isRetriable } from "./errors.ts";
 *
 * strictEqual(isRetriable(new ConnectionError("refused")), true);
 * strictEqual(isRetriable(new ApiError("busy", { status: 503 })), true);
 * strictEqual(isRetriable(new ApiError("refused", { status: 409 })), false);
 * strictEqual(isRetriable(new InvalidArgumentError("bad id")), false);
 * ```
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof TimeoutError) {
    return true;
  }
  if (error instanceof ApiError) {
    return error.status === 502 || error.status === 503 ||
      error.status === 504 || error.status === 595 || error.status === 596;
  }
  return error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.TimedOut ||
    error instanceof Deno.errors.UnexpectedEof;
}

/** Server text made fit for a message: secrets redacted, control characters escaped. */
function safeText(text: string): string {
  return escapeControls(redactSecrets(text));
}
