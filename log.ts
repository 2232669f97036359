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
 * Formats an ERROR call as one line: the runtime, the action and the
 * container (from the context, or its `error`), then what failed and the fix.
 * No stack and no cause: for those, use `console` (or an `@std/log` logger)
 * as the logger.
 *
 * @param msg The log message.
 * @param args The log call's context object, if any.
 * @returns One line, without a newline.
 *
 * @example
 * ```ts
 * import { formatErrorLine } from "./log.ts";
 * import { ConnectionError } from "./errors.ts";
 *
 * const error = new ConnectionError("Cannot start container \"web\": connection refused", {
 *   runtime: "docker",
 *   fix: "start the daemon",
 * });
 * const line = formatErrorLine(error.message, [{ action: "start", container: "web", error }]);
 * console.log(line);
 * // ERROR docker start web: Cannot start container "web": connection refused (fix: start the daemon)
 * ```
 */
export function formatErrorLine(msg: string, args: readonly unknown[]): string {
  const context = (typeof args[0] === "object" && args[0] !== null ? args[0] : {}) as {
    action?: unknown;
    container?: unknown;
    runtime?: unknown;
    error?: unknown;
  };
  const error = context.error as
    | { runtime?: unknown; action?: unknown; container?: unknown; reason?: unknown; fix?: unknown }
    | undefined;
  const field = (name: "runtime" | "action" | "container"): string | undefined => {
    const value = context[name] ?? (typeof error === "object" ? error?.[name] : undefined);
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const fix = typeof error === "object" && typeof error?.fix === "string" ? error.fix : undefined;
  const reason = fix !== undefined && typeof error?.reason === "string" ? error.reason : msg;
  const where = [field("runtime"), field("action"), field("container")]
    .filter((part) => part !== undefined).join(" ");
  const line = `ERROR ${where === "" ? "" : `${where}: `}${reason}${
    fix === undefined ? "" : ` (fix: ${fix})`
  }`;
  return line.replace(/\s*[\r\n]+\s*/g, " ");
}

/**
 * The logger used when none is given: each ERROR is one line on stderr (see
 * {@linkcode formatErrorLine}), debug is off.
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
    console.error(formatErrorLine(msg, args));
  },
};

/**
 * A logger that prints nothing, for a program that handles every error
 * itself.
 *
 * @example Read a status without a word on stderr, whatever happens
 * ```ts
 * import { silentLogger } from "./log.ts";
 * import { newDockerProvider } from "./docker/mod.ts";
 *
 * using provider = newDockerProvider(
 *   { socketPath: "/nonexistent/docker.sock", logger: silentLogger },
 *   "web",
 * );
 * const status = await provider.containerStatus().catch(() => "unknown");
 * console.log(status); // "unknown", and nothing on stderr
 * ```
 */
export const silentLogger: Logger = {
  debug(): void {},
  error(): void {},
};
