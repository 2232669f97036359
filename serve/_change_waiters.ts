/**
 * Waits for the next change of any instance: the readiness gate of the
 * blocking strategy and of a wake's dependencies. One notification wakes
 * every waiter; a waiter whose signal aborts leaves at once.
 *
 * @module
 */

/** The callers waiting for the next change. */
export class ChangeWaiters {
  #waiters = new Set<() => void>();

  /** Wakes every waiter. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Waits until `done()` holds, looking again after each change.
   *
   * @param done What the caller waits for.
   * @param signal Ends the wait: it rejects with the signal's reason.
   */
  async until(done: () => boolean, signal: AbortSignal): Promise<void> {
    while (!done()) {
      signal.throwIfAborted();
      await this.#next(signal);
    }
  }

  #next(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        signal.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        this.#waiters.delete(done);
        reject(signal.reason);
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }
}
