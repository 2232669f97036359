/**
 * Text the CLI prints that may hold a runtime's words (container names,
 * event attributes, error messages, log lines), made safe for a terminal:
 * no control character reaches it raw, so a daemon cannot move the cursor,
 * retitle the window or forge a line of output.
 *
 * The library escapes the messages of its errors itself; the CLI uses only
 * the public API, and escapes everything it prints from a runtime here,
 * errors included (an error may come from elsewhere, and its causes are
 * printed with `--verbose`).
 *
 * @module
 */

// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Replaces each control character (C0, DEL, C1: NUL, BEL, ESC, CR, LF, CSI,
 * ...) with a visible escape: `\n`, `\r`, `\t`, else `\xHH`.
 *
 * @param text Any text.
 * @returns The text without a control character, for one line of output.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { printable } from "./_text.ts";
 *
 * strictEqual(printable("web\x1b]0;owned\x07\r\nforged"), "web\\x1b]0;owned\\x07\\r\\nforged");
 * ```
 */
export function printable(text: string): string {
  return text.replace(
    CONTROLS,
    (char) => NAMED[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * Several lines, each made {@linkcode printable}: for multi-line text of the
 * CLI's own (a stack with its causes), whose line breaks are meant.
 *
 * @param text Lines separated by `\n`.
 * @returns The same lines, each without a control character.
 */
export function printableLines(text: string): string {
  return text.split("\n").map(printable).join("\n");
}

// JSON.stringify escapes C0 but leaves DEL, C1 and the two JSON-only line
// separators raw; JSON allows `\uXXXX` for any of them.
const UNESCAPED_BY_JSON = /[\x7f-\x9f\u2028\u2029]/g;

/**
 * `JSON.stringify(value)` with DEL, the C1 controls, U+2028 and U+2029 written
 * as `\uXXXX` too: still the same JSON, and no raw control character for a
 * terminal that shows it.
 *
 * @param value A JSON value.
 * @returns One line of JSON text.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { jsonLine } from "./_text.ts";
 *
 * strictEqual(jsonLine({ name: "a\x9b2Jb" }), '{"name":"a\\u009b2Jb"}');
 * strictEqual(JSON.parse(jsonLine({ name: "a\x9b2Jb" })).name, "a\x9b2Jb");
 * ```
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    UNESCAPED_BY_JSON,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
