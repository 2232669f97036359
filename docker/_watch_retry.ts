/**
 * Reconnection pacing for watches: exponential backoff with jitter, in the
 * vocabulary of std's `retry` (`minTimeout`, `maxTimeout`, `multiplier`,
 * `jitter`), and an abortable sleep that leaves no timer behind.
 *
 * @module
 */

/** How retries are spaced. */
export interface BackoffOptions {
  /** The delay before the first retry, in milliseconds. @default {100} */
  minTimeout: number;
  /** The longest delay, in milliseconds. @default {5000} */
  maxTimeout: number;
  /** How much each delay grows over the one before. @default {2} */
  multiplier: number;
  /** The share of each delay taken off at random, from 0 (none) to 1. @default {0.5} */
  jitter: number;
}

/** The default spacing: 100 ms, 200 ms, 400 ms, ... up to 5 s, each up to half shorter at random. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  minTimeout: 100,
  maxTimeout: 5_000,
  multiplier: 2,
  jitter: 0.5,
});

/**
 * The delay before retry number `attempt`.
 *
 * @param attempt 0 for the first retry.
 * @param options The spacing.
 * @returns Milliseconds.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { minTimeout, maxTimeout, multiplier, jitter } = options;
  const exponential = Math.min(maxTimeout, minTimeout * multiplier ** attempt);
  return Math.round(exponential * (1 - jitter * Math.random()));
}

/**
 * Waits, unless `signal` aborts first.
 *
 * @param ms Milliseconds.
 * @param signal Ends the wait early; the promise then resolves all the same.
 * @returns Resolves when the time is up or the signal aborted.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A signal that aborts with `signal`, or with `onTimeout()` after `ms`.
 * Call `clear()` when done, so that no timer is left running.
 *
 * @param signal The outer signal.
 * @param ms The deadline in milliseconds.
 * @param onTimeout The reason of a passed deadline.
 * @returns The signal and its cleanup.
 */
export function deadline(
  signal: AbortSignal,
  ms: number,
  onTimeout: () => Error,
): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  const timer = setTimeout(() => controller.abort(onTimeout()), ms);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    },
  };
}
