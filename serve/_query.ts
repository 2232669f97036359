/**
 * The strategies' query parameters, read as Sablier reads them, except that
 * an empty value always means the default: Sablier's nginx integration sends
 * every unset variable as an empty value.
 *
 * @module
 */

import { parseGoDuration } from "./_duration.ts";

/** The longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 8192;
/** The most names one request may list. */
export const MAX_NAMES = 100;
/** The longest name, group, theme or display name. */
export const MAX_VALUE_LENGTH = 256;

/** A query that cannot be served: answered 400. */
export class ValidationError extends Error {
  /**
   * @param message What is wrong, for the person who wrote the query.
   */
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
}

/** What both strategies read. */
export interface TargetQuery {
  /** The `names` entries, empty ones left out. */
  names: string[];
  /** The `group`, when given. */
  group?: string;
  /** The session's duration, in ms. */
  sessionMs: number;
}

/** The dynamic strategy's parameters. */
export interface DynamicQuery extends TargetQuery {
  /** The page's title; empty for the default. */
  displayName: string;
  /** The theme's name. */
  theme: string;
  /** How often the page reloads, in ms. */
  refreshMs: number;
  /** Whether the page lists the instances. */
  showDetails: boolean;
}

/** The blocking strategy's parameters. */
export interface BlockingQuery extends TargetQuery {
  /** How long to wait for ready, in ms. */
  timeoutMs: number;
}

/** The server's defaults for parameters left out or empty. */
export interface QueryDefaults {
  /** `session_duration`, in ms. */
  sessionMs: number;
  /** `refresh_frequency`, in ms. */
  refreshMs: number;
  /** `timeout`, in ms. */
  timeoutMs: number;
  /** `show_details`. */
  showDetails: boolean;
  /** `theme`. */
  theme: string;
}

/**
 * Reads the dynamic strategy's query.
 *
 * @param params The query.
 * @param defaults The server's defaults.
 * @returns The parameters.
 * @throws {ValidationError} For a bad value.
 */
export function parseDynamicQuery(params: URLSearchParams, defaults: QueryDefaults): DynamicQuery {
  return {
    ...targets(params, defaults),
    displayName: text(params, "display_name") ?? "",
    theme: text(params, "theme") ?? defaults.theme,
    refreshMs: duration(params, "refresh_frequency", defaults.refreshMs),
    showDetails: bool(params, "show_details", defaults.showDetails),
  };
}

/**
 * Reads the blocking strategy's query (`refresh_frequency`, sent by some
 * plugins, is read and ignored).
 *
 * @param params The query.
 * @param defaults The server's defaults.
 * @returns The parameters.
 * @throws {ValidationError} For a bad value.
 */
export function parseBlockingQuery(
  params: URLSearchParams,
  defaults: QueryDefaults,
): BlockingQuery {
  return {
    ...targets(params, defaults),
    timeoutMs: duration(params, "timeout", defaults.timeoutMs),
  };
}

function targets(params: URLSearchParams, defaults: QueryDefaults): TargetQuery {
  const names = params.getAll("names").filter((name) => name !== "");
  if (names.length > MAX_NAMES) {
    throw new ValidationError(`Too many names: ${names.length} (at most ${MAX_NAMES})`);
  }
  for (const name of names) checkLength("names", name);
  const group = text(params, "group");
  if (names.length > 0 && group !== undefined) {
    throw new ValidationError(
      "'names' and 'group' query parameters are both set, only one must be set",
    );
  }
  if (names.length === 0 && group === undefined) {
    throw new ValidationError("'names' or 'group' query parameter must be set");
  }
  return { names, group, sessionMs: duration(params, "session_duration", defaults.sessionMs) };
}

/** The first non-empty value of `key`, checked for length; `undefined` when none. */
function text(params: URLSearchParams, key: string): string | undefined {
  const value = params.getAll(key).find((entry) => entry !== "");
  if (value !== undefined) checkLength(key, value);
  return value;
}

function checkLength(key: string, value: string): void {
  if (value.length > MAX_VALUE_LENGTH) {
    throw new ValidationError(
      `The value of '${key}' is too long (at most ${MAX_VALUE_LENGTH} characters)`,
    );
  }
}

function duration(params: URLSearchParams, key: string, fallback: number): number {
  const value = text(params, key);
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch (error) {
    throw new ValidationError(`'${key}': ${(error as Error).message}`);
  }
  if (!(ms > 0)) {
    throw new ValidationError(`'${key}' must be a positive duration, such as 30s or 5m`);
  }
  return ms;
}

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** A boolean as Go's `strconv.ParseBool` reads it. */
function bool(params: URLSearchParams, key: string, fallback: boolean): boolean {
  const value = text(params, key);
  if (value === undefined) return fallback;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new ValidationError(
    `'${key}' must be true or false, not ${JSON.stringify(value.slice(0, 32))}`,
  );
}
