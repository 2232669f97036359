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
 * How a start is not missed (an event just after `watch()` was called):
 * - A watch called while the stream runs notes the stream's run and the
 *   number of its last line; once inspected, it is handed the lines of its
 *   container that came since (the last 256 lines are kept; a watch that
 *   missed more gets a force-reload).
 * - A watch called while no stream runs joins the one daemon clock reading
 *   (`/info`) of all such watches, sent at the first of their calls and
 *   taken as the daemon's time when it was sent (its `SystemTime` minus the
 *   whole round trip: Podman takes it at the end of a slow `/info`). The
 *   inspection does not wait for it. The first such watch inspected starts
 *   the stream from that time, which replays every event since; the others
 *   are handed the lines since the stream started.
 * - A watch that finds the stream stopped and started again since its call
 *   (another run, or a run that started from a later time) inspects its
 *   container again from the present, and reports the change between the
 *   two inspections (`started`, `died`, ...) like after a lost event.
 * - So delivery is at least once: an event between the watch's call and
 *   its inspection is reported although the inspection already shows its
 *   effect, and so can one a little before the call (by up to the clock
 *   reading's round trip, plus a millisecond).
 * - A daemon that tells no clock (a socket proxy that refuses `/info` and
 *   sends no `Date`) gets what it got before: the stream starts at the
 *   present when it connects, and the watches it starts for are handed the
 *   lines since then.
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
import { delay, raceSignal } from "../../_internal/abort.ts";
import { backoff, type BackoffOptions } from "../../_internal/backoff.ts";
import { failurePrefix } from "../../_internal/errdefs.ts";
import { type ClockReading, SharedClock } from "./_clock.ts";
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
 * Where a watch's replay starts, noted when it is called (or inspects again):
 * the lines of a running stream after `seq`, or the daemon's time of a
 * clock reading when no stream runs.
 */
type Basis = { run: number; seq: number } | { clock: ClockReading };

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
  #clock: SharedClock;
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
    this.#clock = new SharedClock(this.#daemon, context);
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
      this.#begin(watch, this.#basis(watch)).catch((error) => {
        watch.report(() => asError(error));
        watch.end();
      }),
    );
    return watch.streams;
  }

  /** Ends every watch, which stops the stream; later watches end at once. Idempotent. */
  close(): void {
    this.#closed = true;
    // The last watch to end also aborts the clock reading in flight.
    for (const watch of [...this.#all]) watch.end();
  }

  /**
   * Inspects the container until it is found (or gone), then attaches the
   * watch; inspects it again from the present when the stream does not
   * cover `basis` any more.
   */
  async #begin(watch: ContainerWatch, first: Basis): Promise<void> {
    const context = { action: "watch", container: watch.ref, logger: watch.logger };
    const waits = backoff(this.#backoff);
    let basis = first;
    try {
      while (watch.live) {
        let state: ContainerState | null;
        let since: bigint | undefined;
        try {
          ({ state } = await this.#limited(() =>
            this.#daemon.inspect(watch.ref, watch.signal, context)
          ));
          if ("clock" in basis) since = await raceSignal(basis.clock.since, watch.signal);
        } catch (error) {
          if (!watch.live) return;
          const clockFailed = "clock" in basis && basis.clock.failed;
          watch.report(() =>
            clockFailed ? this.#router.forWatch(error, watch.ref) : asError(error)
          );
          if (clockFailed) basis = this.#rebase(watch, basis);
          // The watch's end ends the wait, and the loop.
          await delay(waits.next().value, { signal: watch.signal }).catch(() => {});
          continue;
        }
        if (!watch.live) return;
        if (state === null) {
          if (watch.id !== "") {
            watch.reconcile(null); // Gone since its first inspection: reported, and ended.
            return;
          }
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
        // Inspected again: what changed in between is reported, as after lost events.
        if (watch.id === state.id) watch.reconcile(state);
        else watch.begin(state);
        if (this.#attach(watch, basis, since)) return;
        basis = this.#rebase(watch, basis);
      }
    } finally {
      if ("clock" in basis) this.#clock.leave(basis.clock, watch.logger);
    }
  }

  /** Where a watch's replay starts if it is inspected now. */
  #basis(watch: ContainerWatch): Basis {
    const run = this.#stream.run;
    if (run !== undefined) return { run: run.number, seq: this.#router.seq };
    return { clock: this.#clock.join(watch.logger) };
  }

  /** Leaves `basis` for a new one, from now. */
  #rebase(watch: ContainerWatch, basis: Basis): Basis {
    if ("clock" in basis) this.#clock.leave(basis.clock, watch.logger);
    return this.#basis(watch);
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

  /**
   * Routes the stream to the watch, handing it what arrived since its
   * basis, or starts the stream from the basis's clock.
   *
   * @returns `false` when the stream does not cover the basis: the watch
   * must be inspected again.
   */
  #attach(watch: ContainerWatch, basis: Basis, since: bigint | undefined): boolean {
    const run = this.#stream.run;
    if (run === undefined) {
      // A watch called during an earlier run has no clock to start from.
      if (!("clock" in basis)) return false;
      this.#clock.clear();
      this.#router.attach(watch, undefined);
      this.#stream.start(since);
      return true;
    }
    let seq: number;
    if ("run" in basis) {
      if (basis.run !== run.number) return false;
      seq = basis.seq;
    } else {
      // The run replays from its own start: it covers the watch when that came no later.
      if (run.since !== undefined && (since === undefined || run.since > since)) return false;
      seq = run.seq;
    }
    this.#router.attach(watch, seq);
    this.#stream.attached(watch);
    return true;
  }

  /** Stops routing to the watch; the last one out stops the stream. */
  #detach(watch: ContainerWatch): Promise<void> {
    if (this.#router.detach(watch)) this.#stream.detached(watch);
    const ends: Promise<void>[] = [];
    // The last watch out also ends the clock reading nobody waits for any more.
    if (this.#all.size === 0) ends.push(this.#clock.drop());
    if (this.#router.size === 0) ends.push(this.#stream.stop());
    return Promise.all(ends).then(() => {});
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
