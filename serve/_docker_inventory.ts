/**
 * The few Engine API calls the server makes besides the providers' own:
 * list, inspect, the discovery event stream, Podman's healthcheck run, and
 * the engine's identity. Every Docker request of the server goes through
 * this file, on the one {@linkcode DockerClient} the engine's providers
 * share. Each call has the client's 30 s deadline.
 *
 * @module
 */

import { clientCore, DockerClient } from "../docker/client.ts";
import { responseError } from "../docker/_transport.ts";
import { errorOfKind } from "../_internal/errdefs.ts";
import { NotFoundError, ProviderError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { isObject, shortJson, textOf } from "./_answers.ts";

/** The longest event line read. */
const MAX_LINE = 1 << 20;

/** A raw JSON object from the Engine API. */
export type RawObject = Record<string, unknown>;

/** The Engine API calls of the server for one host. */
export class DockerInventory {
  /** The host, as a URL for messages and for the providers' configuration. */
  readonly url: string;
  /** The engine's client, shared with the providers; closed by {@linkcode DockerInventory.close}. */
  readonly client: DockerClient;
  #logger: Logger;
  #labels: string[];

  /**
   * Resolves the host (the docker CLI's rules) and takes a share of its client.
   *
   * @param url The host; `undefined` follows `DOCKER_HOST`, else the local socket.
   * @param logger Receives a DEBUG line per call.
   * @param only A `KEY=VALUE` label the containers must also carry.
   */
  constructor(url: string | undefined, logger: Logger, only?: string) {
    this.client = new DockerClient({ url, logger });
    this.url = this.client.url;
    this.#logger = logger;
    this.#labels = ["sablier.enable=true", ...(only === undefined ? [] : [only])];
  }

  /**
   * Reads `/version`.
   *
   * @param options The abort signal.
   * @returns Whether the engine is Podman.
   */
  async isPodman(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const version: unknown = await this.client.request("GET", "/version", options);
    const components: unknown[] = isObject(version) && Array.isArray(version.Components)
      ? version.Components
      : [];
    return components.some((component) =>
      isObject(component) && /podman/i.test(textOf(component.Name) ?? "")
    );
  }

  /**
   * Lists the containers labelled `sablier.enable=true`.
   *
   * @param options The abort signal.
   * @returns The listing's entries as the engine sent them: the caller reads their `Id`.
   * @throws {ApiError} When the answer is not a list (an empty list would
   *   drop every managed container).
   */
  async listEnabled(options: { signal?: AbortSignal } = {}): Promise<unknown[]> {
    const filters = JSON.stringify({ label: this.#labels });
    const list: unknown = await this.client.request("GET", "/containers/json", {
      query: { all: true, filters },
      signal: options.signal,
    });
    if (Array.isArray(list)) return list;
    throw errorOfKind(
      "api",
      `Cannot list the opted-in containers: the engine at ${this.url} answered ${
        shortJson(list)
      }, not a list`,
      { status: 200, runtime: "docker", action: "list" },
    );
  }

  /**
   * Inspects a container.
   *
   * @param id Its id.
   * @param options The abort signal.
   * @returns The inspection, any shape (the caller reads it), or `undefined`
   *   when the container is gone.
   */
  async inspect(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<unknown> {
    try {
      return await this.client.request<unknown>(
        "GET",
        `/containers/${encodeURIComponent(id)}/json`,
        options,
      );
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Runs a Podman container's healthcheck once (`/libpod/containers/{id}/healthcheck`).
   *
   * @param id The container's id.
   * @param options The abort signal.
   * @returns Podman's `Status`: `healthy`, `unhealthy` or `starting`.
   */
  async runHealthcheck(id: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const path = `/libpod/containers/${encodeURIComponent(id)}/healthcheck`;
    const answer: unknown = await this.client.request("GET", path, options);
    return (isObject(answer) ? textOf(answer.Status) : undefined) ?? "";
  }

  /**
   * Opens the event stream of the opted-in containers and hands each event
   * to `onEvent`, until the stream ends or `signal` aborts.
   *
   * @param onOpen Called once the daemon accepted the stream.
   * @param onEvent Called with each line that is a JSON object (its fields unchecked).
   * @param signal Ends the stream.
   * @throws {ConnectionError} When the stream breaks; `onOpen`'s own errors as they are.
   * @throws {ApiError} For an event line longer than 1 MiB.
   */
  async events(
    onOpen: () => Promise<void>,
    onEvent: (event: RawObject) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const filters = encodeURIComponent(
      JSON.stringify({ type: ["container"], label: this.#labels }),
    );
    const context = {
      action: "watch",
      what: "follow the opted-in containers",
      logger: this.#logger,
    };
    const request = { method: "GET", path: `/events?filters=${filters}`, signal, context };
    const { transport } = clientCore(this.client);
    const response = await transport.request(request);
    if (response.status !== 200) {
      const body = await response.bytes().catch(() => new Uint8Array());
      throw responseError(response.status, body, context);
    }
    try {
      await onOpen();
    } catch (error) {
      response.cancel();
      throw error;
    }
    const decoder = new TextDecoder();
    let pending = "";
    try {
      while (true) {
        const chunk = await response.read();
        if (chunk === null) return;
        pending += decoder.decode(chunk, { stream: true });
        if (pending.length > MAX_LINE) {
          throw errorOfKind(
            "api",
            `Cannot follow the opted-in containers: the engine at ${this.url} sent an event ` +
              `line longer than ${MAX_LINE} characters`,
            { status: 200, runtime: "docker", action: "watch" },
          );
        }
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line === "") continue;
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            this.#logger.debug(`ignored an event line that is not JSON`);
            continue;
          }
          if (isObject(event)) onEvent(event);
          else this.#logger.debug(`ignored an event line that is not an object`);
        }
      }
    } catch (error) {
      if (error instanceof ProviderError && !signal.aborted) throw error;
      throw transport.transportError(error, request);
    } finally {
      response.cancel();
    }
  }

  /** Closes the client: the providers' calls and watches end. */
  close(): void {
    this.client.close();
  }
}
