/**
 * Routing of a shared Docker events stream: which watches are attached, by
 * full container id; the last lines of the stream, to hand a watch what
 * arrived while its container was inspected; delivering each line to the
 * watches of its container; and telling every watch about a failure of the
 * stream, in its own words.
 *
 * @module
 */

import { failurePrefix, restate } from "../../_internal/errdefs.ts";
import { ProviderError } from "../../errors.ts";
import type { ContainerWatch } from "./_container.ts";
import { WatchLoggers } from "./_loggers.ts";
import { EventLineParser } from "./_line_parser.ts";
import { idSet, lineTimeNano, mayConcern } from "./_wire.ts";

/** Lines kept to hand a new watch what arrived while its container was inspected. */
export const RING_SIZE = 256;

/** The watches a stream feeds, and the lines it fed them last. */
export class WatchRouter {
  /** The loggers of the attached watches: where the stream's own lines go. */
  readonly loggers: WatchLoggers = new WatchLoggers();
  #byId = new Map<string, Set<ContainerWatch>>();
  /** The keys of `#byId`, as lines are checked against them. */
  #watched = idSet(this.#byId);
  #size = 0;
  #seq = 0;
  #ring: (string | undefined)[] = new Array(RING_SIZE);
  /** Set when a delivery left a consumer behind. */
  #behind = false;
  /** Parses lines, sparing a full parse of a line that repeats a recent one but for its times. */
  #parser = new EventLineParser();
  /** The start of the stream's messages, `Cannot watch container "*"`. */
  #prefix: string;

  /**
   * Creates an empty router.
   *
   * @param prefix How the stream's own messages start; restated for each watch.
   */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** How many watches are attached. */
  get size(): number {
    return this.#size;
  }

  /** The number of the last line routed: a watch's start is told what came after it. */
  get seq(): number {
    return this.#seq;
  }

  /** Whether a consumer fell behind since the last call: the stream then yields once. */
  takeBehind(): boolean {
    const behind = this.#behind;
    this.#behind = false;
    return behind;
  }

  /** Every attached watch. */
  *watches(): IterableIterator<ContainerWatch> {
    for (const watches of this.#byId.values()) yield* watches;
  }

  /**
   * Tells whether a watch is attached.
   *
   * @param watch The watch.
   * @returns `true` while it is attached.
   */
  has(watch: ContainerWatch): boolean {
    return this.#byId.get(watch.id)?.has(watch) ?? false;
  }

  /** Forgets the lines of an earlier stream. */
  resetLines(): void {
    this.#ring.fill(undefined);
  }

  /**
   * Attaches a watch and hands it the lines of its container routed since
   * `seq`; a watch that missed more than the ring holds gets a force-reload.
   *
   * @param watch The watch, inspected (its `id` is known).
   * @param seq {@linkcode WatchRouter.seq} when its inspection was sent;
   * `undefined` when the stream starts for this watch (nothing to hand it).
   */
  attach(watch: ContainerWatch, seq: number | undefined): void {
    let watches = this.#byId.get(watch.id);
    if (watches === undefined) {
      this.#byId.set(watch.id, watches = new Set());
      this.#watched = idSet(this.#byId);
    }
    watches.add(watch);
    this.#size++;
    this.loggers.add(watch.logger);
    if (seq === undefined) return;
    const only = idSet(new Set([watch.id]));
    const from = Math.max(seq, this.#seq - RING_SIZE);
    for (let i = from + 1; i <= this.#seq; i++) {
      const text = this.#ring[i % RING_SIZE];
      if (text === undefined || !mayConcern(text, only)) continue;
      try {
        const event = this.#parser.parse(text, lineTimeNano(text));
        if (event?.id === watch.id) watch.deliver(event);
      } catch {
        // Reported when it arrived.
      }
    }
    if (this.#seq - seq > RING_SIZE) watch.forceReload();
  }

  /**
   * Detaches a watch.
   *
   * @param watch The watch.
   * @returns Whether it was attached.
   */
  detach(watch: ContainerWatch): boolean {
    const watches = this.#byId.get(watch.id);
    if (!watches?.delete(watch)) return false;
    this.#size--;
    this.loggers.delete(watch.logger);
    if (watches.size === 0) {
      this.#byId.delete(watch.id);
      this.#watched = idSet(this.#byId);
    }
    return true;
  }

  /**
   * Keeps a line of the stream and delivers its event to the watches of its
   * container.
   *
   * @param text The line.
   * @param timeNano Its `timeNano`, when the line has one.
   */
  route(text: string, timeNano: string | undefined): void {
    this.#ring[++this.#seq % RING_SIZE] = text;
    if (this.#size === 0 || !mayConcern(text, this.#watched)) return;
    let event;
    try {
      event = this.#parser.parse(text, timeNano);
    } catch (error) {
      this.broadcast(
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

  /**
   * Reports a failure of the shared stream to every attached watch, in its
   * own words and with the failure's kind ({@linkcode restate}).
   *
   * @param failure What went wrong.
   */
  broadcast(failure: unknown): void {
    for (const watch of this.watches()) {
      watch.report(() => this.forWatch(failure, watch.ref));
    }
  }

  /**
   * A failure of the stream's own requests in the words of one watch.
   *
   * @param error What went wrong.
   * @param ref The watch's container, as its caller named it.
   * @returns The error, of the failure's kind.
   */
  forWatch(error: unknown, ref: string): Error {
    const prefix = failurePrefix({ action: "watch", container: ref });
    const text = error instanceof Error ? error.message : String(error);
    const message = text.startsWith(this.#prefix)
      ? prefix + text.slice(this.#prefix.length)
      : `${prefix}: ${text}`;
    return restate(error, message, { runtime: "docker", action: "watch", container: ref });
  }
}
