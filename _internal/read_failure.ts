/**
 * Why a file the caller named could not be read, in words, and the flag
 * that fixes a missing permission. Messages name the file, never its
 * content.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { readFailure } from "./read_failure.ts";
 *
 * deepStrictEqual(readFailure(new Deno.errors.NotFound("gone"), "/etc/ca.pem"), {
 *   reason: "no such file",
 *   fix: undefined,
 * });
 * ```
 *
 * @module
 */

/** A failed read, for an error's message and `fix`. */
export interface ReadFailure {
  /** Why: `no such file`, `missing permission`, `permission denied by the operating system`, or the error's message. */
  reason: string;
  /** `run with --allow-read=PATH` when Deno's permissions denied the read. */
  fix: string | undefined;
}

/**
 * Words a failed read of `path`.
 *
 * @param error What the read threw.
 * @param path The file.
 * @returns The reason and, for a missing permission, its fix.
 */
export function readFailure(error: unknown, path: string): ReadFailure {
  const reason = error instanceof Deno.errors.NotFound
    ? "no such file"
    : error instanceof Deno.errors.NotCapable
    ? "missing permission"
    : error instanceof Deno.errors.PermissionDenied
    ? "permission denied by the operating system"
    : error instanceof Error
    ? error.message
    : String(error);
  const fix = error instanceof Deno.errors.NotCapable ? `run with --allow-read=${path}` : undefined;
  return { reason, fix };
}
