/**
 * Reads a provider's watch until a number of lifecycle events arrived.
 *
 * @module
 */

import type { Provider } from "../provider.ts";
import type { Event } from "../events/mod.ts";

/** What a drain saw. */
export interface DrainResult {
  /** Seconds from `watch()` to the last expected event. */
  seconds: number;
  /** Lifecycle events received (force-reloads not counted). */
  events: number;
  /** Messages of the errors the watch reported meanwhile. */
  errors: string[];
}

/**
 * Watches until `expected` lifecycle events arrived or `timeoutMs` passed,
 * then ends the watch.
 *
 * @param provider The provider to watch.
 * @param expected How many events to wait for.
 * @param timeoutMs The bound.
 * @param onEvent Called with the running count after each event.
 * @returns What arrived, and when the last one did.
 */
export async function drainWatch(
  provider: Provider,
  expected: number,
  timeoutMs: number,
  onEvent?: (count: number, event: Event) => void,
): Promise<DrainResult> {
  const stop = new AbortController();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([stop.signal, timeout]);
  const began = performance.now();
  const { events, errors } = provider.watch({ signal });
  const seen: string[] = [];
  const errorsDone = (async () => {
    try {
      for await (const error of errors) seen.push(error.message);
    } catch { /* ended by the abort */ }
  })();
  let count = 0;
  let last = began;
  try {
    for await (const event of events) {
      if (event.action === "force-reloaded") continue;
      count++;
      last = performance.now();
      onEvent?.(count, event);
      if (count >= expected) break;
    }
  } catch (error) {
    if (!timeout.aborted) throw error;
  } finally {
    stop.abort();
    await errorsDone;
  }
  return { seconds: (last - began) / 1000, events: count, errors: seen };
}
