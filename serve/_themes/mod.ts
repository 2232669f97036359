/**
 * The loading pages `idlewatcher serve` shows while instances wake: four
 * built-in themes named as Sablier's (`hacker-terminal`, the default, `ghost`,
 * `matrix`, `shuffle`) and custom themes read from a directory.
 *
 * A custom theme is a `NAME.html` file. It may use these placeholders, written
 * `{{name}}` (spaces inside the braces allowed), and nothing else:
 *
 * | Placeholder | Value |
 * | --- | --- |
 * | `{{displayName}}` | The `display_name` asked for, or `your service` |
 * | `{{instancesHtml}}` | A `<ul class="iw-instances">` list when `show_details`, else empty |
 * | `{{refreshSeconds}}` | Seconds between refreshes, for `<meta http-equiv="refresh">` |
 * | `{{sessionDuration}}` | The session duration in words, such as `5 minutes` |
 * | `{{readyCount}}`, `{{instanceCount}}` | How many instances are ready, of how many |
 * | `{{status}}` | `ready`, `not-ready` or `error`, for a CSS class |
 *
 * Sablier's `{{ .DisplayName }}`, `{{ .RefreshFrequency }}` and
 * `{{ .SessionDuration }}` are read too. Every value is HTML-escaped; nothing in
 * a theme is ever run. The list's items are
 * `<li class="iw-instance iw-is-ready|iw-is-not-ready|iw-is-error">` holding
 * `<span class="iw-name">`, `<span class="iw-status">` and, on failure,
 * `<span class="iw-reason">`; past 50 instances, or when the page would exceed
 * 31 KiB, a `<li class="iw-more">` counts the rest.
 *
 * @example Render the default theme
 * ```ts
 * import { DEFAULT_THEME, ThemeRegistry } from "./mod.ts";
 *
 * const themes = await ThemeRegistry.load();
 * const page = themes.render(DEFAULT_THEME, {
 *   displayName: "Wiki",
 *   instances: [{ name: "wiki", status: "not-ready" }],
 *   showDetails: true,
 *   refreshFrequencyMs: 5_000,
 *   sessionDurationMs: 300_000,
 * });
 * console.log(page.includes('content="5"')); // true
 * ```
 *
 * @module
 */

import { type CompiledTemplate, compileTemplate, fillTemplate } from "./_template.ts";
import {
  fitsLimit,
  type LoadingPageData,
  MAX_DISPLAY_NAME,
  MAX_LISTED,
  PAGE_LIMIT,
  pageValues,
} from "./_page_values.ts";
import { BUILT_IN_THEMES } from "./_built_in.ts";

export type { LoadingPageData, LoadingPageInstance } from "./_page_values.ts";
export { PLACEHOLDERS } from "./_template.ts";

/** The theme used when a request names none. */
export const DEFAULT_THEME = "hacker-terminal";
/** The largest custom theme file, in bytes. */
export const MAX_THEME_FILE = 24 * 1024;
const THEME_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A custom theme that cannot be used; the server refuses to start with it. */
export class ThemeLoadError extends Error {
  /** The theme file. */
  readonly file: string;

  /**
   * Makes the error, its message naming the file.
   *
   * @param file The theme file.
   * @param message Why it cannot be used.
   * @param options The underlying error, if any.
   */
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`Cannot load theme ${JSON.stringify(file)}: ${message}`, options);
    this.name = "ThemeLoadError";
    this.file = file;
  }
}

