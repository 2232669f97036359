/**
 * Reading the runtimes' answers in the server: a runtime may send any JSON
 * shape, so each value is checked before it is used. A value of the wrong
 * type reads as absent; an instance whose answer cannot be read is skipped
 * by its runtime with one warning.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { runtimeIdOf, textOf } from "./_answers.ts";
 *
 * strictEqual(textOf({ toString: 1 }), undefined);
 * strictEqual(runtimeIdOf("4f2a9c"), "4f2a9c");
 * strictEqual(runtimeIdOf("../x"), undefined);
 * ```
 *
 * @module
 */

import { isObject } from "../_internal/json.ts";

export { isObject, shortJson } from "../_internal/json.ts";

/** A Docker or Podman container id (or name), as the server accepts one from an answer. */
const RUNTIME_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * A text field of an answer.
 *
 * @param value Any parsed JSON value.
 * @returns The string, or `undefined` for anything else.
 */
export function textOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * A container id from an answer: a short word of letters, digits, `_`, `.`
 * and `-` (Docker's and Podman's ids are 64 hexadecimal digits).
 *
 * @param value Any parsed JSON value.
 * @returns The id, or `undefined` when it is not one.
 */
export function runtimeIdOf(value: unknown): string | undefined {
  return typeof value === "string" && RUNTIME_ID.test(value) ? value : undefined;
}

/** Labels read from an answer. */
export interface ReadLabels {
  /** The labels whose value is text (own fields only; no prototype). */
  labels: Record<string, string>;
  /** The keys whose value was not text, ignored. */
  ignored: string[];
}

/**
 * Reads a label map (`Config.Labels`): only text values count.
 *
 * @param value Any parsed JSON value.
 * @returns The labels, and the keys that were ignored.
 */
export function labelsOf(value: unknown): ReadLabels {
  const labels: Record<string, string> = Object.create(null);
  const ignored: string[] = [];
  if (!isObject(value)) return { labels, ignored };
  for (const [key, label] of Object.entries(value)) {
    if (typeof label === "string") labels[key] = label;
    else ignored.push(key);
  }
  return { labels, ignored };
}
