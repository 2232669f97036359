/**
 * The placeholder syntax of loading pages: `{{name}}` (spaces inside the
 * braces allowed), replaced by a value the server computes and escapes. There
 * is nothing else: no loops, no conditions, no expressions, so a theme file
 * can never run code in the server.
 *
 * @module
 */

/** The values a page can show, by placeholder name. */
export interface PageValues {
  /** The display name, HTML-escaped. */
  displayName: string;
  /** The instance list as HTML, or empty when details are hidden. */
  instancesHtml: string;
  /** Whole seconds between two refreshes of the page, at least 1. */
  refreshSeconds: string;
  /** The session duration in words, such as `5 minutes`. */
  sessionDuration: string;
  /** How many instances are ready. */
  readyCount: string;
  /** How many instances the page is about. */
  instanceCount: string;
  /** The overall status: `ready`, `not-ready` or `error`. */
  status: string;
}

/** Every placeholder name, with the Go-template spellings Sablier's themes use. */
const NAMES: ReadonlyMap<string, keyof PageValues> = new Map<string, keyof PageValues>([
  ["displayName", "displayName"],
  ["instancesHtml", "instancesHtml"],
  ["refreshSeconds", "refreshSeconds"],
  ["sessionDuration", "sessionDuration"],
  ["readyCount", "readyCount"],
  ["instanceCount", "instanceCount"],
  ["status", "status"],
  [".DisplayName", "displayName"],
  [".RefreshFrequency", "refreshSeconds"],
  [".SessionDuration", "sessionDuration"],
]);

/** The placeholder names a theme may use, for error messages and docs. */
export const PLACEHOLDERS: readonly string[] = [...NAMES.keys()].filter((name) =>
  !name.startsWith(".")
);

/** A theme split once into fixed text and the placeholders between. */
export interface CompiledTemplate {
  /** The fixed text; one more entry than `slots`. */
  readonly texts: readonly string[];
  /** The value to put after each text but the last. */
  readonly slots: readonly (keyof PageValues)[];
}

/**
 * Splits a theme into text and placeholders.
 *
 * @param source The theme's HTML.
 * @returns The compiled template.
 * @throws {SyntaxError} When a `{{` does not open a known placeholder; the
 * message names it and the line it is on.
 */
export function compileTemplate(source: string): CompiledTemplate {
  const texts: string[] = [];
  const slots: (keyof PageValues)[] = [];
  let from = 0;
  while (true) {
    const open = source.indexOf("{{", from);
    if (open < 0) break;
    const close = source.indexOf("}}", open + 2);
    const inner = close < 0 ? source.slice(open + 2, open + 40) : source.slice(open + 2, close);
    const name = inner.trim();
    const slot = close < 0 ? undefined : NAMES.get(name);
    if (slot === undefined) {
      const line = source.slice(0, open).split("\n").length;
      const shown = JSON.stringify(`{{${inner.slice(0, 40)}${close < 0 ? "" : "}}"}`);
      throw new SyntaxError(
        `Unknown placeholder ${shown} on line ${line}: a theme may use only ` +
          PLACEHOLDERS.map((known) => `{{${known}}}`).join(", "),
      );
    }
    texts.push(source.slice(from, open));
    slots.push(slot);
    from = close + 2;
  }
  texts.push(source.slice(from));
  return { texts, slots };
}

/**
 * Fills a compiled template.
 *
 * @param template The compiled theme.
 * @param values The escaped values.
 * @returns The page.
 */
export function fillTemplate(template: CompiledTemplate, values: PageValues): string {
  let page = template.texts[0];
  for (let index = 0; index < template.slots.length; index++) {
    page += values[template.slots[index]] + template.texts[index + 1];
  }
  return page;
}
