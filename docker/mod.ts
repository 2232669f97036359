/**
 * The Docker provider: a {@linkcode Provider} for one container of a Docker
 * daemon, or of Podman's Docker-compatible API, over a unix socket, TCP, or
 * TLS with client certificates.
 *
 * The host comes from the configuration, else from the docker CLI's
 * environment (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), else
 * `unix:///var/run/docker.sock`. The API version is negotiated with the
 * daemon.
 *
 * Clients are shared as for every runtime of this package: one
 * {@linkcode DockerClient} per daemon holds the keep-alive connections, the
 * negotiated version and the one `/events` stream every watch reads. Give it
 * to each provider as `{ client }`; its creator closes it. A provider made
 * from a configuration alone shares a client with the providers whose
 * configurations name the same daemon, closed with the last of them.
 *
 * @example Stop a container when idle, wake it on demand
 * ```ts ignore
 * import { newDockerProvider } from "@idlewatcher/provider/docker";
 *
 * using web = newDockerProvider({ socketPath: "/run/docker.sock" }, "web");
 * await web.containerStop("SIGTERM", 10);
 * // ... a request arrives:
 * if (await web.containerStatus() !== "running") await web.containerStart();
 * ```
 *
 * @module
 */

import { defaultLogger } from "../log.ts";
import type { Provider } from "../provider.ts";
import { checkContainerId } from "./_api.ts";
import { InvalidArgumentError } from "../errors.ts";
import { DockerProvider } from "./_provider.ts";
import { clientCore, type DockerClient, type DockerClientConfig, sharedClient } from "./client.ts";

export {
  type CallOptions,
  type ContainerSignal,
  ContainerStatus,
  type Provider,
  type WatchStreams,
} from "../provider.ts";
export { Action, type Event, EventType } from "../events/mod.ts";
export {
  DockerClient,
  type DockerClientConfig,
  type DockerMethod,
  type DockerRequestOptions,
  type DockerTlsConfig,
} from "./client.ts";
export { type Logger, silentLogger } from "../log.ts";

/**
 * A provider's configuration: the daemon's {@linkcode DockerClientConfig},
 * or a {@linkcode DockerClient} to share, and the provider's logger.
 *
 * @example A provider on a shared client
 * ```ts
 * import type { DockerClient, DockerProviderConfig } from "@idlewatcher/provider/docker";
 *
 * function onClient(client: DockerClient): DockerProviderConfig {
 *   return { client };
 * }
 * ```
 */
export interface DockerProviderConfig extends DockerClientConfig {
  /**
   * A client to share with the daemon's other providers; its creator closes
   * it. Give either a client or the daemon's address (`url`, `socketPath`,
   * `tls`), not both. Without a client, providers whose configurations name
   * the same daemon share one made for them, closed with the last of them.
   * @default {undefined}
   */
  client?: DockerClient;
}

/**
 * Creates a provider for one container. Nothing is sent yet: the first call
 * connects, negotiates the API version, and reuses the connection after.
 *
 * Needs `--allow-read`, `--allow-write` and `--allow-net=unix:<path>` for a
 * unix socket, `--allow-net=<host:port>` for TCP, `--allow-read` for TLS
 * files, and `--allow-env` for the variables the configuration leaves open
 * (`DOCKER_HOST`; for `tcp://`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`,
 * `HOME`). With neither the configuration nor `DOCKER_HOST` naming a host,
 * it follows the current docker context, as the docker CLI does, when it may
 * read `DOCKER_CONTEXT`, `DOCKER_CONFIG` or `HOME`, and the docker CLI's
 * `config.json` and `contexts/` folder (default `~/.docker`); without those
 * permissions it uses `unix:///var/run/docker.sock`.
 *
 * Calls succeed when the container already is in the state asked for (start
 * a running container, pause a paused one). A paused container is stopped
 * or killed, and receives the signal, on Docker and Podman alike: the
 * provider unpauses it when the engine would refuse or hold the signal back.
 * Every call has a deadline: 30 s, or the stop timeout plus 30 s for a stop.
 *
 * @param config Where the daemon is; `{}` follows the docker CLI's rules.
 * @param containerId The container's id (or a unique prefix) or name.
 * @returns The provider; close it (or `using` it) to free the connections.
 * @throws {InvalidArgumentError} For an id that is not a string, is empty,
 * only dots, longer than 256 characters, or has `/`, `?`, `#` or control
 * characters; a bad URL or scheme, a bad `maxConnections`, TLS settings that do not
 * fit the host, unreadable TLS files, or an environment variable the program
 * may not read (the message names the flag).
 *
 * @example Wake a container through a socket proxy
 * ```ts ignore
 * import { newDockerProvider } from "@idlewatcher/provider/docker";
 *
 * using provider = newDockerProvider({ url: "tcp://127.0.0.1:2375" }, "web");
 * if (await provider.containerStatus() === "paused") await provider.containerUnpause();
 * else await provider.containerStart();
 * ```
 */
export function newDockerProvider(config: DockerProviderConfig, containerId: string): Provider {
  const container = checkContainerId(containerId);
  const { client } = config;
  if (client !== undefined) {
    if (
      config.url !== undefined || config.socketPath !== undefined || config.tls !== undefined ||
      config.maxConnections !== undefined
    ) {
      throw new InvalidArgumentError(
        "Give either a client or the daemon's address (url, socketPath, tls, maxConnections), not both",
        { runtime: "docker", container },
      );
    }
    return new DockerProvider(client, container, {
      logger: config.logger ?? clientCore(client).logger,
      release: () => {},
    });
  }
  const shared = sharedClient(config);
  return new DockerProvider(shared.client, container, {
    logger: config.logger ?? defaultLogger,
    release: shared.release,
  });
}
