/**
 * Where the lines of a shared Docker events stream are logged. Providers on
 * one client share the stream, each with a logger of its own, so the stream
 * has no logger of its own: each line goes to the loggers of the watches it
 * concerns.
 *
 * - A watch's own requests (the inspection that starts it) are logged to its
 *   provider's logger only.
 * - The stream's own lines (connecting, losing the stream, replaying a gap)
 *   go to the loggers of the watches attached at that moment, each logger
 *   once however many of its watches are attached. A provider's logger thus
 *   gets nothing more once its watches ended (it was closed), and a line
 *   logged when no watch is attached (the stream being torn down) goes
 *   nowhere.
 * - The inspection of a container after a drop goes to the loggers of the
 *   watches of that container.
 *
 * @module
 */

import type { Logger } from "../../log.ts";

/** A logger that writes each line to a changing set of loggers, each once. */
export class WatchLoggers implements Logger {
  /** Each logger, with how many watches log to it. */
  #counts = new Map<Logger, number>();

  /**
   * Adds a watch's logger.
   *
   * @param logger The logger; added again, it is still written to once.
   */
  add(logger: Logger): void {
    this.#counts.set(logger, (this.#counts.get(logger) ?? 0) + 1);
  }

  /**
   * Removes a watch's logger: it is no longer written to once each `add` of
   * it was matched by a `delete`.
   *
   * @param logger The logger.
   */
  delete(logger: Logger): void {
    const count = this.#counts.get(logger);
    if (count === undefined) return;
    if (count > 1) this.#counts.set(logger, count - 1);
    else this.#counts.delete(logger);
  }

  debug(msg: string, ...args: unknown[]): void {
    for (const logger of this.#counts.keys()) logger.debug(msg, ...args);
  }

  error(msg: string, ...args: unknown[]): void {
    for (const logger of this.#counts.keys()) logger.error(msg, ...args);
  }
}
