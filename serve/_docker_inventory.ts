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
import { NotFoundError } from "../errors.ts";
import type { Logger } from "../log.ts";

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

  /**
   * Resolves the host (the docker CLI's rules) and takes a share of its client.
   *
   * @param url The host; `undefined` follows `DOCKER_HOST`, else the local socket.
   * @param logger Receives a DEBUG line per call.
   */
  constructor(url: string | undefined, logger: Logger) {
    this.client = new DockerClient({ url, logger });
    this.url = this.client.url;
    this.#logger = logger;
  }

  /**
   * Reads `/version`.
   *
   * @param options The abort signal.
   * @returns Whether the engine is Podman.
   */
  async isPodman(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const version = await this.client.request<RawObject>("GET", "/version", options);
    const components = Array.isArray(version?.Components) ? version.Components : [];
    return components.some((component) => /podman/i.test(String(component?.Name)));
  }

  /**
   * Lists the ids of the containers labelled `sablier.enable=true`.
   *
   * @param options The abort signal.
   * @returns Full container ids.
   */
  async listEnabled(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const filters = JSON.stringify({ label: ["sablier.enable=true"] });
    const list = await this.client.request("GET", "/containers/json", {
      query: { all: true, filters },
      signal: options.signal,
    });
    return (Array.isArray(list) ? list : []).map((entry) => String(entry?.Id));
  }

  /**
   * Inspects a container.
   *
   * @param id Its id.
   * @param options The abort signal.
   * @returns The inspection, or `undefined` when the container is gone.
   */
  async inspect(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<RawObject | undefined> {
    try {
      return await this.client.request<RawObject>(
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
    const answer = await this.client.request<RawObject>("GET", path, options);
    return String(answer?.Status ?? "");
  }

  /**
   * Opens the event stream of the opted-in containers and hands each event
   * to `onEvent`, until the stream ends or `signal` aborts.
   *
   * @param onOpen Called once the daemon accepted the stream.
   * @param onEvent Called with each parsed event.
   * @param signal Ends the stream.
   */
  async events(
    onOpen: () => Promise<void>,
    onEvent: (event: RawObject) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const filters = encodeURIComponent(
      JSON.stringify({ type: ["container"], label: ["sablier.enable=true"] }),
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
    const decoder = new TextDecoder();
    let pending = "";
    try {
      await onOpen();
      while (true) {
        const chunk = await response.read();
        if (chunk === null) return;
        pending += decoder.decode(chunk, { stream: true });
        if (pending.length > MAX_LINE) throw new Error("an event line is too long");
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line === "") continue;
          try {
            onEvent(JSON.parse(line));
          } catch {
            this.#logger.debug(`ignored an event line that is not JSON`);
          }
        }
      }
    } catch (error) {
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
