/**
 * A Docker or Podman engine as a {@linkcode Runtime}: the opted-in
 * containers, discovered by label and followed by events.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import { newDockerProvider } from "../docker/mod.ts";
import type { Logger } from "../log.ts";
import type { Provider } from "../provider.ts";
import { DockerInventory, type RawObject } from "./_docker_inventory.ts";
import { messageOf } from "../_internal/message.ts";
import { isObject, runtimeIdOf, shortJson, textOf } from "./_answers.ts";
import { dockerInfo } from "./_docker_info.ts";
import type {
  Health,
  InstanceInfo,
  Runtime,
  RuntimeChange,
  ServeLogger,
  SignalOptions,
} from "./_model.ts";

/** The lifecycle events of the discovery stream, in the providers' words. */
const STATE_ACTIONS = new Map<string, "started" | "died" | "paused" | "unpaused">([
  ["start", "started"],
  ["die", "died"],
  ["died", "died"],
  ["pause", "paused"],
  ["unpause", "unpaused"],
]);

/** Inspections run at once while listing. */
const INSPECT_CONCURRENCY = 8;
/** Reconnection waits of the discovery stream. */
const RECONNECT_MS = { first: 250, max: 10_000 };

/** Options of {@linkcode DockerRuntime.connect}. */
export interface DockerRuntimeOptions {
  /** The engine's URL; `undefined` follows `DOCKER_HOST`, else the local socket. */
  url?: string;
  /**
   * The engine's name, or a function of the kind the engine reports.
   * @default {`docker` or `podman`, as the engine says}
   */
  name?: string | ((kind: "docker" | "podman") => string);
  /** Where to report. */
  logger: ServeLogger;
  /**
   * A `KEY=VALUE` label the opted-in containers must also carry to be
   * managed (several servers on one engine, each with its own containers).
   */
  only?: string;
  /** Ends the first call. */
  signal?: AbortSignal;
}

/** One Docker or Podman engine. */
export class DockerRuntime implements Runtime {
  /** The engine's name. */
  readonly name: string;
  /** Whether it is Podman (then healthchecks are run through its API). */
  readonly podman: boolean;
  /** Runs a Podman container's healthcheck; absent on Docker, which runs them itself. */
  readonly runHealthcheck?: (runtimeId: string, options?: SignalOptions) => Promise<Health>;
  #inventory: DockerInventory;
  #logger: ServeLogger;
  #providerLogger: Logger;
  #only: [string, string] | undefined;

  /**
   * Reaches the engine once to learn whether it is Docker or Podman.
   *
   * @param options The URL, the name and the logger.
   * @returns The runtime.
   * @throws {ConnectionError} When the engine cannot be reached.
   */
  static async connect(options: DockerRuntimeOptions): Promise<DockerRuntime> {
    const providerLogger: Logger = {
      debug: (msg) => options.logger.debug(msg),
      error: (msg) => options.logger.debug(msg), // The engine reports failures itself.
    };
    const inventory = new DockerInventory(options.url, providerLogger, options.only);
    try {
      const podman = await inventory.isPodman({ signal: options.signal });
      return new DockerRuntime(inventory, podman, options, providerLogger);
    } catch (error) {
      inventory.close();
      throw error;
    }
  }

  private constructor(
    inventory: DockerInventory,
    podman: boolean,
    options: DockerRuntimeOptions,
    providerLogger: Logger,
  ) {
    this.#inventory = inventory;
    this.podman = podman;
    const kind = podman ? "podman" : "docker";
    this.name = typeof options.name === "function" ? options.name(kind) : options.name ?? kind;
    this.#logger = options.logger;
    this.#providerLogger = providerLogger;
    if (options.only !== undefined) {
      const equals = options.only.indexOf("=");
      this.#only = [options.only.slice(0, equals), options.only.slice(equals + 1)];
    }
    if (podman) {
      this.runHealthcheck = async (id, callOptions) => {
        const status = await this.#inventory.runHealthcheck(id, callOptions);
        return status === "healthy" || status === "unhealthy" ? status : "starting";
      };
    }
  }

