/**
 * Growing waits between retries, in the vocabulary of std's `retry`
 * (`minTimeout`, `maxTimeout`, `multiplier`, `jitter`), shared by the
 * providers: Docker's watch reconnections, Proxmox's polls and retries.
 *
 * @module
 */

/** How waits grow: `minTimeout`, then ×`multiplier` each time, capped at `maxTimeout`. */
export interface BackoffOptions {
  /** The first wait, in milliseconds. */
  minTimeout: number;
  /** The longest wait, in milliseconds. */
  maxTimeout: number;
  /** The factor from one wait to the next. */
  multiplier: number;
  /**
   * The share of each wait taken off at random, from 0 (none) to 1, so that
   * clients that failed together do not retry together.
   * @default {0}
   */
  jitter?: number;
}

/**
 * Yields the waits of a backoff, forever: `minTimeout`, then each wait
 * ×`multiplier`, capped at `maxTimeout`; each shortened at random by up to
 * `jitter` of it.
 *
 * @param options The shape of the waits.
 * @returns The waits, in milliseconds.
 *
 * @example Polls that start quick and slow down to one a second
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { backoff } from "./backoff.ts";
 *
 * const waits = backoff({ minTimeout: 250, maxTimeout: 1_000, multiplier: 2 });
 * deepStrictEqual([1, 2, 3, 4].map(() => waits.next().value), [250, 500, 1000, 1000]);
 * ```
 */
export function* backoff(options: BackoffOptions): Generator<number, never> {
  const { minTimeout, maxTimeout, multiplier, jitter = 0 } = options;
  let wait = Math.min(maxTimeout, minTimeout);
  while (true) {
    yield wait * (1 - jitter * Math.random());
    wait = Math.min(maxTimeout, wait * multiplier);
  }
}
