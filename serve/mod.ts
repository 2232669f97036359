/**
 * The idle-watching server behind `idlewatcher serve`, to embed in a program:
 * it speaks Sablier's HTTP API (`/api/strategies/dynamic`,
 * `/api/strategies/blocking`, `/api/themes`, `/health`, `/metrics`), so that
 * Sablier's reverse-proxy plugins use it unchanged.
 *
 * Only containers labelled `sablier.enable=true` (Proxmox: tagged `sablier`)
 * are ever started or stopped. A request extends each instance's session;
 * when a session ends, the instance is stopped (or paused, with the label
 * `idlewatcher.sleep=pause`). Sessions are saved in `stateDir` and survive a
 * restart.
 *
 * @example Serve the local Docker engine on Sablier's port
 * ```ts ignore
 * import { startServer } from "@idlewatcher/provider/serve";
 *
 * await using server = await startServer({ port: 10000, stateDir: "/var/lib/idlewatcher" });
 * console.log(`listening on ${server.addr.hostname}:${server.addr.port}`);
 * await server.finished; // until server.close()
 * ```
 *
 * @module
 */

import type { ProxmoxClient } from "../proxmox/mod.ts";
import { parseGoDuration } from "./_duration.ts";
import { DockerRuntime } from "./_docker_runtime.ts";
import type { Runtime, ServeLogger } from "./_model.ts";
import { ProxmoxRuntime } from "./_proxmox_runtime.ts";
import { IdleServer } from "./_server.ts";

export type { ServeLogger } from "./_model.ts";
export type {
  ProxmoxClient,
  ProxmoxConfig,
  ProxmoxMethod,
  ProxmoxRequestOptions,
} from "../proxmox/mod.ts";
export type { Logger } from "../log.ts";

/** Options of {@linkcode startServer}. */
export interface ServeOptions {
  /**
   * The address to listen on.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one.
   * @default {10000}
   */
  port?: number;
  /**
   * Docker or Podman engines, as URLs (`unix:///run/podman/podman.sock`,
   * `tcp://host:2376`). Each is named `docker` or `podman` as it reports
   * itself (`docker-2`, ... for more of a kind); requests may say
   * `ENGINE/name`.
   * @default {[DOCKER_HOST, else unix:///var/run/docker.sock]}
   */
  docker?: string[];
  /**
   * A Proxmox VE cluster, named `proxmox`. The server closes the client.
   * @default {undefined}
   */
  proxmox?: ProxmoxClient;
  /**
   * Where sessions are saved (created if missing); without it, a restart
   * forgets them.
   * @default {undefined}
   */
  stateDir?: string;
  /**
   * Custom loading-page themes, as `NAME.html` files.
   * @default {undefined}
   */
  themesDir?: string;
  /**
   * The default session, as a Go duration (`5m`) or milliseconds.
   * @default {"5m"}
   */
  sessionDuration?: string | number;
  /**
   * Where the server reports; messages never contain credentials.
   * @default {errors and warnings on the console}
   */
  logger?: ServeLogger;
  /**
   * Ends the engines' first contact when it aborts.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** A running server. `await using` closes it. */
export interface RunningServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Settles when {@linkcode RunningServer.close} has finished. */
  readonly finished: Promise<void>;
  /**
   * Drains: `/health` answers 503, no new connection is accepted, requests
   * in flight are answered, sessions are saved and the engines released.
   * Instances keep running; their sessions go on after a restart.
   * Idempotent.
   */
  close(): Promise<void>;
}

const consoleLogger: ServeLogger = {
  debug() {},
  info() {},
  warn: (msg) => console.warn(msg),
  error: (msg) => console.error(msg),
};

/**
 * Connects to the engines, lists their opted-in instances, and listens.
 *
 * @param options Where to listen, the engines, the state and themes directories.
 * @returns The running server.
 * @throws {ConnectionError} When a Docker or Podman engine cannot be reached.
 * @throws {RangeError} For a bad `sessionDuration`.
 *
 * @example Two engines, custom themes
 * ```ts ignore
 * import { startServer } from "@idlewatcher/provider/serve";
 *
 * const server = await startServer({
 *   port: 0,
 *   docker: ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"],
 *   themesDir: "./themes",
 *   sessionDuration: "10m",
 * });
 * await server.close();
 * ```
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? consoleLogger;
  const session = options.sessionDuration ?? "5m";
  const sessionMs = typeof session === "number" ? session : parseGoDuration(session);
  if (!(sessionMs > 0)) {
    throw new RangeError(`Invalid sessionDuration ${String(session)}: not positive`);
  }
  const runtimes: Runtime[] = [];
  const nameFor = (kind: string) => {
    const taken = runtimes.filter((r) => r.name === kind || r.name.startsWith(`${kind}-`));
    return taken.length === 0 ? kind : `${kind}-${taken.length + 1}`;
  };
  try {
    const urls = options.docker === undefined || options.docker.length === 0
      ? [undefined]
      : options.docker;
    for (const url of urls) {
      const runtime = await DockerRuntime.connect({
        url,
        logger,
        name: nameFor,
        signal: options.signal,
      });
      runtimes.push(runtime);
      logger.info(`Engine ${runtime.name} at ${runtime.url}`);
    }
    if (options.proxmox !== undefined) {
      runtimes.push(new ProxmoxRuntime({ client: options.proxmox, logger }));
    }
    const server = await IdleServer.start({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 10000,
      runtimes,
      stateDir: options.stateDir,
      themesDir: options.themesDir,
      sessionMs,
      logger,
    });
    const { promise: finished, resolve } = Promise.withResolvers<void>();
    const close = () => server.close().finally(resolve);
    return { addr: server.addr, finished, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    for (const runtime of runtimes) runtime.close();
    options.proxmox?.close();
    throw error;
  }
}
