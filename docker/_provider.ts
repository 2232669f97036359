/**
 * The {@linkcode Provider} for one Docker (or Podman) container, on top of
 * a {@linkcode DockerClient} it shares with the other providers of the daemon.
 *
 * @module
 */

import { ApiError, ProviderError, TimeoutError } from "../errors.ts";
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
import {
  ACTIONS,
  compareApiVersions,
  type ContainerAction,
  containerPath,
  mapState,
  NOT_FOUND,
  STOP_SIGNAL_API_VERSION,
} from "./_api.ts";
import { errorFields, failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { responseError, type Transport } from "./_transport.ts";
import { clientCore, type DockerClient } from "./client.ts";
import type { WatchHub } from "./_watch/hub.ts";
import { timeoutSignal } from "../_internal/abort.ts";
import { withDeadline } from "../_internal/deadline.ts";

/** The deadline of a call that does not stop a container. */
export const CALL_DEADLINE_MS = 30_000;

/**
 * How long a stop may take beyond its own timeout: the daemon kills the
 * container after the timeout and waits for it to exit. A stop request that
 * is dropped early can leave the container killed, so this stays generous.
 */
export const STOP_GRACE_MS = 30_000;

const decoder = new TextDecoder();

/** The signals a paused container does not hold back (`""` is `SIGKILL` for kill). */
const KILL_SIGNALS: ReadonlySet<ContainerSignal> = new Set(["", "SIGKILL", "KILL"]);

/** Whether an operation changed the container or found it already in the state asked for. */
type Outcome = "done" | "already";

/** The Docker implementation of {@linkcode Provider}. */
export class DockerProvider implements Provider {
  #client: Transport;
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
    this.#client = core.transport;
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
      await this.#kill(checked, abort, context);
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
      (abort, context) => this.#stop(checked, seconds, abort, context),
    );
  }

  containerStatus(options?: CallOptions): Promise<ContainerStatus> {
    return this.#operate(
      "status",
      options,
      () => CALL_DEADLINE_MS,
      (signal, context) => this.#inspect(signal, context),
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
      await this.#post(action, {}, signal, context);
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

  /**
   * Sends `POST /containers/{id}/<action>`. A conflict answer is success
   * when an inspection finds the container already in the action's target
   * state. A stop or kill refused because the container is paused (Podman
   * refuses to stop one; dockerd thaws it itself) unpauses it and is sent
   * once more.
   */
  async #post(
    action: ContainerAction,
    query: Record<string, string>,
    signal: AbortSignal,
    context: RequestContext,
    retried = false,
  ): Promise<Outcome> {
    const endpoint = ACTIONS[action];
    const response = await this.#client.send({
      method: "POST",
      path: containerPath(this.#container, endpoint.segment, query),
      signal,
      idempotent: endpoint.idempotent,
      context,
    });
    if (endpoint.success.includes(response.status)) {
      return response.status === 304 ? "already" : "done";
    }
    const error = responseError(response.status, response.body, context);
    if (endpoint.conflict.includes(response.status)) {
      let status: ContainerStatus | undefined;
      try {
        status = await this.#inspect(signal, context);
      } catch (inspectError) {
        if (signal.aborted) throw inspectError;
      }
      if (status === endpoint.target) {
        this.#logger.debug(`Container ${JSON.stringify(this.#container)} is already ${status}`, {
          action: context.action,
          container: this.#container,
        });
        return "already";
      }
      if (status === "paused" && endpoint.target === "stopped" && !retried) {
        await this.#unpauseToSignal(signal, context);
        return await this.#post(action, query, signal, context, true);
      }
    }
    throw error;
  }

  /**
   * `POST /containers/{id}/kill`. A paused container holds any signal but
   * `SIGKILL` until it is thawed: dockerd thaws it after its stop signal,
   * Podman leaves it paused. So a container still paused after such a
   * signal is unpaused to receive it, on both engines.
   */
  async #kill(
    signal: ContainerSignal,
    abort: AbortSignal,
    context: RequestContext,
  ): Promise<Outcome> {
    const outcome = await this.#post("kill", { signal }, abort, context);
    if (
      outcome === "done" && !KILL_SIGNALS.has(signal) &&
      await this.#inspect(abort, context) === "paused"
    ) {
      await this.#unpauseToSignal(abort, context);
    }
    return outcome;
  }

  /** Unpauses the container so that the stop or signal in progress reaches it. */
  async #unpauseToSignal(signal: AbortSignal, context: RequestContext): Promise<void> {
    const name = JSON.stringify(this.#container);
    this.#logger.debug(`Container ${name} is paused: unpausing it to ${context.action} it`, {
      action: context.action,
      container: this.#container,
    });
    await this.#post("unpause", {}, signal, context);
  }

  /** `GET /containers/{id}/json`, mapped to a status. */
  async #inspect(signal: AbortSignal, context: RequestContext): Promise<ContainerStatus> {
    const response = await this.#client.send({
      method: "GET",
      path: containerPath(this.#container, "json"),
      signal,
      idempotent: true,
      context,
    });
    if (response.status !== 200) throw responseError(response.status, response.body, context);
    let state: unknown;
    try {
      state = (JSON.parse(decoder.decode(response.body)) as { State?: { Status?: unknown } })
        ?.State?.Status;
    } catch {
      // Reported below.
    }
    if (typeof state !== "string") {
      throw new ApiError(
        `${failurePrefix(context)}: the daemon's answer has no State.Status`,
        { ...errorFields("docker", context), status: response.status },
      );
    }
    return mapState(state);
  }

  /**
   * Stops the container. The daemon takes the signal itself from API 1.42
   * on; with older daemons the signal goes through kill, then the container
   * gets `timeout` seconds to exit before a `SIGKILL`.
   */
  async #stop(
    signal: ContainerSignal,
    timeout: number,
    abort: AbortSignal,
    context: RequestContext,
  ): Promise<void> {
    const t = String(timeout);
    if (signal === "") {
      await this.#post("stop", { t }, abort, context);
      return;
    }
    const version = await this.#client.apiVersion({ signal: abort, context });
    if (compareApiVersions(version, STOP_SIGNAL_API_VERSION) >= 0) {
      await this.#post("stop", { t, signal }, abort, context);
      return;
    }
    if (await this.#kill(signal, abort, context) === "already") return;
    if (timeout > 0 && await this.#waitNotRunning(abort, context, timeout * 1000)) return;
    this.#logger.debug(
      `Container ${JSON.stringify(this.#container)} still runs ${timeout} s after ${signal}: ` +
        "sending SIGKILL",
      { action: context.action, container: this.#container },
    );
    if (await this.#post("kill", { signal: "SIGKILL" }, abort, context) === "already") return;
    await this.#waitNotRunning(abort, context);
  }

  /**
   * `POST /containers/{id}/wait?condition=not-running`, for at most
   * `limitMs` when given.
   *
   * @returns `true` once the container is not running (or is gone), `false` when `limitMs` passed first.
   */
  async #waitNotRunning(
    abort: AbortSignal,
    context: RequestContext,
    limitMs?: number,
  ): Promise<boolean> {
    const limit = limitMs === undefined ? undefined : timeoutSignal(limitMs);
    try {
      const response = await this.#client.send({
        method: "POST",
        path: containerPath(this.#container, "wait", { condition: "not-running" }),
        signal: limit === undefined ? abort : AbortSignal.any([abort, limit]),
        idempotent: true,
        context,
      });
      if (response.status === 200 || response.status === NOT_FOUND) return true;
      throw responseError(response.status, response.body, context);
    } catch (error) {
      if (limit?.aborted && !abort.aborted) return false;
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
