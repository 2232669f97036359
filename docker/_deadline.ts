/**
 * Runs one provider call under a deadline of its own, the caller's signal,
 * and the provider's "closed" signal, and says which one ended it.
 *
 * @module
 */

/** The longest delay a timer takes; longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `AbortSignal.timeout(ms)`, with `ms` capped at what a timer can wait
 * (about 24.8 days), so a very long timeout means "very long", not "now".
 *
 * @param ms The delay in milliseconds.
 * @returns A signal that aborts with a `TimeoutError` DOMException after the delay.
 */
export function timeoutSignal(ms: number): AbortSignal {
  return AbortSignal.timeout(Math.min(ms, MAX_TIMER_MS));
}

/** What bounds a call. */
export interface DeadlineOptions {
  /** The caller's signal: its abort rejects with its reason. */
  signal?: AbortSignal;
  /** Aborted when the provider closes. */
  closed: AbortSignal;
  /** The call's own deadline, in milliseconds. */
  ms: number;
  /** The error for a passed deadline. */
  onTimeout: () => Error;
  /** The error for a provider closed during the call. */
  onClosed: () => Error;
}

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
  const { signal: caller, closed, ms, onTimeout, onClosed } = options;
  caller?.throwIfAborted();
  if (closed.aborted) throw onClosed();
  const deadline = timeoutSignal(ms);
  const signal = AbortSignal.any(caller ? [caller, closed, deadline] : [closed, deadline]);
  try {
    return await fn(signal);
  } catch (error) {
    if (caller?.aborted) throw caller.reason;
    if (closed.aborted) throw onClosed();
    if (deadline.aborted) throw onTimeout();
    throw error;
  }
}
