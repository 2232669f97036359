/**
 * Docker watches: one `/events` stream per client feeds every watch on it,
 * routed by full container id, and resumes after a drop without losing or
 * repeating events.
 *
 * How a drop is survived:
 * - The stream's position is the newest `timeNano` seen (before the first
 *   event: the daemon's clock, from `/info`). A reconnect asks for `since` a
 *   millisecond before it, and lines already seen in that window are
 *   skipped, so every event of the gap comes once, in order.
 * - The gap is first replayed by a bounded request (dockerd: `until` a
 *   second past the daemon's clock; Podman: `stream=false`), so that the
 *   force-reloaded event each watch gets comes after the gap's events.
 * - When that replay does not contain the last event seen, the daemon lost
 *   events (it keeps 256 in memory, none across a restart): each watched
 *   container is inspected, the gap is replayed again up to after the
 *   inspections, and each watch reports the events that explain a state it
 *   did not see change.
 *
 * The stream has no logger of its own: each watch logs to its provider's
 * logger, and the stream's own lines go to the loggers of the watches
 * attached at the time (`_loggers.ts` tells which line goes where).
 *
 * @module
 */

import { type LineError, type LineSink, LineSplitter } from "../../_internal/line_stream.ts";
import { ApiError, ConnectionError, NotFoundError, ProviderError } from "../../errors.ts";
import { defaultLogger, type Logger } from "../../log.ts";
import type { WatchStreams } from "../../provider.ts";
import { delay } from "../../_internal/abort.ts";
import { backoff, type BackoffOptions } from "../../_internal/backoff.ts";
import type { HttpResponse } from "../../_internal/http/client.ts";
import { failurePrefix, type RequestContext, restate } from "../../_internal/errdefs.ts";
import { ContainerWatch } from "./_container.ts";
import { DaemonCalls, INSPECT_CONCURRENCY, type WatchClient } from "./_daemon.ts";
import { WatchLoggers } from "./_loggers.ts";
import { StreamPosition } from "./_position.ts";
import { DEFAULT_BACKOFF } from "./_retry.ts";
import {
  type ContainerState,
  type EventsQuery,
  idSet,
  lineTimeNano,
  mayConcern,
  parseEventLine,
} from "./_wire.ts";

export type { WatchClient } from "./_daemon.ts";

/** How long a stream stays up before its loss starts the backoff over: 10 s. */
const STABLE_STREAM_MS = 10_000;

/** Settings of a {@linkcode WatchHub}. */
export interface WatchHubOptions {
  /** How reconnections and failed starts are spaced. @default {DEFAULT_BACKOFF} */
  backoff?: Partial<BackoffOptions>;
  /** Events each watch holds for a slow consumer. @default {1024} */
  eventBuffer?: number;
  /** Errors each watch holds for a slow consumer. @default {64} */
  errorBuffer?: number;
  /** The longest event line, in bytes. @default {1048576} */
  maxLineLength?: number;
  /** The deadline of each ping, inspection and replay, in milliseconds. @default {30000} */
  requestTimeout?: number;
  /**
   * How long, in milliseconds, a stream must stay up before its loss starts
   * the backoff over; a stream the daemon keeps closing soon after it opens
   * is reconnected to ever more slowly. @default {10000}
   */
  stableAfter?: number;
}

/** Options of {@linkcode WatchHub.watch}. */
export interface HubWatchOptions {
  /** Ends the watch when it aborts. */
  signal?: AbortSignal;
  /**
   * Where the watch's requests go, and the stream's while the watch is
   * attached (see `_loggers.ts`): its provider's logger.
   * @default {defaultLogger}
   */
  logger?: Logger;
}

/** Lines kept to hand a new watch what arrived while its container was inspected. */
const RING_SIZE = 256;
/** Stands for "every watch" in the context of the shared requests. */
const ALL = "*";

