/**
 * The calls of one Docker (or Podman) container: each power action as the
 * engines want it (a conflict that means "already there" is success, a
 * paused container is unpaused to receive a stop or a signal), the
 * inspection, and a stop with a chosen signal on daemons older than API 1.42.
 *
 * @module
 */

import { timeoutSignal } from "../_internal/abort.ts";
import { errorFields, failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ContainerSignal, ContainerStatus } from "../provider.ts";
import {
  ACTIONS,
  compareApiVersions,
  type ContainerAction,
  containerPath,
  mapState,
  NOT_FOUND,
  STOP_SIGNAL_API_VERSION,
} from "./_api.ts";
import { responseError, type Transport } from "./_transport.ts";

const decoder = new TextDecoder();

/** The signals a paused container does not hold back (`""` is `SIGKILL` for kill). */
const KILL_SIGNALS: ReadonlySet<ContainerSignal> = new Set(["", "SIGKILL", "KILL"]);

/** Whether an operation changed the container or found it already in the state asked for. */
export type Outcome = "done" | "already";

/** The power calls and inspection of one container. */
export class ContainerPower {
  #transport: Transport;
  #container: string;
  #logger: Logger;

  /**
   * Wraps a container.
   *
   * @param transport The daemon's API.
   * @param container A validated container id or name.
   * @param logger Where the calls' DEBUG lines go.
   */
  constructor(transport: Transport, container: string, logger: Logger) {
    this.#transport = transport;
    this.#container = container;
    this.#logger = logger;
  }

  /**
   * Sends `POST /containers/{id}/<action>`. A conflict answer is success
   * when an inspection finds the container already in the action's target
   * state. A stop or kill refused because the container is paused (Podman
   * refuses to stop one; dockerd thaws it itself) unpauses it and is sent
   * once more.
   */
  async post(
    action: ContainerAction,
    query: Record<string, string>,
    signal: AbortSignal,
    context: RequestContext,
    retried = false,
  ): Promise<Outcome> {
    const endpoint = ACTIONS[action];
    const response = await this.#transport.send({
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
        status = await this.inspect(signal, context);
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
        return await this.post(action, query, signal, context, true);
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
  async kill(
    signal: ContainerSignal,
    abort: AbortSignal,
    context: RequestContext,
  ): Promise<Outcome> {
    const outcome = await this.post("kill", { signal }, abort, context);
    if (
      outcome === "done" && !KILL_SIGNALS.has(signal) &&
      await this.inspect(abort, context) === "paused"
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
    await this.post("unpause", {}, signal, context);
  }

  /** `GET /containers/{id}/json`, mapped to a status. */
  async inspect(signal: AbortSignal, context: RequestContext): Promise<ContainerStatus> {
    const response = await this.#transport.send({
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
  async stop(
    signal: ContainerSignal,
    timeout: number,
    abort: AbortSignal,
    context: RequestContext,
  ): Promise<void> {
    const t = String(timeout);
    if (signal === "") {
      await this.post("stop", { t }, abort, context);
      return;
    }
    const version = await this.#transport.apiVersion({ signal: abort, context });
    if (compareApiVersions(version, STOP_SIGNAL_API_VERSION) >= 0) {
      await this.post("stop", { t, signal }, abort, context);
      return;
    }
    if (await this.kill(signal, abort, context) === "already") return;
    if (timeout > 0 && await this.#waitNotRunning(abort, context, timeout * 1000)) return;
    this.#logger.debug(
      `Container ${JSON.stringify(this.#container)} still runs ${timeout} s after ${signal}: ` +
        "sending SIGKILL",
      { action: context.action, container: this.#container },
    );
    if (await this.post("kill", { signal: "SIGKILL" }, abort, context) === "already") return;
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
      const response = await this.#transport.send({
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
}
