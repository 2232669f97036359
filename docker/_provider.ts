/**
 * The {@linkcode Provider} for one Docker (or Podman) container, on top of
 * a {@linkcode DockerClient} it shares with the other providers of the daemon:
 * checks each call's arguments, bounds it with a deadline, logs its failure,
 * and hands it to the container's calls (`_power.ts`).
 *
 * @module
 */

import { ProviderError, TimeoutError } from "../errors.ts";
import { logFailure } from "../_internal/log_failure.ts";
import { checkSignal, checkStopTimeout } from "../_internal/validate.ts";
import type { Logger } from "../log.ts";
import type {
  CallOptions,
  ContainerSignal,
  ContainerStatus,
  Provider,
  WatchStreams,
} from "../provider.ts";
import { failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { ContainerPower } from "./_power.ts";
import { clientCore, type DockerClient } from "./client.ts";
import type { WatchHub } from "./_watch/hub.ts";
import { withDeadline } from "../_internal/deadline.ts";

/** The deadline of a call that does not stop a container. */
export const CALL_DEADLINE_MS = 30_000;

/**
 * How long a stop may take beyond its own timeout: the daemon kills the
 * container after the timeout and waits for it to exit. A stop request that
 * is dropped early can leave the container killed, so this stays generous.
 */
export const STOP_GRACE_MS = 30_000;

/** The Docker implementation of {@linkcode Provider}. */
export class DockerProvider implements Provider {
  #power: ContainerPower;
  #watches: () => WatchHub;
  #release: () => void;
  #container: string;
  #logger: Logger;
  #closed = new AbortController();

  /**
   * Creates a provider on a client.
   *
   * @param client The client it shares with the daemon's other providers.
   * @param container A validated container id or name.
   * @param options Where API calls and failures are logged, and what to do
   * with the client on close (give it back when it was made for the provider,
   * nothing when the caller owns it).
   */
  constructor(
    client: DockerClient,
    container: string,
    options: { logger: Logger; release: () => void },
  ) {
    const core = clientCore(client);
    this.#power = new ContainerPower(core.transport, container, options.logger);
    this.#watches = core.hub;
    this.#release = options.release;
    this.#container = container;
    this.#logger = options.logger;
  }

  containerStart(options?: CallOptions): Promise<void> {
    return this.#plain("start", options);
  }

  containerPause(options?: CallOptions): Promise<void> {
    return this.#plain("pause", options);
  }

  containerUnpause(options?: CallOptions): Promise<void> {
    return this.#plain("unpause", options);
  }

  async containerKill(signal: ContainerSignal, options?: CallOptions): Promise<void> {
    const checked = checkSignal(signal, this.#errorContext("kill"));
    return await this.#operate("kill", options, () => CALL_DEADLINE_MS, async (abort, context) => {
      await this.#power.kill(checked, abort, context);
    });
  }

  async containerStop(
    signal: ContainerSignal,
    timeout: number,
    options?: CallOptions,
  ): Promise<void> {
    const checked = checkSignal(signal, this.#errorContext("stop"));
    const seconds = checkStopTimeout(timeout, this.#errorContext("stop"));
    return await this.#operate(
      "stop",
      options,
      () => seconds * 1000 + STOP_GRACE_MS,
      (abort, context) => this.#power.stop(checked, seconds, abort, context),
    );
  }

  containerStatus(options?: CallOptions): Promise<ContainerStatus> {
    return this.#operate(
      "status",
      options,
      () => CALL_DEADLINE_MS,
      (signal, context) => this.#power.inspect(signal, context),
    );
  }

  watch(options?: CallOptions): WatchStreams {
    const signal = options?.signal === undefined
      ? this.#closed.signal
      : AbortSignal.any([options.signal, this.#closed.signal]);
    return this.#watches().watch(this.#container, { signal, logger: this.#logger });
  }

  /** Aborts the calls in flight and ends the provider's watches; gives back a client made for it. Idempotent. */
  close = (): void => {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort(new ProviderError("The provider is closed"));
    this.#release();
  };

  /** The same function as {@linkcode DockerProvider.close}. */
  [Symbol.dispose]: () => void = this.close;

  /** An operation without parameters: start, pause or unpause. */
  #plain(action: "start" | "pause" | "unpause", options: CallOptions | undefined): Promise<void> {
    return this.#operate(action, options, () => CALL_DEADLINE_MS, async (signal, context) => {
      await this.#power.post(action, {}, signal, context);
    });
  }

  /** Runs one operation: checks the provider is open, bounds it, logs a failure ({@linkcode logFailure}). */
  async #operate<T>(
    action: string,
    options: CallOptions | undefined,
    deadlineMs: () => number,
    fn: (signal: AbortSignal, context: RequestContext) => Promise<T>,
  ): Promise<T> {
    const context: RequestContext = { action, container: this.#container, logger: this.#logger };
    const caller = options?.signal;
    try {
      if (this.#closed.signal.aborted) throw this.#closedError(action);
      const ms = deadlineMs();
      return await withDeadline({
        signal: caller,
        closed: this.#closed.signal,
        ms,
        onTimeout: () =>
          new TimeoutError(
            `${failurePrefix(context)}: no result within ${ms / 1000} s`,
            this.#errorContext(action),
          ),
        onClosed: () => this.#closedError(action),
      }, (signal) => fn(signal, context));
    } catch (error) {
      logFailure(this.#logger, error, {
        action,
        container: this.#container,
        cancelled: caller?.aborted === true || this.#closed.signal.aborted,
      });
      throw error;
    }
  }

  #closedError(action: string): ProviderError {
    return new ProviderError(
      `${failurePrefix({ action, container: this.#container })}: the provider is closed`,
      this.#errorContext(action),
    );
  }

  #errorContext(action: string): { runtime: "docker"; action: string; container: string } {
    return { runtime: "docker", action, container: this.#container };
  }
}
