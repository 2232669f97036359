/**
 * The one `/events` stream of a client: kept up while watches are attached,
 * resumed after a drop without losing or repeating events (see `hub.ts` for
 * how), its lines handed to the {@linkcode WatchRouter}.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { delay } from "../../_internal/abort.ts";
import { backoff, type BackoffOptions } from "../../_internal/backoff.ts";
import type { RequestContext } from "../../_internal/errdefs.ts";
import type { HttpResponse } from "../../_internal/http/client.ts";
import { type LineError, type LineSink, LineSplitter } from "../../_internal/line_stream.ts";
import { ApiError, ConnectionError, ProviderError } from "../../errors.ts";
import type { ContainerWatch } from "./_container.ts";
import type { DaemonCalls, WatchClient } from "./_daemon.ts";
import { WatchLoggers } from "./_loggers.ts";
import { StreamPosition } from "./_position.ts";
import type { WatchRouter } from "./_router.ts";
import { type EventsQuery, lineTimeNano } from "./_wire.ts";

/** What an {@linkcode EventStream} works with. */
export interface EventStreamParts {
  /** The client, for its URL and its transport errors. */
  client: WatchClient;
  /** The daemon calls besides the stream. */
  daemon: DaemonCalls;
  /** Where the lines go. */
  router: WatchRouter;
  /** The context of the stream's own requests. */
  context: RequestContext;
  /** How reconnections are spaced. */
  backoff: BackoffOptions;
  /** How long a stream stays up, in milliseconds, before its loss starts the backoff over. */
  stableAfter: number;
  /** The longest event line, in bytes. */
  maxLineLength: number;
}

/** One run of the stream: from a start to the stop. */
export interface StreamRun {
  /** Counts the runs of the stream from 1. */
  readonly number: number;
  /** The daemon's time it started from, when the daemon told one. */
  readonly since: bigint | undefined;
  /** {@linkcode WatchRouter.seq} when it started: its first line comes after. */
  readonly seq: number;
}

