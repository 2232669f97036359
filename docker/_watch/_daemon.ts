/**
 * The daemon calls a Docker watch makes besides following the stream: the
 * daemon's clock, a ping, inspections, and opening an events request. Each
 * has a deadline, and failures come out as provider errors.
 *
 * @module
 */

import { ApiError, TimeoutError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { HttpResponse } from "../../_internal/http/client.ts";
import { containerPath, NOT_FOUND } from "../_api.ts";
import { responseError, type Transport } from "../_transport.ts";
import { failurePrefix, type RequestContext } from "../../_internal/errdefs.ts";
import { withDeadline } from "../../_internal/deadline.ts";
import {
  type ContainerState,
  EventFormatError,
  eventsPath,
  type EventsQuery,
  parseInspect,
  parseTimestamp,
} from "./_wire.ts";

/** What the watch needs of the client. */
export type WatchClient = Pick<Transport, "url" | "request" | "send" | "transportError">;

/** An inspection, and the daemon's clock (whole seconds, from `Date`) when it answered. */
export interface Inspection {
  /** The state, or `null` when the container does not exist. */
  state: ContainerState | null;
  /** The daemon's `Date`, in seconds since the epoch. */
  seconds: number | undefined;
}

/** Inspections running at once. */
export const INSPECT_CONCURRENCY = 8;

const decoder = new TextDecoder();

/** The calls of a watch hub to its daemon. */
export class DaemonCalls {
  #client: WatchClient;
  #context: RequestContext;
  #timeoutMs: number;

  /**
   * Wraps a client.
   *
   * @param client The shared client.
   * @param context The context of the hub's own requests.
   * @param timeoutMs The deadline of each call, in milliseconds.
   */
  constructor(client: WatchClient, context: RequestContext, timeoutMs: number) {
    this.#client = client;
    this.#context = context;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Runs one call under the watch's per-request deadline
   * ({@linkcode withDeadline}): it rejects with the outer signal's reason, or
   * with a {@linkcode TimeoutError} naming `what` once the deadline passes.
   *
   * @param signal The outer signal.
   * @param what The call, for the message (`"replay"`, `"ping"`, ...).
   * @param fn The call, given the signal that bounds it.
   * @param ref The container the call is about.
   * @returns What `fn` resolves with.
   */
  bounded<T>(
    signal: AbortSignal,
    what: string,
    fn: (signal: AbortSignal) => Promise<T>,
    ref: string = this.#context.container ?? "*",
  ): Promise<T> {
    return withDeadline({
      signal,
      ms: this.#timeoutMs,
      onTimeout: () =>
        new TimeoutError(
          `${failurePrefix({ action: "watch", container: ref })}: no answer to the ${what} within ${
            this.#timeoutMs / 1000
          } s`,
          { runtime: "docker", action: "watch", container: ref },
        ),
    }, fn);
  }

  /**
   * The daemon's clock: `SystemTime` of `/info` (nanoseconds), or the
   * answer's `Date` (whole seconds) when a socket proxy refuses `/info`.
   *
   * @param signal Aborts the call.
   * @param context Where the call is logged; the hub's by default.
   * @returns Nanoseconds since the epoch, or `undefined` when the answer tells neither.
   * @throws {ConnectionError} When the daemon cannot be reached.
   */
  clock(
    signal: AbortSignal,
    context: RequestContext = this.#context,
  ): Promise<bigint | undefined> {
    return this.bounded(signal, "info", async (bounded) => {
      const response = await this.#client.send({
        method: "GET",
        path: "/info",
        signal: bounded,
        idempotent: true,
        context,
      });
      if (response.status === 200) {
        try {
          const { SystemTime } = JSON.parse(decoder.decode(response.body)) as {
            SystemTime?: unknown;
          };
          const now = parseTimestamp(SystemTime);
          if (now !== undefined) return now;
        } catch {
          // Not JSON: the Date below will do.
        }
      }
      const seconds = dateSeconds(response.headers);
      return seconds === undefined ? undefined : BigInt(seconds) * 1_000_000_000n;
    });
  }

  /**
   * Pings the daemon.
   *
   * @param signal Aborts the call.
   * @returns Its clock (whole seconds, from `Date`) and whether it is Podman.
   * @throws {ConnectionError} When the daemon cannot be reached.
   * @throws {ApiError} When it does not answer 200.
   */
  ping(signal: AbortSignal): Promise<{ seconds: number | undefined; podman: boolean }> {
    return this.bounded(signal, "ping", async (bounded) => {
      const response = await this.#client.send({
        method: "GET",
        path: "/_ping",
        signal: bounded,
        idempotent: true,
        context: this.#context,
      });
      if (response.status !== 200) {
        throw responseError(response.status, response.body, this.#context);
      }
      return {
        seconds: dateSeconds(response.headers),
        podman: response.headers.has("libpod-api-version"),
      };
    });
  }

  /**
   * Inspects containers, {@linkcode INSPECT_CONCURRENCY} at a time.
   *
   * @param ids Full container ids, each with where its inspection is logged.
   * @param signal Aborts the calls.
   * @returns Each state (`null`: gone), and the latest `Date` of the answers.
   * @throws The first failure; the other calls are then aborted.
   */
  async inspectAll(
    ids: Map<string, Logger>,
    signal: AbortSignal,
  ): Promise<{ states: Map<string, ContainerState | null>; seconds: number | undefined }> {
    const states = new Map<string, ContainerState | null>();
    let seconds: number | undefined;
    const queue = [...ids];
    const failed = new AbortController();
    const both = AbortSignal.any([signal, failed.signal]);
    const worker = async () => {
      for (let next = queue.pop(); next !== undefined && !both.aborted; next = queue.pop()) {
        const [id, logger] = next;
        const result = await this.inspect(id, both, { ...this.#context, logger });
        states.set(id, result.state);
        if (result.seconds !== undefined) seconds = Math.max(seconds ?? 0, result.seconds);
      }
    };
    const workers = Array.from(
      { length: Math.min(INSPECT_CONCURRENCY, queue.length) },
      () =>
        worker().catch((error) => {
          failed.abort(error);
          throw error;
        }),
    );
    const results = await Promise.allSettled(workers);
    signal.throwIfAborted();
    for (const result of results) if (result.status === "rejected") throw result.reason;
    return { states, seconds };
  }

  /**
   * `GET /containers/{ref}/json`.
   *
   * @param ref A container name, id or id prefix.
   * @param signal Aborts the call.
   * @param context The operation, for messages; the hub's by default.
   * @returns The state (`null` for 404), and the daemon's `Date`.
   * @throws {ConnectionError} When the daemon cannot be reached.
   * @throws {ApiError} For another answer than 200 or 404, or one without a state.
   */
  inspect(
    ref: string,
    signal: AbortSignal,
    context: RequestContext = this.#context,
  ): Promise<Inspection> {
    return this.bounded(signal, "inspect", async (bounded) => {
      const response = await this.#client.send({
        method: "GET",
        path: containerPath(ref, "json"),
        signal: bounded,
        idempotent: true,
        context,
      });
      const seconds = dateSeconds(response.headers);
      if (response.status === NOT_FOUND) return { state: null, seconds };
      if (response.status !== 200) throw responseError(response.status, response.body, context);
      try {
        return { state: parseInspect(JSON.parse(decoder.decode(response.body))), seconds };
      } catch (error) {
        const detail = error instanceof EventFormatError
          ? error.message
          : "the daemon's inspection is not JSON";
        throw new ApiError(`${failurePrefix(context)}: ${detail}`, {
          runtime: "docker",
          action: "watch",
          container: context.container,
          status: response.status,
        });
      }
    }, ref);
  }

  /**
   * Opens an events request.
   *
   * @param query The replay bounds.
   * @param signal Aborts the request, body included.
   * @returns The streaming answer.
   * @throws {ConnectionError} When the daemon cannot be reached.
   * @throws {ApiError} When it does not answer 200.
   */
  async openEvents(query: EventsQuery, signal: AbortSignal): Promise<HttpResponse> {
    const response = await this.#client.request({
      method: "GET",
      path: eventsPath(query),
      signal,
      idempotent: true,
      context: this.#context,
    });
    if (response.status === 200) return response;
    let body: Uint8Array = new Uint8Array();
    try {
      body = await response.bytes();
    } catch {
      // The status tells enough.
    } finally {
      response.cancel();
    }
    throw responseError(response.status, body, this.#context);
  }
}

/** The daemon's clock from an answer's `Date`, in whole seconds. */
function dateSeconds(headers: Headers): number | undefined {
  const ms = Date.parse(headers.get("date") ?? "");
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}
