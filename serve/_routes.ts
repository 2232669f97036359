/**
 * The HTTP API, as Sablier's: `/api/strategies/dynamic`,
 * `/api/strategies/blocking`, `/api/themes` (and `/api/dynamic/themes`),
 * `/health` and `/metrics`. Every refusal is a problem+json answer; a
 * refused request never reaches a runtime.
 *
 * @module
 */

import { formatGoDuration } from "./_duration.ts";
import type { IdleEngine } from "./_engine.ts";
import { AmbiguousInstanceError, UnknownGroupError, UnknownInstanceError } from "./_errors.ts";
import { messageOf } from "../_internal/message.ts";
import type { ServeLogger } from "./_model.ts";
import { type Problem, problem, problemResponse } from "./_problem.ts";
import {
  type DynamicQuery,
  MAX_QUERY_LENGTH,
  parseBlockingQuery,
  parseDynamicQuery,
  type QueryDefaults,
  ValidationError,
} from "./_query.ts";
import { isSessionReady, sessionResponse, type Target } from "./_session_state.ts";
import type { LoadingPageData, ThemeRegistry } from "./_themes/mod.ts";

/** How often a blocking wait checks whether its client left. */
const DISCONNECT_CHECK_MS = 250;

/** The header both plugins read. */
export const SESSION_STATUS_HEADER = "X-Sablier-Session-Status";

/** What the routes work with. */
export interface RoutesOptions {
  /** The engine. */
  engine: IdleEngine;
  /** The loading-page themes. */
  themes: ThemeRegistry;
  /** The defaults of empty or missing parameters. */
  defaults: QueryDefaults;
  /** Where to report. */
  logger: ServeLogger;
  /** Aborts when the server drains: `/health` turns 503. */
  draining: AbortSignal;
  /** Aborts when the drain's grace period ends: blocking waits end with 503. */
  cancelWaits: AbortSignal;
}

/** A request handler; it answers the ready path without a promise. */
export type Handler = (request: Request) => Response | Promise<Response>;

/**
 * Builds the handler of the whole API.
 *
 * @param options The engine, the themes, the defaults and the drain signal.
 * @returns The handler.
 */
