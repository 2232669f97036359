/**
 * The Docker provider: a {@linkcode Provider} for one container of a Docker
 * daemon, or of Podman's Docker-compatible API, over a unix socket, TCP, or
 * TLS with client certificates.
 *
 * The host comes from the configuration, else from the docker CLI's
 * environment (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), else
 * `unix:///var/run/docker.sock`. Providers with the same configuration share
 * one client and its keep-alive connections; the client closes with the last
 * of them. The API version is negotiated with the daemon.
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

import { checkMaxConnections } from "../_internal/validate.ts";
import { defaultLogger, type Logger } from "../log.ts";
import type { Provider } from "../provider.ts";
import { checkContainerId } from "./_api.ts";
import { acquireDockerClient } from "./_client.ts";
import { denoEnv, denoReadTextFile, loadDialTarget, resolveDockerHost } from "./_host.ts";
import { DockerProvider } from "./_provider.ts";

export {
  type CallOptions,
  type ContainerSignal,
  ContainerStatus,
  type Provider,
  type WatchStreams,
} from "../provider.ts";
export { Action, type Event, EventType } from "../events/mod.ts";
export type { Logger } from "../log.ts";

/**
 * TLS files for a `tcp://` or `https://` host, as PEM file paths. Without
 * `caFile` the system's roots verify the daemon; `certFile` and `keyFile`
 * go together.
 *
 * @example A daemon started with `--tlsverify`
 * ```ts
 * import type { DockerTlsConfig } from "@idlewatcher/provider/docker";
 *
 * const tls: DockerTlsConfig = {
 *   caFile: "/etc/docker-certs/ca.pem",
 *   certFile: "/etc/docker-certs/cert.pem",
 *   keyFile: "/etc/docker-certs/key.pem",
 * };
 * ```
 */
export interface DockerTlsConfig {
  /** The authority that signed the daemon's certificate.
   * @default {the system's root certificates} */
  caFile?: string;
  /** The client certificate.
   * @default {none} */
  certFile?: string;
  /** The client certificate's private key.
   * @default {none} */
  keyFile?: string;
}

/**
 * Where the Docker daemon is and how to log. Every field is optional: `{}`
 * behaves like the docker CLI.
 *
 * @example Three ways to name the daemon
 * ```ts
 * import type { DockerProviderConfig } from "@idlewatcher/provider/docker";
 *
 * const local: DockerProviderConfig = { socketPath: "/run/user/1000/podman/podman.sock" };
 * const proxy: DockerProviderConfig = { url: "tcp://127.0.0.1:2375" };
 * const remote: DockerProviderConfig = {
 *   url: "tcp://docker.example:2376",
 *   tls: { caFile: "ca.pem", certFile: "cert.pem", keyFile: "key.pem" },
 * };
 * ```
 */
export interface DockerProviderConfig {
  /**
   * `unix:///path`, `tcp://host:port`, `http://host:port` or
   * `https://host:port` (a path after the port prefixes every request). A
   * `tcp://` host uses TLS when `tls` is given or `DOCKER_TLS_VERIFY` is set;
   * its port defaults to 2376 with TLS, 2375 without.
   * @default {DOCKER_HOST, else "unix:///var/run/docker.sock"}
   */
  url?: string;
  /** Shorthand for `url: "unix://<socketPath>"`; set one of the two.
   * @default {undefined} */
  socketPath?: string;
  /**
   * TLS files. Without them, a `tcp://` host with `DOCKER_TLS_VERIFY` set
   * uses `ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH`
   * (default `~/.docker`), like the docker CLI.
   * @default {undefined}
   */
  tls?: DockerTlsConfig;
  /**
   * The most connections open to the daemon at once, shared by the
   * providers of the same host; more calls wait their turn, each within its
   * own deadline and signal.
   * @default {32}
   */
  maxConnections?: number;
  /** Receives a DEBUG line per API call and an ERROR line per failed operation worth
   * reporting; {@linkcode Logger} says which.
   * @default {defaultLogger} */
  logger?: Logger;
}

/**
 * Creates a provider for one container. Nothing is sent yet: the first call
 * connects, negotiates the API version, and reuses the connection after.
 *
 * Needs `--allow-read`, `--allow-write` and `--allow-net=unix:<path>` for a
 * unix socket, `--allow-net=<host:port>` for TCP, `--allow-read` for TLS
 * files, and `--allow-env` for the variables the configuration leaves open
 * (`DOCKER_HOST`; for `tcp://`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`,
 * `HOME`).
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
  const host = resolveDockerHost(config, denoEnv);
  const maxConnections = checkMaxConnections(config.maxConnections, "docker");
  const client = acquireDockerClient(host, () => loadDialTarget(host, denoReadTextFile), {
    maxConnections,
  });
  return new DockerProvider(client, container, config.logger ?? defaultLogger);
}
