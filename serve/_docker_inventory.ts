/**
 * The few Engine API calls the server makes besides the providers' own:
 * list, inspect, the discovery event stream, Podman's healthcheck run, and
 * the engine's identity. Every Docker request of the server goes through
 * this file, on the client the providers of the same host share.
 *
 * @module
 */

import { acquireDockerClient, type DockerClient, responseError } from "../docker/_client.ts";
import {
  denoEnv,
  denoReadTextFile,
  type DockerHost,
  loadDialTarget,
  resolveDockerHost,
} from "../docker/_host.ts";
import type { Logger } from "../log.ts";

/** The deadline of one list, inspect or healthcheck call. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The longest event line read. */
const MAX_LINE = 1 << 20;

/** A raw JSON object from the Engine API. */
export type RawObject = Record<string, unknown>;

/** The Engine API calls of the server for one host. */
export class DockerInventory {
  /** The host, as a URL for messages and for the providers' configuration. */
  readonly url: string;
  #client: DockerClient;
  #logger: Logger;

  /**
   * Resolves the host (the docker CLI's rules) and takes a share of its client.
   *
   * @param url The host; `undefined` follows `DOCKER_HOST`, else the local socket.
   * @param logger Receives a DEBUG line per call.
   */
  constructor(url: string | undefined, logger: Logger) {
    const host: DockerHost = resolveDockerHost({ url }, denoEnv);
    this.url = host.url;
    this.#client = acquireDockerClient(host, () => loadDialTarget(host, denoReadTextFile));
    this.#logger = logger;
  }

  /**
   * Reads `/version`.
   *
   * @param options The abort signal.
   * @returns Whether the engine is Podman.
   */
  async isPodman(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const version = await this.#get("/version", "version", options.signal) as RawObject;
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
    const filters = encodeURIComponent(JSON.stringify({ label: ["sablier.enable=true"] }));
    const list = await this.#get(
      `/containers/json?all=true&filters=${filters}`,
      "list",
      options.signal,
    );
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
    const path = `/containers/${encodeURIComponent(id)}/json`;
    return await this.#get(path, "inspect", options.signal, id, true) as RawObject | undefined;
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
    const answer = await this.#get(path, "healthcheck", options.signal, id) as RawObject;
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
    const context = { action: "watch", container: "*", logger: this.#logger };
    const request = { method: "GET", path: `/events?filters=${filters}`, signal, context };
    const response = await this.#client.request(request);
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
      throw this.#client.transportError(error, request);
    } finally {
      response.cancel();
    }
  }

  /** Gives back this inventory's share of the client. */
  close(): void {
    this.#client.release();
  }

  async #get(
    path: string,
    action: string,
    signal: AbortSignal | undefined,
    container = "*",
    missingIsUndefined = false,
  ): Promise<unknown> {
    const bounded = AbortSignal.any([
      ...(signal ? [signal] : []),
      AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    ]);
    const context = { action, container, logger: this.#logger };
    const answer = await this.#client.send({
      method: "GET",
      path,
      signal: bounded,
      idempotent: true,
      context,
    });
    if (answer.status === 404 && missingIsUndefined) return undefined;
    if (answer.status < 200 || answer.status > 299) {
      throw responseError(answer.status, answer.body, context);
    }
    return JSON.parse(new TextDecoder().decode(answer.body));
  }
}
