/**
 * The built-in themes, by name.
 *
 * @module
 */

import { GHOST } from "./_ghost.ts";
import { HACKER_TERMINAL } from "./_hacker_terminal.ts";
import { MATRIX } from "./_matrix.ts";
import { SHUFFLE } from "./_shuffle.ts";

/** The built-in templates, by theme name. */
export const BUILT_IN_THEMES: Readonly<Record<string, string>> = {
  "ghost": GHOST,
  "hacker-terminal": HACKER_TERMINAL,
  "matrix": MATRIX,
  "shuffle": SHUFFLE,
};
