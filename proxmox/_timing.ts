/**
 * Waiting helpers: an abortable delay and a geometric backoff schedule.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or rejects with `signal.reason` as soon
 * as the signal aborts. Leaves no timer behind either way.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The shape of a growing wait: `min`, then ×`multiplier` each time, capped at `max`. */
export interface BackoffOptions {
  /** The first wait, in milliseconds. */
  minTimeout: number;
  /** The longest wait, in milliseconds. */
  maxTimeout: number;
  /** The factor from one wait to the next. */
  multiplier: number;
}

/**
 * Polling waits for a task or a state change: the first check comes within
 * tens of milliseconds, so that a quick task costs little; later checks back
 * off to one a second, so that a slow one costs few requests.
 */
export const POLL_BACKOFF: BackoffOptions = Object.freeze({
  minTimeout: 15,
  maxTimeout: 1_000,
  multiplier: 1.5,
});

/** Waits between retries of a GET that a node could not answer (595/596/502/503). */
export const RETRY_BACKOFF: BackoffOptions = Object.freeze({
  minTimeout: 100,
  maxTimeout: 400,
  multiplier: 2,
});

/** Yields the waits of a backoff, forever. */
export function* backoff(options: BackoffOptions): Generator<number, never> {
  let wait = options.minTimeout;
  while (true) {
    yield wait;
    wait = Math.min(options.maxTimeout, wait * options.multiplier);
  }
}
