/**
 * Reading parsed JSON from servers: a server may send any shape, so code
 * that reads an answer checks each value's type before it uses it, and
 * shows a value it did not expect in a short, printable form.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { isObject, shortJson } from "./json.ts";
 *
 * strictEqual(isObject(JSON.parse('{"data": 1}')), true);
 * strictEqual(isObject(JSON.parse("[1]")), false);
 * strictEqual(shortJson({ toString: 1 }), '{"toString":1}');
 * ```
 *
 * @module
 */

/**
 * Tells whether a parsed JSON value is an object: not `null`, not an array.
 *
 * @param value Any parsed JSON value.
 * @returns Whether it is an object, whose fields may be read.
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The longest JSON text {@linkcode shortJson} keeps. */
const SHORT = 100;

/**
 * A parsed JSON value for a message: its JSON text, cut at 100 characters.
 * Unlike `String(value)`, it never throws (`String({"toString": 1})` does).
 *
 * @param value Any parsed JSON value.
 * @returns Its JSON text, shortened.
 */
export function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > SHORT ? `${text.slice(0, SHORT)}...` : text;
}
