/**
 * The logger interface providers write to. `console` satisfies it, and so does
 * an `@std/log` `Logger`.
 *
 * @example Log API calls to the console
 * ```ts
 * import type { Logger } from "./log.ts";
 *
 * const logger: Logger = console;
 * logger.debug("GET /_ping", { status: 200, ms: 1 });
 * ```
 *
 * @module
 */

/**
 * Where a provider reports what it does. Messages never contain credentials.
 *
 * Each call has a message and, as its one extra argument, an object of
 * context (`container`, `action`, `method`, `path`, `status`, `ms`, `error`).
 *
 * Both runtimes follow one rule. DEBUG: every API call, and every failed
 * provider call that is not an ERROR. ERROR, once per failed call, with its
 * `action`, `container` and `error`: a power call (start, stop, kill, pause,
 * unpause) that failed for any reason, and a status read that failed for any
 * reason but a missing container (a connection failure, a timeout, a refusal).
 * Never at ERROR: a status read's `NotFoundError` (an answer to branch on), an
 * `InvalidArgumentError` (thrown to the caller before any request), and a call
 * the caller ended itself, with its signal or by closing the provider.
 *
 * @example
 * ```ts
 * import type { Logger } from "./log.ts";
 *
 * const lines: string[] = [];
 * const logger: Logger = {
 *   debug: (msg) => lines.push(`debug ${msg}`),
 *   error: (msg) => lines.push(`error ${msg}`),
 * };
 * logger.error("stop failed", { container: "web" });
 * ```
 */
export interface Logger {
  /** Detail of every API call (method, path, status and milliseconds), and the failures not worth an ERROR. */
  debug(msg: string, ...args: unknown[]): unknown;
  /** A failed operation a user wants to know about, with its context. */
  error(msg: string, ...args: unknown[]): unknown;
}

/**
 * The logger used when none is given: errors go to stderr, debug is off.
 *
 * @example
 * ```ts
 * import { defaultLogger } from "./log.ts";
 *
 * defaultLogger.debug("not printed");
 * ```
 */
export const defaultLogger: Logger = {
  debug(): void {},
  error(msg: string, ...args: unknown[]): void {
    console.error(msg, ...args);
  },
};
