/**
 * Abort helpers shared by the providers: a deadline signal that a long
 * timeout cannot break, a promise raced against a signal, and an abortable
 * delay.
 *
 * Timers wait at most 2^31-1 ms (about 24.8 days); a longer `setTimeout` or
 * `AbortSignal.timeout` fires at once. These helpers never do.
 *
 * @module
 */

/** The longest delay a timer takes, in milliseconds; a longer one fires at once. */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;

/**
 * `AbortSignal.timeout(ms)`, with `ms` capped at what a timer can wait
 * (about 24.8 days): a very long timeout means "very long", not "now". Like
 * `AbortSignal.timeout`, it keeps the process alive only while someone
 * listens to it.
 *
 * @param ms The delay in milliseconds; `Infinity` is taken as the cap.
 * @returns A signal that aborts with a `TimeoutError` `DOMException` after the delay.
 * @throws {TypeError} When `ms` is negative or `NaN`.
 *
 * @example A deadline of 30 days does not pass at once
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { timeoutSignal } from "./abort.ts";
 *
 * const deadline = timeoutSignal(30 * 24 * 60 * 60 * 1000);
 * strictEqual(deadline.aborted, false);
 * ```
 */
export function timeoutSignal(ms: number): AbortSignal {
  return AbortSignal.timeout(Math.min(ms, MAX_TIMER_MS));
}

/**
 * Waits for `promise`, but rejects with `signal.reason` as soon as `signal`
 * aborts (at once when it already has). The promise itself goes on; what it
 * settles with later is ignored.
 *
 * @typeParam T What `promise` resolves with.
 * @param promise The promise to wait for.
 * @param signal Ends the wait; without one this is `promise`.
 * @returns What `promise` resolves with.
 * @throws What `promise` rejects with, or `signal.reason` when the signal aborts first.
 *
 * @example Stop waiting for a shared login when the caller gives up
 * ```ts
 * import { rejects, strictEqual } from "node:assert/strict";
 * import { raceSignal } from "./abort.ts";
 *
 * const login = new Promise<string>((resolve) => setTimeout(() => resolve("ticket"), 10));
 * const caller = new AbortController();
 * caller.abort(new Error("gave up"));
 * await rejects(raceSignal(login, caller.signal), { message: "gave up" });
 * strictEqual(await login, "ticket"); // others still get it
 * ```
 */
export function raceSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Ends the delay early: it rejects with `signal.reason`.
   * @default {undefined} */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds, however long (a delay longer than a
 * timer can wait is split into several timers), or rejects with
 * `signal.reason` as soon as the signal aborts. Leaves no timer behind
 * either way. Like `setTimeout`, it keeps the process alive while it waits.
 *
 * @param ms The delay in milliseconds; `Infinity` waits until the signal aborts,
 * a negative delay or `NaN` is 0.
 * @param options The abort signal.
 * @returns A promise that resolves once the delay has passed.
 * @throws The signal's reason, when it aborts first.
 *
 * @example Wait, unless the caller gives up
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { delay } from "./abort.ts";
 *
 * await delay(10);
 * const caller = new AbortController();
 * const waiting = delay(60_000, { signal: caller.signal });
 * caller.abort(new Error("gave up"));
 * await rejects(waiting, { message: "gave up" });
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const end = performance.now() + (ms > 0 ? ms : 0);
    let timer: ReturnType<typeof setTimeout>;
    const arm = (left: number) => {
      timer = setTimeout(() => {
        const rest = end - performance.now();
        if (rest > 0) return arm(rest);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.min(Math.ceil(left), MAX_TIMER_MS));
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    arm(end - performance.now());
  });
}