/** The shared event stream of one client, and the watches it feeds. */
export class WatchHub {
  #client: WatchClient;
  #daemon: DaemonCalls;
  #backoff: BackoffOptions;
  #stableAfter: number;
  #buffers: { events: number; errors: number };
  #maxLineLength: number;
  /** The loggers of the attached watches: where the stream's own lines go. */
  #loggers = new WatchLoggers();
  #context: RequestContext;
  #prefix: string;
  #byId = new Map<string, Set<ContainerWatch>>();
  /** Every watch not ended yet, attached or still starting. */
  #all = new Set<ContainerWatch>();
  #closed = false;
  /** The keys of `#byId`, as lines are checked against them. */
  #watched = idSet(this.#byId);
  #registered = 0;
  #run: { stop: AbortController; done: Promise<void> } | undefined;
  #live = false;
  #failures = 0;
  #position = new StreamPosition();
  /** Free inspection slots for starting watches, and who waits for one. */
  #slots = INSPECT_CONCURRENCY;
  #slotWaiters: (() => void)[] = [];
  /** Set when a delivery left a consumer behind: the reader then yields before the next chunk. */
  #behind = false;
  #seq = 0;
  #ring: (string | undefined)[] = new Array(RING_SIZE);
  #sink: LineSink = {
    line: (text) => this.#onLine(text),
    invalid: (error) => this.#onInvalid(error),
  };

  /**
   * Creates a hub; nothing is opened before the first watch.
   *
   * @param client The client whose daemon is watched.
   * @param options Backoff, buffer sizes, deadlines.
   */
  constructor(client: WatchClient, options: WatchHubOptions = {}) {
    this.#client = client;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#stableAfter = options.stableAfter ?? STABLE_STREAM_MS;
    this.#buffers = { events: options.eventBuffer ?? 1024, errors: options.errorBuffer ?? 64 };
    this.#maxLineLength = options.maxLineLength ?? 1024 * 1024;
    this.#context = { action: "watch", container: ALL, logger: this.#loggers };
    this.#prefix = failurePrefix(this.#context);
    this.#daemon = new DaemonCalls(client, this.#context, options.requestTimeout ?? 30_000);
  }

  /** Whether the events stream is subscribed now. */
  get connected(): boolean {
    return this.#live;
  }

  /** How many watches the stream feeds now (started, not ended). */
  get watching(): number {
    return this.#registered;
  }

  /**
   * Watches one container: inspects it for its full id, then feeds it from
   * the shared stream.
   *
   * @param ref The container's name, id or id prefix.
   * @param options Ends the watch when `signal` aborts; where it logs.
   * @returns The watch's streams.
   */
  watch(ref: string, options: HubWatchOptions = {}): WatchStreams {
    const { signal, logger = defaultLogger } = options;
    const watch = new ContainerWatch(ref, {
      buffers: this.#buffers,
      logger,
      onEnd: (w) => this.#detach(w),
    });
    if (this.#closed) {
      watch.report(() =>
        new ProviderError(
          `${failurePrefix({ action: "watch", container: ref })}: the client is closed`,
          {
            runtime: "docker",
            action: "watch",
            container: ref,
          },
        )
      );
    }
    if (signal?.aborted || this.#closed) {
      watch.end();
      return watch.streams;
    }
    this.#all.add(watch);
    watch.onEnd(() => this.#all.delete(watch));
    if (signal !== undefined) {
      const onAbort = () => watch.end();
      signal.addEventListener("abort", onAbort, { once: true });
      watch.onEnd(() => signal.removeEventListener("abort", onAbort));
    }
    watch.task = this.#begin(watch).catch((error) => {
      watch.report(() => asError(error));
      watch.end();
    });
    return watch.streams;
  }

  /** Ends every watch, which stops the stream; later watches end at once. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const watch of [...this.#all]) watch.end();
  }

  /** Inspects the container until it is found (or gone), then attaches the watch. */
  async #begin(watch: ContainerWatch): Promise<void> {
    const context = { action: "watch", container: watch.ref, logger: watch.logger };
    const waits = backoff(this.#backoff);
    while (watch.live) {
      let found: { seq: number; state: ContainerState | null };
      try {
        found = await this.#limited(async () => {
          const seq = this.#seq;
          const { state } = await this.#daemon.inspect(watch.ref, watch.signal, context);
          return { seq, state };
        });
      } catch (error) {
        if (watch.live) watch.report(() => asError(error));
        // The watch's end ends the wait, and the loop.
        await delay(waits.next().value, { signal: watch.signal }).catch(() => {});
        continue;
      }
      if (!watch.live) return;
      if (found.state === null) {
        watch.report(() =>
          new NotFoundError(`${failurePrefix(context)}: no such container`, {
            runtime: "docker",
            action: "watch",
            container: watch.ref,
          })
        );
        watch.end();
        return;
      }
      watch.begin(found.state);
      this.#attach(watch, found.seq);
      return;
    }
  }

  /** Runs `fn` once fewer than {@linkcode INSPECT_CONCURRENCY} others run. */
  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#slots === 0) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
    this.#slots--;
    try {
      return await fn();
    } finally {
      this.#slots++;
      this.#slotWaiters.shift()?.();
    }
  }

  /** Routes the stream to the watch, handing it what arrived since `seq`. */
  #attach(watch: ContainerWatch, seq: number): void {
    let watches = this.#byId.get(watch.id);
    if (watches === undefined) {
      this.#byId.set(watch.id, watches = new Set());
      this.#watched = idSet(this.#byId);
    }
    watches.add(watch);
    this.#registered++;
    this.#loggers.add(watch.logger);
    if (this.#run === undefined) {
      this.#start();
      return;
    }
    if (!this.#live && this.#failures > 0) watch.needsResync = true;
    const only = idSet(new Set([watch.id]));
    const from = Math.max(seq, this.#seq - RING_SIZE);
    for (let i = from + 1; i <= this.#seq; i++) {
      const text = this.#ring[i % RING_SIZE];
      if (text === undefined || !mayConcern(text, only)) continue;
      try {
        const event = parseEventLine(text, lineTimeNano(text));
        if (event?.id === watch.id) watch.deliver(event);
      } catch {
        // Reported when it arrived.
      }
    }
    if (this.#seq - seq > RING_SIZE) watch.forceReload();
  }

  /** Stops routing to the watch; the last one out stops the stream. */
  #detach(watch: ContainerWatch): Promise<void> {
    const watches = this.#byId.get(watch.id);
    if (watches?.delete(watch)) {
      this.#registered--;
      this.#loggers.delete(watch.logger);
      if (watches.size === 0) {
        this.#byId.delete(watch.id);
        this.#watched = idSet(this.#byId);
      }
    }
    const run = this.#run;
    if (this.#registered > 0 || run === undefined) return Promise.resolve();
    this.#run = undefined;
    this.#live = false;
    run.stop.abort();
    return run.done;
  }

  #start(): void {
    this.#position.reset();
    this.#ring.fill(undefined);
    this.#failures = 0;
    const stop = new AbortController();
    this.#run = { stop, done: this.#loop(stop.signal) };
  }

  /** Keeps the stream up until `signal` aborts. Never rejects. */
  async #loop(signal: AbortSignal): Promise<void> {
    let waits = backoff(this.#backoff);
    while (!signal.aborted) {
      let failure: unknown;
      let liveAt = Infinity;
      try {
        await this.#session(signal, () => liveAt = performance.now());
        failure = new ConnectionError(`${this.#prefix}: the daemon ended the event stream`);
      } catch (error) {
        failure = error;
      }
      if (signal.aborted) return;
      // Only a stream that stayed up a while starts the waits over.
      if (performance.now() - liveAt >= this.#stableAfter) waits = backoff(this.#backoff);
      this.#live = false;
      this.#failures++;
      this.#loggers.debug(`Docker event stream of ${this.#client.url} lost`, {
        action: "watch",
        error: failure,
      });
      this.#broadcast(failure);
      for (const watches of this.#byId.values()) {
        for (const watch of watches) watch.needsResync = true;
      }
      // The abort that stops the stream ends the wait, and the loop.
      await delay(waits.next().value, { signal }).catch(() => {});
    }
  }

  /** One connection: resync what needs it, then follow the live stream until it ends. */
  async #session(signal: AbortSignal, onLive: () => void): Promise<void> {
    await this.#resync(signal);
    if (!this.#position.known) {
      // A position before the first event: even a drop before it then loses nothing, and
      // the first request replays the moment between the watches' inspections and now.
      const now = await this.#daemon.clock(signal);
      if (now !== undefined) this.#position.setClock(now);
    }
    const response = await this.#daemon.openEvents(
      { since: this.#position.resumeSince() },
      signal,
    );
    this.#live = true;
    onLive();
    await this.#pump(response, signal);
  }

  /** After a drop: replays the gap, reconciles where events were lost, force-reloads. */
  async #resync(signal: AbortSignal): Promise<void> {
    const stale = [...this.#byId.values()].flatMap((watches) =>
      [...watches].filter((watch) => watch.needsResync)
    );
    if (stale.length === 0) return;
    const daemon = await this.#daemon.ping(signal);
    if (!await this.#replay(signal, daemon.podman, daemon.seconds)) {
      const loggers = new Map<string, WatchLoggers>();
      for (const watch of stale) {
        let forId = loggers.get(watch.id);
        if (forId === undefined) loggers.set(watch.id, forId = new WatchLoggers());
        forId.add(watch.logger);
      }
      const { states, seconds } = await this.#daemon.inspectAll(loggers, signal);
      await this.#replay(signal, daemon.podman, seconds);
      for (const watch of stale) watch.reconcile(states.get(watch.id) ?? null);
    }
    for (const watch of stale) {
      watch.needsResync = false;
      watch.forceReload();
    }
  }

  /**
   * Replays the events since the newest one seen, up to the daemon's present
   * (`seconds`, its clock, for dockerd; Podman's `stream=false` ends there).
   *
   * @returns Whether the replay contained the newest event seen (nothing was lost before it).
   */
  async #replay(
    signal: AbortSignal,
    podman: boolean,
    seconds: number | undefined,
  ): Promise<boolean> {
    const since = this.#position.resumeSince();
    if (since === undefined) return false;
    let query: EventsQuery;
    if (podman) query = { since, stream: false };
    else if (seconds !== undefined) query = { since, until: String(seconds + 1) };
    else return false;
    this.#position.startProbe();
    const bounded = this.#daemon.bound(signal, "replay");
    try {
      const response = await this.#daemon.openEvents(query, bounded.signal);
      await this.#pump(response, bounded.signal);
      return this.#position.endProbe();
    } catch (error) {
      // A daemon whose clock went back refuses `since` after `until`: nothing to join.
      if (error instanceof ApiError && error.status === 400) return false;
      throw error;
    } finally {
      bounded.clear();
      this.#position.endProbe();
    }
  }

  /** Reads an events answer to its end, line by line. */
  async #pump(response: HttpResponse, signal: AbortSignal): Promise<void> {
    const splitter = new LineSplitter({ maxLineLength: this.#maxLineLength });
    try {
      for (;;) {
        const chunk = await response.read();
        if (signal.aborted) return;
        if (chunk === null) break;
        splitter.push(chunk, this.#sink);
        if (this.#behind) {
          // Lets consumers that read catch up before the next burst; a stalled one is not waited for.
          this.#behind = false;
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      }
      splitter.end(this.#sink);
    } catch (error) {
      throw this.#client.transportError(error, { signal, context: this.#context });
    } finally {
      response.cancel();
    }
  }

  #onLine(text: string): void {
    const timeNano = lineTimeNano(text);
    if (timeNano !== undefined && !this.#position.admit(text, timeNano)) return;
    this.#ring[++this.#seq % RING_SIZE] = text;
    if (this.#registered === 0 || !mayConcern(text, this.#watched)) return;
    let event;
    try {
      event = parseEventLine(text, timeNano);
    } catch (error) {
      this.#broadcast(
        new ProviderError(`${this.#prefix}: skipped an event: ${(error as Error).message}`, {
          runtime: "docker",
          action: "watch",
        }),
      );
      return;
    }
    if (event === null) return;
    const watches = this.#byId.get(event.id);
    if (watches === undefined) return;
    for (const watch of watches) if (watch.deliver(event)) this.#behind = true;
  }

  #onInvalid(error: LineError): void {
    this.#broadcast(
      new ProviderError(`${this.#prefix}: skipped a line of the event stream: ${error.message}`, {
        runtime: "docker",
        action: "watch",
      }),
    );
  }

  /** Reports a failure of the shared stream to every attached watch, in its own words. */
  #broadcast(failure: unknown): void {
    for (const watches of this.#byId.values()) {
      for (const watch of watches) watch.report(() => this.#forWatch(failure, watch.ref));
    }
  }

  /** Restates an error of the shared stream for one watch's container, keeping its kind. */
  #forWatch(error: unknown, ref: string): Error {
    const prefix = failurePrefix({ action: "watch", container: ref });
    const text = error instanceof Error ? error.message : String(error);
    const message = text.startsWith(this.#prefix)
      ? prefix + text.slice(this.#prefix.length)
      : `${prefix}: ${text}`;
    return restate(error, message, { runtime: "docker", action: "watch", container: ref });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
