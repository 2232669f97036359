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
import { messageOf } from "./_instance.ts";
import type { ServeLogger } from "./_model.ts";
import { type Problem, problem, problemResponse } from "./_problem.ts";
import {
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

/** A request handler. */
export type Handler = (request: Request) => Promise<Response>;

/**
 * Builds the handler of the whole API.
 *
 * @param options The engine, the themes, the defaults and the drain signal.
 * @returns The handler.
 */
export function createHandler(options: RoutesOptions): Handler {
  const { engine, themes, defaults, logger, draining, cancelWaits } = options;
  const metrics = engine.metrics;

  const dynamic = async (params: URLSearchParams, instance: string): Promise<Response> => {
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
    await engine.request(targets, query.sessionMs);
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
    return withHeaders(new Response(themes.render(query.theme, data)), {
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

  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const instance = url.pathname + url.search;
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const strategy = path === "/api/strategies/dynamic"
      ? "dynamic"
      : path === "/api/strategies/blocking"
      ? "blocking"
      : undefined;
    let response: Response;
    try {
      if (request.method !== "GET" && request.method !== "HEAD") {
        response = problemResponse(
          problem(405, "method-not-allowed", {
            title: "Method Not Allowed",
            detail: `${request.method.slice(0, 16)} is not served here; use GET`,
          }),
          instance,
        );
        response.headers.set("allow", "GET, HEAD");
      } else if (path === "/health") {
        response = draining.aborted
          ? new Response("Service Unavailable", { status: 503, headers: TEXT })
          : new Response("OK", { headers: TEXT });
      } else if (path === "/metrics") {
        response = new Response(metrics.render(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      } else if (path === "/api/themes" || path === "/api/dynamic/themes") {
        response = Response.json({ themes: themes.names() });
      } else if (strategy !== undefined) {
        if (url.search.length > MAX_QUERY_LENGTH) {
          throw new ValidationError(
            `The query is too long (at most ${MAX_QUERY_LENGTH} characters)`,
          );
        }
        response = strategy === "dynamic"
          ? await dynamic(url.searchParams, instance)
          : await blocking(url.searchParams, instance, request);
      } else {
        response = problemResponse(
          problem(404, "not-found", {
            title: "Not Found",
            detail: "No such endpoint. The API serves /api/strategies/dynamic, " +
              "/api/strategies/blocking, /api/themes, /health and /metrics.",
          }),
          instance,
        );
      }
    } catch (error) {
      response = problemResponse(toProblem(error, logger), instance);
    }
    if (strategy !== undefined) metrics.request(strategy, response.status);
    return response;
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
