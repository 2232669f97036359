/**
 * When an instance's session ends, and the one timer that reports it. The
 * end only moves forward; a timer set for an earlier end re-arms itself when
 * it fires, so that there is one timer call per session end reached, not per
 * request.
 *
 * @module
 */

/** A timer can wait at most this long; longer sessions re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the timer needs from its instance. */
export interface SessionTimerContext {
  /** The clock, in ms since the epoch. */
  now(): number;
  /** Called once the session's end is reached and was not moved meanwhile. */
  ended(): void;
  /** No timer is armed once it aborts. */
  signal: AbortSignal;
}

/** One instance's session end and its timer. */
export class SessionTimer {
  #until = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #context: SessionTimerContext;

  /** @param context The clock, what to call at the end, and the instance's life signal. */
  constructor(context: SessionTimerContext) {
    this.#context = context;
  }

  /** When the session ends, in ms since the epoch (0: none). */
  get until(): number {
    return this.#until;
  }

  /** Whether the session has not ended. */
  get active(): boolean {
    return this.#until > this.#context.now();
  }

  /**
   * Moves the session's end to `until` when that is later; never earlier.
   *
   * @param until The new end, in ms since the epoch.
   * @returns Whether the end moved.
   */
  extend(until: number): boolean {
    if (until <= this.#until) return false;
    this.#until = until;
    if (this.#timer === undefined) this.#arm();
    return true;
  }

  /** Drops the timer. */
  close(): void {
    clearTimeout(this.#timer);
  }

  /** Arms the timer for the current end. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#context.signal.aborted) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, this.#until - this.#context.now()));
    this.#timer = setTimeout(() => this.#expire(), wait);
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.active) {
      this.#arm();
      return;
    }
    this.#context.ended();
  }
}
