/**
 * Helpers for the watch tests: a client on a socket, a recorder that drains
 * a watch's two streams, and waiting without stray timers.
 *
 * @module
 */

import type { Event } from "../../events/mod.ts";
import type { WatchStreams } from "../../provider.ts";
import { Transport } from "../../docker/_transport.ts";
import { defaultLogger } from "../../log.ts";
import { loadDialTarget, resolveDockerHost } from "../../docker/_host.ts";
import { WatchHub, type WatchHubOptions } from "../../docker/_watch/hub.ts";
import type { BackoffOptions } from "../../_internal/backoff.ts";

/** Fast retries, so that tests never sleep for long. */
export const FAST_BACKOFF: BackoffOptions = {
  minTimeout: 5,
  maxTimeout: 40,
  multiplier: 2,
  jitter: 0,
};

/**
 * A Docker transport on a unix socket; dispose it to close it.
 *
 * @param socketPath The engine's (or the proxy's) socket.
 * @returns The client, disposable.
 */
export function openClient(socketPath: string): Transport & Disposable {
  const host = resolveDockerHost({ socketPath }, () => undefined);
  const client = new Transport(host, loadDialTarget(host, Deno.readTextFileSync), defaultLogger);
  return Object.assign(client, { [Symbol.dispose]: () => client.close() });
}

/** A hub on its own client, and a signal that ends its watches when the test ends. */
export interface HubFixture extends AsyncDisposable {
  /** The hub. */
  hub: WatchHub;
  /** Pass it to every watch: disposing the fixture aborts it. */
  signal: AbortSignal;
}

/**
 * A hub with fast retries on a fresh client. Disposing it ends the watches
 * that got its signal and releases the client, also when a test fails.
 *
 * @param socketPath The engine's (or the proxy's) socket.
 * @param options Overrides of the hub's settings.
 * @returns The fixture.
 */
export function hubFixture(
  socketPath: string,
  options: Partial<WatchHubOptions> = {},
): HubFixture {
  const client = openClient(socketPath);
  const hub = new WatchHub(client, { backoff: FAST_BACKOFF, ...options });
  const stop = new AbortController();
  return {
    hub,
    signal: stop.signal,
    async [Symbol.asyncDispose]() {
      stop.abort();
      try {
        await poll(() => hub.watching === 0, "the watches to end", 5_000);
      } finally {
        client.close();
      }
    },
  };
}

/** Drains a watch's streams into arrays, and waits for what a test expects. */
export class WatchRecorder {
  /** Every event, in order. */
  readonly events: Event[] = [];
  /** Every error, in order. */
  readonly errors: Error[] = [];
  /** Settles once both streams closed. */
  readonly closed: Promise<void>;
  #waiters = new Set<() => void>();
  #ended = false;

  /**
   * Starts reading both streams.
   *
   * @param streams The watch's streams.
   */
  constructor(streams: WatchStreams) {
    this.closed = Promise.all([
      this.#drain(streams.events, this.events),
      this.#drain(streams.errors, this.errors),
    ]).then(() => {
      this.#ended = true;
      this.#notify();
    });
  }

  /** The actions received, force-reloads included. */
  get actions(): string[] {
    return this.events.map((event) => event.action);
  }

  /** Whether both streams closed. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Waits until `condition` holds (checked after each item), or fails after `ms`.
   *
   * @param condition What to wait for.
   * @param what Words for the failure message.
   * @param ms The bound.
   */
  async until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
    if (condition()) return;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const check = () => {
      if (condition()) resolve();
      else if (this.#ended) reject(new Error(`streams closed before ${what}: ${this.#state()}`));
    };
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}: ${this.#state()}`)),
      ms,
    );
    this.#waiters.add(check);
    try {
      await promise;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(check);
    }
  }

  /**
   * Waits until `count` events of `action` arrived in total.
   *
   * @param action The action.
   * @param count How many.
   */
  async untilAction(action: string, count = 1): Promise<void> {
    await this.until(
      () => this.actions.filter((a) => a === action).length >= count,
      `${count}× ${action}`,
    );
  }

  async #drain<T>(stream: ReadableStream<T>, into: T[]): Promise<void> {
    for await (const item of stream) {
      into.push(item);
      this.#notify();
    }
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #state(): string {
    const actions = this.actions;
    const errors = this.errors.map((e) => e.message);
    return `${actions.length} events, last [${actions.slice(-12).join(", ")}]; ${errors.length} ` +
      `errors, last [${errors.slice(-3).join(" | ")}]`;
  }
}

/**
 * Waits until `condition` holds, checking every few milliseconds, or fails after `ms`.
 *
 * @param condition What to wait for.
 * @param what Words for the failure message.
 * @param ms The bound.
 */
export async function poll(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const began = Date.now();
  while (!condition()) {
    if (Date.now() - began > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