/** Options for {@linkcode ThemeRegistry.load}. */
export interface ThemeLoadOptions {
  /**
   * A directory of custom `NAME.html` themes (not searched recursively). A
   * custom theme named as a built-in one replaces it.
   * @default {undefined} (built-in themes only)
   */
  dir?: string;
  /**
   * Abandons the loading.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** The largest page a theme can make with no instance listed. */
function worstCaseFits(template: CompiledTemplate): boolean {
  const values = pageValues({
    displayName: "&".repeat(MAX_DISPLAY_NAME),
    instances: Array.from({ length: 10_000 }, () => ({ name: "x", status: "not-ready" })),
    showDetails: true,
    refreshFrequencyMs: 1e12,
    sessionDurationMs: 1e15,
  }, 0);
  return fitsLimit(fillTemplate(template, values));
}

async function readCustomThemes(
  dir: string,
  signal: AbortSignal | undefined,
): Promise<Map<string, CompiledTemplate>> {
  const themes = new Map<string, CompiledTemplate>();
  const root = await Deno.realPath(dir);
  const files: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.name.endsWith(".html") && !entry.isDirectory) files.push(entry.name);
  }
  for (const file of files.sort()) {
    signal?.throwIfAborted();
    const path = `${root}/${file}`;
    const name = file.slice(0, -".html".length);
    if (!THEME_NAME.test(name)) {
      throw new ThemeLoadError(path, "a theme name is 1 to 64 letters, digits, '-' or '_'");
    }
    const real = await Deno.realPath(path);
    if (!real.startsWith(`${root}/`)) {
      throw new ThemeLoadError(path, "it links outside the themes directory");
    }
    const info = await Deno.stat(real);
    if (!info.isFile) continue;
    if (info.size > MAX_THEME_FILE) {
      throw new ThemeLoadError(path, `it is over ${MAX_THEME_FILE / 1024} KiB`);
    }
    const source = await Deno.readTextFile(real, { signal });
    let template: CompiledTemplate;
    try {
      template = compileTemplate(source);
    } catch (error) {
      throw new ThemeLoadError(path, (error as Error).message, { cause: error });
    }
    if (!worstCaseFits(template)) {
      throw new ThemeLoadError(path, `its page could exceed ${PAGE_LIMIT / 1024} KiB`);
    }
    themes.set(name, template);
  }
  return themes;
}

/**
 * The themes a server can render, built-in and custom, each compiled once.
 *
 * @example List the built-in themes
 * ```ts
 * import { ThemeRegistry } from "./mod.ts";
 *
 * const themes = await ThemeRegistry.load();
 * console.log(themes.names()); // ["ghost", "hacker-terminal", "matrix", "shuffle"]
 * ```
 */
export class ThemeRegistry {
  #themes: Map<string, CompiledTemplate>;

  private constructor(themes: Map<string, CompiledTemplate>) {
    this.#themes = themes;
  }

  /**
   * Compiles the built-in themes and reads the custom ones.
   *
   * @param options Where custom themes are, and a signal.
   * @returns The registry.
   * @throws {ThemeLoadError} When a custom theme uses an unknown placeholder,
   * is too large, has a bad name or links outside its directory.
   * @throws {Deno.errors.NotFound} When the directory does not exist.
   */
  static async load(options: ThemeLoadOptions = {}): Promise<ThemeRegistry> {
    options.signal?.throwIfAborted();
    const themes = new Map<string, CompiledTemplate>();
    for (const [name, source] of Object.entries(BUILT_IN_THEMES)) {
      themes.set(name, compileTemplate(source));
    }
    if (options.dir !== undefined) {
      for (const [name, template] of await readCustomThemes(options.dir, options.signal)) {
        themes.set(name, template);
      }
    }
    return new ThemeRegistry(themes);
  }

  /**
   * The theme names, sorted.
   *
   * @returns The names.
   */
  names(): string[] {
    return [...this.#themes.keys()].sort();
  }

  /**
   * Whether a theme exists.
   *
   * @param name A theme name.
   * @returns Whether {@linkcode ThemeRegistry.render} can use it.
   */
  has(name: string): boolean {
    return this.#themes.has(name);
  }

  /**
   * Renders a loading page: at most 31 KiB, every value escaped, the instance
   * list shortened (with a count of the rest) when it would not fit.
   *
   * @param name The theme.
   * @param data What the page is about.
   * @returns The page's HTML.
   * @throws {RangeError} When the theme does not exist.
   */
  render(name: string, data: LoadingPageData): string {
    const template = this.#themes.get(name);
    if (template === undefined) {
      throw new RangeError(`Unknown theme ${JSON.stringify(name.slice(0, 64))}`);
    }
    let shown = data.showDetails ? Math.min(data.instances.length, MAX_LISTED) : 0;
    while (true) {
      const page = fillTemplate(template, pageValues(data, shown));
      if (shown === 0 || fitsLimit(page)) return page;
      shown = Math.floor(shown / 2);
    }
  }
}
