/**
 * Test containers for the Docker provider's integration tests: shell scripts
 * with known signal behaviour, a readiness wait, a bounded status poll, and
 * a logger that records what the provider logs.
 *
 * @module
 */

import type { Engine } from "../_engines.ts";
import type { Logger } from "../../log.ts";

/**
 * PID 1 scripts. PID 1 ignores signals it has no handler for, so each script
 * says what it does with SIGTERM. Each prints `ready` once its traps are set.
 */
export const SCRIPTS = {
  /** Exits 0 on SIGTERM. */
  exitsOnTerm: 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done',
  /** Exits 0 on SIGHUP, ignores SIGTERM. */
  exitsOnHup: 'trap "exit 0" HUP; trap "" TERM; echo ready; while :; do sleep 0.1; done',
  /** Ignores SIGTERM: only SIGKILL ends it. */
  ignoresTerm: 'trap "" TERM; echo ready; while :; do sleep 0.1; done',
} as const;

/**
 * Waits until the container has printed `ready` (its traps are set) `times`
 * times in all, polling its logs for at most 10 s.
 *
 * @param engine The engine running the container.
 * @param id The container.
 * @param times How many runs must have printed it (1 for the first start).
 */
export async function waitUntilReady(engine: Engine, id: string, times = 1): Promise<void> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: engine.socketPath } });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await fetch(`http://engine/v1.41/containers/${id}/logs?stdout=1`, {
      client,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (text.split("ready\n").length - 1 >= times) return;
    if (Date.now() > deadline) throw new Error(`${id} did not print "ready" ${times} time(s)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Reads a value until it equals `expected`, for at most 10 s: for states the
 * engine reaches asynchronously (a killed container exiting).
 *
 * @param read Reads the value.
 * @param expected The value to wait for.
 * @returns The last value read (`expected`, unless the time ran out).
 */
export async function eventually<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One line a {@linkcode RecordingLogger} received. */
export interface LogLine {
  /** `"debug"` or `"error"`. */
  level: "debug" | "error";
  /** The message. */
  msg: string;
  /** The context object (method, path, status, ms, action, container, error). */
  context: Record<string, unknown>;
}

/** A logger that keeps every line, for assertions. */
export class RecordingLogger implements Logger {
  /** Every line so far. */
  lines: LogLine[] = [];

  debug(msg: string, context?: unknown): void {
    this.lines.push({ level: "debug", msg, context: (context ?? {}) as Record<string, unknown> });
  }

  error(msg: string, context?: unknown): void {
    this.lines.push({ level: "error", msg, context: (context ?? {}) as Record<string, unknown> });
  }

  /** The API calls logged so far, as `"<METHOD> <path> <status>"`. */
  get calls(): string[] {
    return this.lines
      .filter((line) => line.level === "debug" && typeof line.context.path === "string")
      .map((line) => `${line.context.method} ${line.context.path} ${line.context.status}`);
  }
}
