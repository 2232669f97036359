/**
 * Reconnection pacing for watches: the default backoff.
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
