/**
 * The sessions of the managed instances: each instance's end, saved so that
 * it survives a restart, restored when the instance is found again, and a
 * default given to an instance found running without one.
 *
 * @module
 */

import type { Instance } from "./_instance.ts";
import { messageOf } from "../_internal/message.ts";
import type { ServeLogger } from "./_model.ts";
import { type SavedSession, SessionStore } from "./_session_store.ts";

/** Options of {@linkcode Sessions}. */
export interface SessionsOptions {
  /** Where sessions are saved; without it, they live in memory only. */
  stateDir?: string;
  /** The session given to a managed instance found running without one, in ms. */
  defaultSessionMs: number;
  /** Where to report a failed write or a bad state file. */
  logger: ServeLogger;
  /** The clock, in ms since the epoch. */
  now(): number;
}

/** The instances' sessions and their saved copy. */
export class Sessions {
  #store: SessionStore;
  #saved = new Map<string, SavedSession>();
  #defaultSessionMs: number;
  #now: () => number;

  /** @param options The state directory, the default session, the logger and the clock. */
  constructor(options: SessionsOptions) {
    this.#defaultSessionMs = options.defaultSessionMs;
    this.#now = options.now;
    this.#store = new SessionStore(options.stateDir, {
      onWriteError: (error) => options.logger.error(`Cannot save sessions: ${messageOf(error)}`),
      warn: (message) => options.logger.warn(message),
    });
  }

  /** Reads the sessions saved before a restart; each is applied when its instance is found. */
  async load(): Promise<void> {
    this.#saved = await this.#store.load();
  }

  /**
   * Moves `instance`'s session end to `until` (never earlier) and saves it.
   *
   * @param instance The instance.
   * @param until The new end, in ms since the epoch.
   * @returns The write to wait for, when the new end must reach the disk first.
   */
  extend(instance: Instance, until: number): Promise<void> | undefined {
    if (!instance.extend(until)) return undefined;
    return this.#store.extend(instance.key, { name: instance.name, until }, this.#now());
  }

  /**
   * Gives `instance` the default session from now.
   *
   * @param instance An instance that runs without a session.
   */
  giveDefault(instance: Instance): void {
    this.extend(instance, this.#now() + this.#defaultSessionMs);
  }

  /**
   * Applies the saved session of an instance just found: one that has not
   * ended goes on, one that ended puts the instance to sleep; a running
   * instance without one gets the default.
   *
   * @param instance The instance.
   */
  restore(instance: Instance): void {
    const saved = this.#saved.get(instance.key);
    this.#saved.delete(instance.key);
    const now = this.#now();
    if (saved !== undefined && saved.until > now) {
      instance.extend(saved.until);
    } else if (saved !== undefined) {
      this.#store.remove(instance.key);
      instance.sleep();
    } else if (instance.status === "running") {
      this.extend(instance, now + this.#defaultSessionMs);
    }
  }

  /**
   * Forgets an instance's saved session (it ended, or the instance is gone).
   *
   * @param instance The instance.
   */
  forget(instance: Instance): void {
    this.#store.remove(instance.key);
  }

  /** Waits until the file holds every change. */
  flush(): Promise<void> {
    return this.#store.flush();
  }
}