export function createHandler(options: RoutesOptions): Handler {
  const { engine, themes, defaults, logger, draining, cancelWaits } = options;
  const metrics = engine.metrics;
  const pages = new PageCache(themes);
  const render = (theme: string, data: LoadingPageData) => pages.render(theme, data);

  const dynamic = (params: URLSearchParams, instance: string): Response | Promise<Response> => {
    const query = parseDynamicQuery(params, defaults);
    if (!themes.has(query.theme)) {
      return problemResponse(
        problem(404, "theme-not-found", {
          title: "Theme not found",
          detail: `The theme ${JSON.stringify(query.theme)} does not exist. Available themes: ${
            themes.names().join(", ")
          }.`,
          extra: { requestTheme: query.theme, availableThemes: themes.names() },
        }),
        instance,
      );
    }
    const targets = resolve(engine, query);
    const writing = engine.request(targets, query.sessionMs);
    return writing === undefined
      ? loadingPage(query, targets)
      : writing.then(() => loadingPage(query, targets));
  };

  const loadingPage = (query: DynamicQuery, targets: readonly Target[]): Response => {
    const data: LoadingPageData = {
      displayName: query.displayName,
      instances: targets.map(({ instance }) => {
        const state = instance.apiStatus();
        return state.status === "ready"
          ? { name: instance.name, status: "ready" }
          : state.status === "error"
          ? { name: instance.name, status: "error", error: state.message }
          : { name: instance.name, status: "not-ready" };
      }),
      showDetails: query.showDetails,
      refreshFrequencyMs: query.refreshMs,
      sessionDurationMs: query.sessionMs,
    };
    return withHeaders(new Response(render(query.theme, data)), {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-cache",
      [SESSION_STATUS_HEADER]: statusOf(targets),
    });
  };

  const blocking = async (
    params: URLSearchParams,
    instance: string,
    request: Request,
  ): Promise<Response> => {
    const query = parseBlockingQuery(params, defaults);
    const targets = resolve(engine, query);
    await engine.request(targets, query.sessionMs);
    if (!isSessionReady(targets)) {
      const timeout = AbortSignal.timeout(query.timeoutMs);
      // request.signal is checked, not listened to: a listener makes Deno
      // warn that the signal also aborts after a successful response.
      const gone = new AbortController();
      const check = setInterval(() => {
        if (request.signal.aborted) gone.abort();
      }, DISCONNECT_CHECK_MS);
      try {
        await engine.waitReady(targets, {
          signal: AbortSignal.any([timeout, gone.signal, cancelWaits]),
        });
      } catch (error) {
        if (gone.signal.aborted || cancelWaits.aborted) return cancelled(instance);
        if (!timeout.aborted) throw error;
        const session = sessionResponse(targets).session;
        const waiting = session.instances.filter((entry) =>
          !entry.optional && entry.instance.status !== "ready"
        );
        const reasons = waiting.map((entry) =>
          `${entry.instance.name} is ${entry.instance.status}` +
          (entry.instance.message ? ` (${entry.instance.message})` : "")
        );
        return problemResponse(
          problem(504, "timeout", {
            title: "Gateway Timeout",
            detail: `The session was not ready after ${formatGoDuration(query.timeoutMs)}: ${
              reasons.join("; ")
            }`,
            extra: { instances: session.instances.map((entry) => entry.instance) },
          }),
          instance,
        );
      } finally {
        clearInterval(check);
      }
    }
    return withHeaders(new Response(JSON.stringify(sessionResponse(targets))), {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-cache",
      [SESSION_STATUS_HEADER]: statusOf(targets),
    });
  };

  const route = (request: Request, url: { path: string; search: string }, instance: string) => {
    const { path } = url;
    if (request.method !== "GET" && request.method !== "HEAD") {
      const response = problemResponse(
        problem(405, "method-not-allowed", {
          title: "Method Not Allowed",
          detail: `${request.method.slice(0, 16)} is not served here; use GET`,
        }),
        instance,
      );
      response.headers.set("allow", "GET, HEAD");
      return response;
    }
    if (path === "/api/strategies/dynamic" || path === "/api/strategies/blocking") {
      if (url.search.length > MAX_QUERY_LENGTH) {
        throw new ValidationError(`The query is too long (at most ${MAX_QUERY_LENGTH} characters)`);
      }
      const params = new URLSearchParams(url.search);
      return path === "/api/strategies/dynamic"
        ? dynamic(params, instance)
        : blocking(params, instance, request);
    }
    if (path === "/health") {
      return draining.aborted
        ? new Response("Service Unavailable", { status: 503, headers: TEXT })
        : new Response("OK", { headers: TEXT });
    }
    if (path === "/metrics") {
      return new Response(metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/api/themes" || path === "/api/dynamic/themes") {
      return Response.json({ themes: themes.names() });
    }
    return problemResponse(
      problem(404, "not-found", {
        title: "Not Found",
        detail: "No such endpoint. The API serves /api/strategies/dynamic, " +
          "/api/strategies/blocking, /api/themes, /health and /metrics.",
      }),
      instance,
    );
  };

  return (request: Request): Response | Promise<Response> => {
    const url = splitUrl(request.url);
    const instance = url.path + url.search;
    const strategy = url.path === "/api/strategies/dynamic"
      ? "dynamic"
      : url.path === "/api/strategies/blocking"
      ? "blocking"
      : undefined;
    const failed = (error: unknown) => problemResponse(toProblem(error, logger), instance);
    const counted = (response: Response) => {
      if (strategy !== undefined) metrics.request(strategy, response.status);
      return response;
    };
    let answer: Response | Promise<Response>;
    try {
      answer = route(request, url, instance);
    } catch (error) {
      return counted(failed(error));
    }
    return answer instanceof Promise
      ? answer.then(counted, (e) => counted(failed(e)))
      : counted(answer);
  };
}

const TEXT = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" };

/**
 * Sets the headers on a response one by one. Deno 2.9 builds a response
 * whose init carries two headers or more in tens of microseconds, and one
 * whose headers are set afterwards in a few: on the ready path that was most
 * of the server's own time (bench/serve_ready_path.ts).
 */
function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const name in headers) response.headers.set(name, headers[name]);
  return response;
}

