/**
 * Timers that one call can cancel all at once, so a stopped fake leaves no
 * pending timer behind (the op sanitizer would flag it).
 *
 * @module
 */

/** Tracks every pending timer and sleep of the fake. */
export class Timers {
  #pending = new Set<ReturnType<typeof setTimeout>>();
  #closed = new AbortController();

  /** Aborts when {@linkcode Timers.cancelAll} runs. */
  get signal(): AbortSignal {
    return this.#closed.signal;
  }

  /** Runs `fn` after `ms` unless the timers are cancelled first. */
  after(ms: number, fn: () => void): void {
    if (this.#closed.signal.aborted) return;
    const id = setTimeout(() => {
      this.#pending.delete(id);
      fn();
    }, Math.max(0, ms));
    this.#pending.add(id);
  }

  /**
   * Resolves after `ms`; rejects with the abort reason when `signal` aborts or
   * the timers are cancelled.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const all = signal ? AbortSignal.any([signal, this.#closed.signal]) : this.#closed.signal;
    return new Promise((resolve, reject) => {
      if (all.aborted) return reject(all.reason);
      const onAbort = () => {
        clearTimeout(id);
        this.#pending.delete(id);
        reject(all.reason);
      };
      const id = setTimeout(() => {
        this.#pending.delete(id);
        all.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      this.#pending.add(id);
      all.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Clears every pending timer and rejects every pending sleep. */
  cancelAll(): void {
    for (const id of this.#pending) clearTimeout(id);
    this.#pending.clear();
    this.#closed.abort(new Error("fake PVE closed"));
  }
}
