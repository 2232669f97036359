/**
 * The one rule both providers follow when a call fails: which failures a
 * user is told about at ERROR, and which only show at DEBUG.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { messageOf } from "./message.ts";

/** The call that failed. */
export interface FailedCall {
  /** The operation: `"start"`, `"stop"`, `"kill"`, `"pause"`, `"unpause"` or `"status"`. */
  action: string;
  /** The container id, name or vmid. */
  container: string;
  /** The caller ended the call: its signal aborted, or it closed the provider. */
  cancelled: boolean;
}

/**
 * Logs a failed provider call once. At ERROR: a power call that failed for
 * any reason, and a status read that failed for any reason but a missing
 * container. At DEBUG only: a status read's {@linkcode NotFoundError} (an
 * answer the caller branches on), an {@linkcode InvalidArgumentError} (the
 * caller's own mistake, thrown to it), and a call the caller cancelled.
 *
 * @param logger Where to log.
 * @param error What the call rejects with.
 * @param call The operation and whether the caller ended it.
 *
 * @example A missing container's status is not an ERROR
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { logFailure } from "./log_failure.ts";
 * import { NotFoundError } from "../errors.ts";
 *
 * const levels: string[] = [];
 * const logger = { debug: () => levels.push("debug"), error: () => levels.push("error") };
 * const gone = new NotFoundError("No such container: web");
 * logFailure(logger, gone, { action: "status", container: "web", cancelled: false });
 * logFailure(logger, gone, { action: "start", container: "web", cancelled: false });
 * deepStrictEqual(levels, ["debug", "error"]);
 * ```
 */
export function logFailure(logger: Logger, error: unknown, call: FailedCall): void {
  const { action, container, cancelled } = call;
  const context = { action, container, error };
  if (cancelled) {
    logger.debug(
      `${action} of container ${JSON.stringify(container)}: ended by the caller`,
      context,
    );
    return;
  }
  const message = messageOf(error);
  const expected = error instanceof InvalidArgumentError ||
    (action === "status" && error instanceof NotFoundError);
  if (expected) logger.debug(message, context);
  else logger.error(message, context);
}
