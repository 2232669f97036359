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
 * Who owns what: {@linkcode WatchHub} starts and ends watches; the
 * {@linkcode WatchRouter} (`_router.ts`) holds the attached watches and the
 * last lines; the {@linkcode EventStream} (`_stream.ts`) holds the
 * connection, its position and the watches to resync; each
 * `ContainerWatch` (`_container.ts`) holds what its consumer was told;
 * `DaemonCalls` (`_daemon.ts`) makes the bounded requests besides the
 * stream.
 *
 * @module
 */

import { NotFoundError, ProviderError } from "../../errors.ts";
import { defaultLogger, type Logger } from "../../log.ts";
import type { WatchStreams } from "../../provider.ts";
import { delay } from "../../_internal/abort.ts";
import { backoff, type BackoffOptions } from "../../_internal/backoff.ts";
import { failurePrefix } from "../../_internal/errdefs.ts";
import { ContainerWatch } from "./_container.ts";
import { DaemonCalls, INSPECT_CONCURRENCY, type WatchClient } from "./_daemon.ts";
import { DEFAULT_BACKOFF } from "./_retry.ts";
import { WatchRouter } from "./_router.ts";
import { EventStream } from "./_stream.ts";
import type { ContainerState } from "./_wire.ts";

export type { WatchClient } from "./_daemon.ts";

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

/** Stands for "every watch" in the context of the shared requests. */
const ALL = "*";

/**
 * The watches of one client: starts each (an inspection for the full id,
 * bounded in concurrency), attaches it to the {@linkcode WatchRouter} that
 * the one {@linkcode EventStream} feeds, and stops the stream when the last
 * watch ends.
 */
export class WatchHub {
  #daemon: DaemonCalls;
  #backoff: BackoffOptions;
  #buffers: { events: number; errors: number };
  #router: WatchRouter;
  #stream: EventStream;
  /** Every watch not ended yet, attached or still starting. */
  #all = new Set<ContainerWatch>();
  #closed = false;
  /** Free inspection slots for starting watches, and who waits for one. */
  #slots = INSPECT_CONCURRENCY;
  #slotWaiters: (() => void)[] = [];

  /**
   * Creates a hub; nothing is opened before the first watch.
   *
   * @param client The client whose daemon is watched.
   * @param options Backoff, buffer sizes, deadlines.
   */
  constructor(client: WatchClient, options: WatchHubOptions = {}) {
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#buffers = { events: options.eventBuffer ?? 1024, errors: options.errorBuffer ?? 64 };
    const context = { action: "watch", container: ALL };
    const prefix = failurePrefix(context);
    this.#router = new WatchRouter(prefix);
    const streamContext = { ...context, logger: this.#router.loggers };
    this.#daemon = new DaemonCalls(client, streamContext, options.requestTimeout ?? 30_000);
    this.#stream = new EventStream({
      client,
      daemon: this.#daemon,
      router: this.#router,
      context: streamContext,
      backoff: this.#backoff,
      stableAfter: options.stableAfter ?? 10_000,
      maxLineLength: options.maxLineLength ?? 1024 * 1024,
    }, prefix);
  }

  /** Whether the events stream is subscribed now. */
  get connected(): boolean {
    return this.#stream.live;
  }

  /** How many watches the stream feeds now (started, not ended). */
  get watching(): number {
    return this.#router.size;
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
          { runtime: "docker", action: "watch", container: ref },
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
    watch.track(
      this.#begin(watch).catch((error) => {
        watch.report(() => asError(error));
        watch.end();
      }),
    );
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
          const seq = this.#router.seq;
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

  /** Routes the stream to the watch, handing it what arrived since `seq`; starts the stream. */
  #attach(watch: ContainerWatch, seq: number): void {
    if (!this.#stream.running) {
      this.#router.attach(watch, undefined);
      this.#stream.start();
      return;
    }
    this.#router.attach(watch, seq);
    this.#stream.attached(watch);
  }

  /** Stops routing to the watch; the last one out stops the stream. */
  #detach(watch: ContainerWatch): Promise<void> {
    if (this.#router.detach(watch)) this.#stream.detached(watch);
    if (this.#router.size > 0) return Promise.resolve();
    return this.#stream.stop();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
