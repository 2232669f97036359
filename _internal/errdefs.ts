/**
 * The one place where a failure becomes a typed error, for every runtime
 * and the watches: what a request was doing ({@linkcode RequestContext}),
 * the words every message starts with ({@linkcode failurePrefix}), which
 * kind an answer's status means ({@linkcode kindOfStatus}), and building an
 * error of a kind ({@linkcode errorOfKind}), also to restate one error for
 * another container ({@linkcode restate}).
 *
 * Each runtime still words its own messages (dockerd's and PVE's answers
 * differ); the kinds, and so the classes a caller branches on, come from
 * here.
 *
 * @module
 */

import {
  ApiError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  ProviderError,
  type ProviderErrorOptions,
  type Runtime,
  TaskError,
  TimeoutError,
} from "../errors.ts";
import type { Logger } from "../log.ts";

/** What a request is part of, for its error messages, error fields and log lines. */
export interface RequestContext {
  /** The operation: `"start"`, `"status"`, `"watch"`, `"login"`, ... */
  action?: string;
  /** The container id, name or vmid the request is about. */
  container?: string;
  /**
   * What the request does, as read after "Cannot ": `start CT 101 on node
   * "pve"`, `GET /version`. Without it: the action's words and the
   * container, `read the status of container "web"`.
   */
  what?: string;
  /** Where the DEBUG line of each request goes; the client's logger when absent. */
  logger?: Logger;
}

/** The kinds of failure, one per error class. */
export type ErrorKind =
  | "connection"
  | "not-found"
  | "timeout"
  | "api"
  | "task"
  | "invalid-argument"
  | "provider";

/** Extra fields of the kinds that carry them. */
export interface KindFields {
  /** The HTTP status (`api`). */
  status?: number;
  /** The runtime's own message (`api`). */
  serverMessage?: string;
  /** The task's type (`task`). */
  task?: string;
  /** The task's exit status (`task`). */
  exitStatus?: string;
}

/** Words for an action in messages, where they differ from the action: `Cannot <words> container "web"`. */
const ACTION_WORDS: Readonly<Record<string, string>> = {
  status: "read the status of",
  watch: "watch",
};

/**
 * The start of every message about a failed request.
 *
 * @param context The request.
 * @returns `Cannot <what>`, for example `Cannot start container "web"`.
 */
export function failurePrefix(context: RequestContext): string {
  if (context.what !== undefined) return `Cannot ${context.what}`;
  const action = context.action ?? "";
  const words = ACTION_WORDS[action] ?? action;
  return `Cannot ${words} container ${JSON.stringify(context.container)}`;
}

/**
 * The fields every error of a request carries.
 *
 * @param runtime The runtime.
 * @param context The request.
 * @returns The runtime, the action and the container.
 */
export function errorFields(
  runtime: Runtime,
  context: RequestContext,
): { runtime: Runtime; action: string | undefined; container: string | undefined } {
  return { runtime, action: context.action, container: context.container };
}

// pve-guest-common's load_config, and qemu-server's assert_config_exists_on_node.
const CONFIG_MISSING =
  /Configuration file '[^']*' does not exist|unable to find configuration file for (VM|CT) \d+ on node/;

/** Tells whether a PVE message or task exit status says the guest's configuration does not exist. */
export function isConfigMissing(message: string): boolean {
  return CONFIG_MISSING.test(message);
}

/**
 * Which kind of failure an error answer means. dockerd and Podman: 404 is
 * "no such container". PVE: 595/596 is a node pveproxy cannot reach, and a
 * 500 whose message says the guest's configuration file does not exist is
 * "no such guest" (PVE answers 500 for most refusals). Any other non-2xx
 * answer is `api`.
 *
 * @param runtime The runtime that answered.
 * @param status The HTTP status.
 * @param serverMessage The runtime's message.
 * @returns The kind.
 */
export function kindOfStatus(runtime: Runtime, status: number, serverMessage: string): ErrorKind {
  if (runtime === "docker") return status === 404 ? "not-found" : "api";
  if (status === 595 || status === 596) return "connection";
  if (status === 500 && isConfigMissing(serverMessage)) return "not-found";
  return "api";
}

/**
 * The kind of an error; `undefined` for an error no provider made (a Deno
 * error, an abort reason).
 *
 * @param error Any error.
 * @returns Its kind.
 */
export function kindOf(error: unknown): ErrorKind | undefined {
  if (!(error instanceof ProviderError)) return undefined;
  if (error instanceof TaskError) return "task";
  if (error instanceof ApiError) return "api";
  if (error instanceof NotFoundError) return "not-found";
  if (error instanceof TimeoutError) return "timeout";
  if (error instanceof ConnectionError) return "connection";
  if (error instanceof InvalidArgumentError) return "invalid-argument";
  return "provider";
}

/**
 * Builds the error of a kind.
 *
 * @param kind The kind.
 * @param message The message.
 * @param options The context, the cause, and the fields of the kind.
 * @returns The error.
 */
export function errorOfKind(
  kind: ErrorKind,
  message: string,
  options: ProviderErrorOptions & KindFields,
): ProviderError {
  const { status, serverMessage, task, exitStatus, ...base } = options;
  switch (kind) {
    case "connection":
      return new ConnectionError(message, base);
    case "not-found":
      return new NotFoundError(message, base);
    case "timeout":
      return new TimeoutError(message, base);
    case "api":
      return new ApiError(message, { ...base, status: status ?? 0, serverMessage });
    case "task":
      return new TaskError(message, { ...base, task: task ?? "", exitStatus: exitStatus ?? "" });
    case "invalid-argument":
      return new InvalidArgumentError(message, base);
    case "provider":
      return new ProviderError(message, base);
  }
}

/**
 * Restates an error in other words and for another context, keeping its
 * kind and fields: a failure of a stream shared by several watches, told to
 * each watch about its own container. An error no provider made is a
 * {@linkcode ConnectionError} (the stream broke).
 *
 * @param error The original error; it becomes the `cause`.
 * @param message The new message.
 * @param options The new context.
 * @returns The restated error.
 */
export function restate(error: unknown, message: string, options: ProviderErrorOptions): Error {
  const fields: KindFields = {};
  if (error instanceof ApiError) {
    fields.status = error.status;
    fields.serverMessage = error.serverMessage;
  }
  if (error instanceof TaskError) {
    fields.task = error.task;
    fields.exitStatus = error.exitStatus;
  }
  return errorOfKind(kindOf(error) ?? "connection", message, {
    ...options,
    ...fields,
    cause: error,
  });
}