function resolve(engine: IdleEngine, query: { names: string[]; group?: string }): Target[] {
  return query.group !== undefined
    ? engine.resolveGroup(query.group)
    : engine.resolveNames(query.names);
}

function statusOf(targets: readonly Target[]): "ready" | "not-ready" {
  return isSessionReady(targets) ? "ready" : "not-ready";
}

function cancelled(instance: string): Response {
  return problemResponse(
    problem(503, "request-cancelled", {
      title: "Request Cancelled",
      detail: "The request was cancelled before the session became ready.",
    }),
    instance,
  );
}

/** Maps an error to its problem; an unexpected one is logged and answered without its details. */
function toProblem(error: unknown, logger: ServeLogger): Problem {
  if (error instanceof ValidationError) {
    return problem(400, "validation-error", { title: "Validation Failed", detail: error.message });
  }
  if (error instanceof UnknownInstanceError) {
    return problem(404, "instance-not-found", {
      title: "Instance not found",
      detail: `${error.message}. An instance is managed only with the label sablier.enable=true ` +
        "(Proxmox: the tag sablier).",
      extra: { instance: error.instance },
    });
  }
  if (error instanceof UnknownGroupError) {
    return problem(404, "group-not-found", {
      title: "Group not found",
      detail: `${error.message}. Available groups: ${error.availableGroups.join(", ") || "none"}.`,
      extra: { requestGroup: error.group, availableGroups: error.availableGroups },
    });
  }
  if (error instanceof AmbiguousInstanceError) {
    return problem(409, "ambiguous-instance", {
      title: "Ambiguous instance name",
      detail: error.message,
      extra: { instance: error.instance, candidates: error.candidates },
    });
  }
  logger.error(`Request failed: ${messageOf(error)}`);
  return problem(500, "internal-error", {
    title: "Internal Server Error",
    detail: "The server failed to answer; its log says why.",
  });
}

/**
 * Splits an absolute request URL into its path (trailing slashes dropped)
 * and query, as sent (no other normalisation: a path that is not the API's
 * is a 404 either way). Faster than `new URL()` on the ready path.
 */
function splitUrl(url: string): { path: string; search: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return { path: "/", search: "" };
  const query = url.indexOf("?", start);
  const raw = query < 0 ? url.slice(start) : url.slice(start, query);
  const path = raw.length > 1 && raw.endsWith("/") ? raw.replace(/\/+$/, "") || "/" : raw;
  return { path, search: query < 0 ? "" : url.slice(query) };
}

/** The most rendered pages kept; the whole cache is dropped when it is full. */
const PAGE_CACHE_SIZE = 512;

/**
 * Rendered loading pages by everything they show, so that the ready path
 * (the same page again and again) neither renders the theme nor encodes
 * the page each time.
 */
class PageCache {
  #themes: ThemeRegistry;
  #pages = new Map<string, Uint8Array<ArrayBuffer>>();
  #encoder = new TextEncoder();

  constructor(themes: ThemeRegistry) {
    this.#themes = themes;
  }

  render(theme: string, data: LoadingPageData): Uint8Array<ArrayBuffer> {
    let key = `${theme}\u0000${data.displayName}\u0000${data.showDetails}\u0000` +
      `${data.refreshFrequencyMs}\u0000${data.sessionDurationMs}`;
    for (const instance of data.instances) {
      key += `\u0000${instance.name}\u0001${instance.status}\u0001${instance.error ?? ""}`;
    }
    let page = this.#pages.get(key);
    if (page === undefined) {
      page = this.#encoder.encode(this.#themes.render(theme, data));
      if (this.#pages.size >= PAGE_CACHE_SIZE) this.#pages.clear();
      this.#pages.set(key, page);
    }
    return page;
  }
}
