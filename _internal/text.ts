/**
 * Text from servers, made safe to print: control characters (C0, DEL and
 * C1, which include CR, LF, ESC, BEL and NUL) become visible escapes, so a
 * daemon's or PVE's message can neither move the cursor nor forge a log line.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { escapeControls } from "./text.ts";
 *
 * strictEqual(escapeControls("no\x1b[2J\r\nway\x07"), "no\\x1b[2J\\r\\nway\\x07");
 * ```
 *
 * @module
 */

// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Replaces each control character with its escape (`\n`, `\r`, `\t`, else `\xHH`).
 *
 * @param text Any text.
 * @returns The text with no control character left.
 */
export function escapeControls(text: string): string {
  return text.replace(
    CONTROLS,
    (char) => NAMED[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