  /** The engine's URL. */
  get url(): string {
    return this.#inventory.url;
  }

  /** Lists the opted-in containers, inspecting each; an entry without an id is skipped with a warning. */
  async list(options: SignalOptions = {}): Promise<InstanceInfo[]> {
    const ids: string[] = [];
    for (const entry of await this.#inventory.listEnabled(options)) {
      const id = runtimeIdOf(isObject(entry) ? entry.Id : undefined);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      this.#logger.warn(`${this.name}: skipped a listed container: no Id in ${shortJson(entry)}`);
    }
    const infos: InstanceInfo[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const info = await this.inspect(ids[next++], options);
        if (info !== undefined) infos.push(info);
      }
    };
    await Promise.all(Array.from({ length: INSPECT_CONCURRENCY }, worker));
    return infos;
  }

  /** Inspects one container; `undefined` when it is gone or not opted in. */
  async inspect(runtimeId: string, options: SignalOptions = {}): Promise<InstanceInfo | undefined> {
    const raw = await this.#inventory.inspect(runtimeId, options);
    if (raw === undefined) return undefined;
    return dockerInfo(raw, {
      engine: this.name,
      askedId: runtimeId,
      only: this.#only,
      warn: (message) => this.#logger.warn(message),
    });
  }

  /** A provider for the container, sharing this engine's client. */
  provider(info: InstanceInfo): Promise<Provider> {
    return Promise.resolve(
      newDockerProvider(
        { client: this.#inventory.client, logger: this.#providerLogger },
        info.runtimeId,
      ),
    );
  }

  /** Follows creations, removals, renames and health changes; lists again after each (re)connection. */
  async follow(
    onChange: (change: RuntimeChange) => void,
    options: { signal: AbortSignal },
  ): Promise<void> {
    const { signal } = options;
    let wait = RECONNECT_MS.first;
    while (!signal.aborted) {
      try {
        await this.#inventory.events(
          async () => {
            onChange({ kind: "resync", infos: await this.list({ signal }) });
            wait = RECONNECT_MS.first;
          },
          (event) => this.#onEvent(event, onChange, signal),
          signal,
        );
      } catch (error) {
        if (signal.aborted) return;
        this.#logger.warn(`${this.name}: event stream failed (${messageOf(error)}); reconnecting`);
      }
      await delay(wait, { signal }).catch(() => {});
      wait = Math.min(RECONNECT_MS.max, wait * 2);
    }
  }

  /** Gives back the client share. */
  close(): void {
    this.#inventory.close();
  }

  #onEvent(event: RawObject, onChange: (change: RuntimeChange) => void, signal: AbortSignal) {
    const action = textOf(event.Action) ?? textOf(event.status) ?? "";
    const actor = isObject(event.Actor) ? event.Actor : {};
    const id = runtimeIdOf(actor.ID ?? event.id);
    if (id === undefined) return;
    if (action === "create" || action === "rename") {
      this.inspect(id, { signal }).then((info) => {
        if (info !== undefined) onChange({ kind: "upsert", info });
      }, (error) => {
        if (!signal.aborted) {
          this.#logger.warn(`${this.name}: cannot inspect ${id}: ${messageOf(error)}`);
        }
      });
    } else if (STATE_ACTIONS.has(action)) {
      onChange({ kind: "state", runtimeId: id, action: STATE_ACTIONS.get(action)! });
    } else if (action === "destroy" || action === "remove") {
      onChange({ kind: "remove", runtimeId: id });
    } else if (action.startsWith("health_status")) {
      const health = action.slice(action.indexOf(":") + 1).trim();
      if (health === "healthy" || health === "unhealthy" || health === "starting") {
        onChange({ kind: "health", runtimeId: id, health });
      }
    }
  }
}