/** The shared event stream of one client. */
export class EventStream {
  #parts: EventStreamParts;
  #router: WatchRouter;
  #prefix: string;
  #run: (StreamRun & { stop: AbortController; done: Promise<void> }) | undefined;
  /** How many runs started. */
  #runs = 0;
  #live = false;
  #failures = 0;
  #position = new StreamPosition();
  /** Watches that may have missed events: the next connection resyncs them. */
  #stale = new Set<ContainerWatch>();
  #sink: LineSink = {
    line: (text) => {
      const timeNano = lineTimeNano(text);
      if (timeNano !== undefined && !this.#position.admit(text, timeNano)) return;
      this.#router.route(text, timeNano);
    },
    invalid: (error: LineError) => {
      this.#router.broadcast(
        new ProviderError(`${this.#prefix}: skipped a line of the event stream: ${error.message}`, {
          runtime: "docker",
          action: "watch",
        }),
      );
    },
  };

  /**
   * Creates a stream; nothing is opened before {@linkcode EventStream.start}.
   *
   * @param parts The client, the daemon calls, the router and the settings.
   * @param prefix How the stream's own messages start.
   */
  constructor(parts: EventStreamParts, prefix: string) {
    this.#parts = parts;
    this.#router = parts.router;
    this.#prefix = prefix;
  }

  /** Whether the events stream is subscribed now. */
  get live(): boolean {
    return this.#live;
  }

  /** The run of the stream while it runs (connected or reconnecting), for watches to check. */
  get run(): StreamRun | undefined {
    return this.#run;
  }

  /**
   * Starts the stream from `since`; a no-op while it runs.
   *
   * @param since The daemon's time to replay from (nanoseconds since the
   * epoch), no later than the inspections of the watches it starts for;
   * `undefined` when the daemon tells no clock: the stream then starts at
   * the present when it connects.
   */
  start(since: bigint | undefined): void {
    if (this.#run !== undefined) return;
    this.#position.reset();
    if (since !== undefined) this.#position.setClock(since);
    this.#router.resetLines();
    this.#failures = 0;
    const stop = new AbortController();
    this.#run = {
      number: ++this.#runs,
      since,
      seq: this.#router.seq,
      stop,
      done: this.#loop(stop.signal),
    };
  }

  /**
   * Stops the stream.
   *
   * @returns Settles once nothing of the stream runs.
   */
  stop(): Promise<void> {
    const run = this.#run;
    if (run === undefined) return Promise.resolve();
    this.#run = undefined;
    this.#live = false;
    this.#stale.clear();
    run.stop.abort();
    return run.done;
  }

  /**
   * Notes a watch attached while the stream is down after a failure: it may
   * miss events, so the next connection resyncs it.
   *
   * @param watch The watch.
   */
  attached(watch: ContainerWatch): void {
    if (!this.#live && this.#failures > 0) this.#stale.add(watch);
  }

  /**
   * Forgets a detached watch.
   *
   * @param watch The watch.
   */
  detached(watch: ContainerWatch): void {
    this.#stale.delete(watch);
  }

  /** Keeps the stream up until `signal` aborts. Never rejects. */
  async #loop(signal: AbortSignal): Promise<void> {
    let waits = backoff(this.#parts.backoff);
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
      if (performance.now() - liveAt >= this.#parts.stableAfter) {
        waits = backoff(this.#parts.backoff);
      }
      this.#live = false;
      this.#failures++;
      this.#router.loggers.debug(`Docker event stream of ${this.#parts.client.url} lost`, {
        action: "watch",
        error: failure,
      });
      this.#router.broadcast(failure);
      for (const watch of this.#router.watches()) this.#stale.add(watch);
      // The abort that stops the stream ends the wait, and the loop.
      await delay(waits.next().value, { signal }).catch(() => {});
    }
  }

  /** One connection: resync what needs it, then follow the live stream until it ends. */
  async #session(signal: AbortSignal, onLive: () => void): Promise<void> {
    await this.#resync(signal);
    // Without a position (the daemon told no clock, and no event came yet): the present.
    const response = await this.#parts.daemon.openEvents(
      { since: this.#position.resumeSince() },
      signal,
    );
    this.#live = true;
    onLive();
    await this.#pump(response, signal);
  }

  /** After a drop: replays the gap, reconciles where events were lost, force-reloads. */
  async #resync(signal: AbortSignal): Promise<void> {
    const stale = [...this.#stale].filter((watch) => this.#router.has(watch));
    if (stale.length === 0) return;
    const { daemon } = this.#parts;
    const pinged = await daemon.ping(signal);
    if (!await this.#replay(signal, pinged.podman, pinged.seconds)) {
      const loggers = new Map<string, WatchLoggers>();
      for (const watch of stale) {
        let forId = loggers.get(watch.id);
        if (forId === undefined) loggers.set(watch.id, forId = new WatchLoggers());
        forId.add(watch.logger);
      }
      const { states, seconds } = await daemon.inspectAll(loggers, signal);
      await this.#replay(signal, pinged.podman, seconds);
      for (const watch of stale) watch.reconcile(states.get(watch.id) ?? null);
    }
    for (const watch of stale) {
      this.#stale.delete(watch);
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
    try {
      return await this.#parts.daemon.bounded(signal, "replay", async (bounded) => {
        const response = await this.#parts.daemon.openEvents(query, bounded);
        await this.#pump(response, bounded);
        return this.#position.endProbe();
      });
    } catch (error) {
      // A daemon whose clock went back refuses `since` after `until`: nothing to join.
      if (error instanceof ApiError && error.status === 400) return false;
      throw error;
    } finally {
      this.#position.endProbe();
    }
  }

  /** Reads an events answer to its end, line by line. */
  async #pump(response: HttpResponse, signal: AbortSignal): Promise<void> {
    const splitter = new LineSplitter({ maxLineLength: this.#parts.maxLineLength });
    try {
      for (;;) {
        // Transient: the splitter keeps nothing of a chunk, so the read buffer is reused.
        const chunk = await response.read({ transient: true });
        if (signal.aborted) return;
        if (chunk === null) break;
        splitter.push(chunk, this.#sink);
        if (this.#router.takeBehind()) {
          // Lets consumers that read catch up before the next burst: one turn of the event loop,
          // in which readers with a pending read drain their queue. A stalled one is not waited
          // for. (setImmediate, not a 0 ms timer: that one costs about 2 ms.)
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      splitter.end(this.#sink);
    } catch (error) {
      throw this.#parts.client.transportError(error, { signal, context: this.#parts.context });
    } finally {
      response.cancel();
    }
  }
}
