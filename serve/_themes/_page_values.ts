/**
 * Turns a loading page's data into escaped placeholder values, and keeps the
 * page under the size Sablier's nginx integration can buffer.
 *
 * @module
 */

import type { PageValues } from "./_template.ts";

/** One instance as the page shows it. */
export interface LoadingPageInstance {
  /** The instance's name. */
  name: string;
  /** Its state. */
  status: "ready" | "not-ready" | "error";
  /** Why it failed, when `status` is `error`. */
  error?: string;
}

/** What a loading page is about. */
export interface LoadingPageData {
  /** The name shown in the heading; empty means "your service". */
  displayName: string;
  /** The instances, in the order asked for. */
  instances: LoadingPageInstance[];
  /** Whether to list the instances. */
  showDetails: boolean;
  /** Milliseconds between two refreshes. */
  refreshFrequencyMs: number;
  /** The session duration, in milliseconds. */
  sessionDurationMs: number;
}

/**
 * The largest page in bytes: Sablier's nginx integration buffers the
 * subrequest's body in 32 KiB; 1 KiB is left for what a proxy may add.
 */
export const PAGE_LIMIT = 31 * 1024;
/** The most instances a page lists; the rest are counted. */
export const MAX_LISTED = 50;
/** The longest display name shown, in characters. */
export const MAX_DISPLAY_NAME = 200;
const MAX_NAME = 128;
const MAX_ERROR = 240;

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and quoted attributes, after removing the
 * control characters a terminal or browser could act on.
 *
 * @param text Any text.
 * @returns The text, safe between tags and in quoted attribute values.
 */
export function escapeHtml(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "")
    .replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

function cut(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

/**
 * Says a duration in words, with its two largest units: `5 minutes`,
 * `1 hour 30 minutes`, `2 days 3 hours`.
 *
 * @param ms The duration, in milliseconds.
 * @returns The words.
 */
export function durationInWords(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return "less than a second";
  let seconds = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [["day", 86_400], ["hour", 3_600], ["minute", 60], ["second", 1]]) {
    const count = Math.floor(seconds / (size as number));
    seconds -= count * (size as number);
    if (count > 0 || parts.length > 0) parts.push(count > 0 ? plural(count, unit as string) : "");
  }
  return parts.slice(0, 2).filter((part) => part !== "").join(" ");
}

const STATUS_TEXT: Readonly<Record<LoadingPageInstance["status"], string>> = {
  "ready": "ready",
  "not-ready": "starting",
  "error": "failed",
};

/**
 * The instance list as HTML: `<ul class="iw-instances">` with one
 * `<li class="iw-instance iw-is-STATUS">` (`ready`, `not-ready`, `error`) for
 * each of the first `shown` instances, holding `<span class="iw-name">`,
 * `<span class="iw-status">` and, on failure, `<span class="iw-reason">`; then a
 * `<li class="iw-more">` counting the rest.
 *
 * @param instances The instances.
 * @param shown How many to list.
 * @returns The list.
 */
export function instancesHtml(instances: readonly LoadingPageInstance[], shown: number): string {
  const items: string[] = [];
  for (const instance of instances.slice(0, shown)) {
    const state = Object.hasOwn(STATUS_TEXT, instance.status) ? instance.status : "not-ready";
    const error = state === "error" && instance.error
      ? `<span class="iw-reason">${escapeHtml(cut(instance.error, MAX_ERROR))}</span>`
      : "";
    items.push(
      `<li class="iw-instance iw-is-${state}">` +
        `<span class="iw-name">${escapeHtml(cut(instance.name, MAX_NAME))}</span>` +
        `<span class="iw-status">${STATUS_TEXT[state]}</span>${error}</li>`,
    );
  }
  const rest = instances.length - Math.min(shown, instances.length);
  if (rest > 0) items.push(`<li class="iw-more">and ${plural(rest, "more instance")}</li>`);
  return `<ul class="iw-instances">${items.join("")}</ul>`;
}

function overallStatus(instances: readonly LoadingPageInstance[]): PageValues["status"] {
  if (instances.some((instance) => instance.status === "error")) return "error";
  return instances.every((instance) => instance.status === "ready") ? "ready" : "not-ready";
}

/**
 * The escaped values for a page, with `shown` instances listed.
 *
 * @param data The page's data.
 * @param shown How many instances to list; ignored when details are hidden.
 * @returns The values.
 */
export function pageValues(data: LoadingPageData, shown: number): PageValues {
  const name = data.displayName.trim();
  const ready = data.instances.filter((instance) => instance.status === "ready").length;
  const refresh = Number.isFinite(data.refreshFrequencyMs)
    ? Math.max(1, Math.round(data.refreshFrequencyMs / 1000))
    : 5;
  return {
    displayName: name === "" ? "your service" : escapeHtml(cut(name, MAX_DISPLAY_NAME)),
    instancesHtml: data.showDetails && data.instances.length > 0
      ? instancesHtml(data.instances, shown)
      : "",
    refreshSeconds: String(refresh),
    sessionDuration: durationInWords(data.sessionDurationMs),
    readyCount: String(ready),
    instanceCount: String(data.instances.length),
    status: overallStatus(data.instances),
  };
}

/**
 * The size of a page in UTF-8 bytes, counted only when it could exceed the limit.
 *
 * @param page The page.
 * @returns Whether it is at most {@linkcode PAGE_LIMIT} bytes.
 */
export function fitsLimit(page: string): boolean {
  if (page.length * 3 <= PAGE_LIMIT) return true;
  return new TextEncoder().encode(page).length <= PAGE_LIMIT;
}
