/**
 * The one deadline mechanism of the library: every call that does I/O runs
 * under {@linkcode withDeadline}, which bounds it by a deadline of its own,
 * the caller's signal and, for a provider or client, its "closed" signal, and
 * says which one ended it. Provider calls (both runtimes), the Docker
 * client's raw requests and the Docker watch's daemon calls use it; the
 * timers and signals underneath come from `abort.ts`.
 *
 * @module
 */

import { MAX_TIMER_MS, timeoutSignal } from "./abort.ts";

/** What bounds a call. */
export interface DeadlineOptions {
  /** The caller's signal: its abort rejects with its reason. */
  signal?: AbortSignal;
  /** Aborted when the provider or client closes; none for a call that outlives neither. */
  closed?: AbortSignal;
  /** The call's own deadline, in milliseconds. */
  ms: number;
  /** The error for a passed deadline. */
  onTimeout: () => Error;
  /** The error for a provider closed during the call; `closed.reason` when absent. */
  onClosed?: () => unknown;
}

/** A call's deadline, on the shared {@linkcode Deadlines} list. */
interface Deadline {
  /** When it passes, in `performance.now()` time. */
  at: number;
  /** Called once when it passes while the call is in flight. */
  expire(): void;
}

/**
 * The deadlines of the calls in flight, under one timer armed for the
 * earliest: a call adds and removes an entry instead of starting a timer of
 * its own, which would linger until its deadline however soon the call ends.
 * The timer is an `AbortSignal.timeout` listened to only while calls are in
 * flight, so that, like a timeout per call, it keeps the process alive only
 * then.
 */
class Deadlines {
  #pending = new Set<Deadline>();
  #timer: AbortSignal | undefined;
  /** When `#timer` fires. */
  #timerAt = Infinity;
  #onTimer = () => this.#expire();

  add(deadline: Deadline): void {
    this.#pending.add(deadline);
    if (this.#timer === undefined || this.#timer.aborted || deadline.at < this.#timerAt) {
      this.#arm(deadline.at);
    } else if (this.#pending.size === 1) {
      this.#timer.addEventListener("abort", this.#onTimer);
    }
  }

  delete(deadline: Deadline): void {
    if (this.#pending.delete(deadline) && this.#pending.size === 0) {
      this.#timer?.removeEventListener("abort", this.#onTimer);
    }
  }

  #arm(at: number): void {
    this.#timer?.removeEventListener("abort", this.#onTimer);
    this.#timerAt = at;
    this.#timer = AbortSignal.timeout(Math.max(0, Math.ceil(at - performance.now())));
    this.#timer.addEventListener("abort", this.#onTimer);
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const deadline of this.#pending) {
      if (deadline.at <= now) {
        this.#pending.delete(deadline);
        deadline.expire();
      } else if (deadline.at < next) {
        next = deadline.at;
      }
    }
    if (next !== Infinity) this.#arm(next);
  }
}

const deadlines = new Deadlines();

/**
 * Runs `fn` with a signal that aborts on the first of: the caller's signal,
 * the provider closing, the deadline. A rejection after an abort is replaced
 * by the abort's meaning: the caller's reason, `onClosed()` or
 * `onTimeout()`.
 *
 * @typeParam T What `fn` resolves with.
 * @param options The signals and the deadline.
 * @param fn The call, which must honour the signal it is given.
 * @returns What `fn` resolves with.
 * @throws What `fn` throws, or the abort's meaning.
 */
export async function withDeadline<T>(
  options: DeadlineOptions,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal: caller, closed, ms, onTimeout } = options;
  const onClosed = options.onClosed ?? (() => closed?.reason);
  caller?.throwIfAborted();
  if (closed?.aborted) throw onClosed();
  // A negative or NaN deadline is refused with AbortSignal.timeout's own TypeError.
  if (!(ms >= 0)) timeoutSignal(ms);
  const call = new AbortController();
  let timedOut = false;
  const deadline: Deadline = {
    at: performance.now() + Math.min(ms, MAX_TIMER_MS),
    expire: () => {
      timedOut = true;
      call.abort(new DOMException("Signal timed out.", "TimeoutError"));
    },
  };
  const onCaller = () => call.abort(caller?.reason);
  const onProviderClosed = () => call.abort(closed?.reason);
  caller?.addEventListener("abort", onCaller);
  closed?.addEventListener("abort", onProviderClosed);
  deadlines.add(deadline);
  try {
    return await fn(call.signal);
  } catch (error) {
    if (caller?.aborted) throw caller.reason;
    if (closed?.aborted) throw onClosed();
    if (timedOut) throw onTimeout();
    throw error;
  } finally {
    deadlines.delete(deadline);
    caller?.removeEventListener("abort", onCaller);
    closed?.removeEventListener("abort", onProviderClosed);
  }
}
