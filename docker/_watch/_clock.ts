/**
 * The daemon's clock as the watches that begin while no stream runs need
 * it: one `/info` shared by all of them, read as a lower bound of the
 * daemon's time when the first of them was asked for.
 *
 * The daemon takes its `SystemTime` somewhere between the request and the
 * answer (Podman at the very end of an `/info` that takes hundreds of
 * milliseconds), so the reading minus the whole round trip, as timed here,
 * is no later than the daemon's time when the request was sent. A stream
 * that starts from it thus replays every event that came after that moment.
 *
 * @module
 */

import type { RequestContext } from "../../_internal/errdefs.ts";
import type { Logger } from "../../log.ts";
import type { DaemonCalls } from "./_daemon.ts";
import { WatchLoggers } from "./_loggers.ts";

/** One `/info`, shared by the watches that joined it. */
export interface ClockReading {
  /**
   * The daemon's time when the request was sent, at the latest, in
   * nanoseconds since the epoch; `undefined` when the daemon tells no clock.
   * Rejects when the request fails.
   */
  readonly since: Promise<bigint | undefined>;
  /** Whether the request failed: whoever joined it needs a new one. */
  readonly failed: boolean;
}

interface Reading extends ClockReading {
  since: Promise<bigint | undefined>;
  failed: boolean;
  stop: AbortController;
  loggers: WatchLoggers;
  settled: Promise<void>;
}

/** The shared clock reading of a hub. */
export class SharedClock {
  #daemon: DaemonCalls;
  #context: RequestContext;
  /** The reading new watches join, until the stream starts or it fails. */
  #current: Reading | undefined;
  /** Every reading still in flight, the ones forgotten included. */
  #pending = new Set<Reading>();

  /**
   * Creates a clock; nothing is sent before {@linkcode SharedClock.join}.
   *
   * @param daemon The daemon calls.
   * @param context The context of the hub's own requests.
   */
  constructor(daemon: DaemonCalls, context: RequestContext) {
    this.#daemon = daemon;
    this.#context = context;
  }

  /**
   * Joins the reading held, or sends a new one.
   *
   * @param logger Where the request is logged (with the other joiners' loggers).
   * @returns The reading.
   */
  join(logger: Logger): ClockReading {
    const reading = this.#current ??= this.#read();
    reading.loggers.add(logger);
    return reading;
  }

  /**
   * Stops logging the request to `logger`, once a watch no longer waits for it.
   *
   * @param reading What {@linkcode SharedClock.join} returned.
   * @param logger The logger given to it.
   */
  leave(reading: ClockReading, logger: Logger): void {
    (reading as Reading).loggers.delete(logger);
  }

  /** Forgets the reading held (the stream started): the next watch that needs one sends its own. */
  clear(): void {
    this.#current = undefined;
  }

  /**
   * Forgets the reading held and aborts every request in flight, once no
   * watch needs them.
   *
   * @returns Settles once no request runs.
   */
  drop(): Promise<void> {
    this.#current = undefined;
    const settled = [...this.#pending].map((reading) => {
      reading.stop.abort();
      return reading.settled;
    });
    return Promise.all(settled).then(() => {});
  }

  #read(): Reading {
    const stop = new AbortController();
    const loggers = new WatchLoggers();
    const sentAt = performance.now();
    const reading = { failed: false, stop, loggers } as Reading;
    const context = { ...this.#context, logger: loggers };
    reading.since = this.#daemon.clock(stop.signal, context).then((now) => {
      if (now === undefined) return undefined;
      // The daemon took its time at most this long after the request was sent.
      return now - BigInt(Math.ceil((performance.now() - sentAt) * 1_000_000));
    }, (error) => {
      reading.failed = true;
      if (this.#current === reading) this.#current = undefined;
      throw error;
    });
    this.#pending.add(reading);
    reading.settled = reading.since.then(() => {}, () => {}).finally(() => {
      this.#pending.delete(reading);
    });
    return reading;
  }
}
