/**
 * Reconnection pacing for watches: the default backoff, and a deadline for
 * one request that leaves no timer behind.
 *
 * @module
 */

import type { BackoffOptions } from "../../_internal/backoff.ts";

/** The default spacing: 100 ms, 200 ms, 400 ms, ... up to 5 s, each up to half shorter at random. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  minTimeout: 100,
  maxTimeout: 5_000,
  multiplier: 2,
  jitter: 0.5,
});

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
