/**
 * One {@linkcode Provider} interface over two container runtimes: Docker (and
 * Podman's Docker-compatible API) and Proxmox VE LXC containers. Built for idle
 * watchers: programs that stop or pause a container when nobody uses it and
 * wake it the moment a request arrives.
 *
 * @example Wake a Docker container
 * ```ts ignore
 * import { newDockerProvider } from "@idlewatcher/provider";
 *
 * using provider = newDockerProvider({}, "web");
 * if (await provider.containerStatus() !== "running") {
 *   await provider.containerStart();
 * }
 * ```
 *
 * @module
 */

export {
  type CallOptions,
  CONTAINER_SIGNALS,
  type ContainerSignal,
  ContainerStatus,
  parseContainerSignal,
  type Provider,
  type WatchStreams,
} from "./provider.ts";
export {
  ApiError,
  type ApiErrorOptions,
  ConnectionError,
  InvalidArgumentError,
  isRetriable,
  NotFoundError,
  ProviderError,
  type ProviderErrorOptions,
  type Runtime,
  TaskError,
  type TaskErrorOptions,
  TimeoutError,
} from "./errors.ts";
export {
  Action,
  type Event,
  EventType,
  isPauseAction,
  isStartAction,
  isStopAction,
} from "./events/mod.ts";
export { defaultLogger, formatErrorLine, type Logger, silentLogger } from "./log.ts";
export {
  DockerClient,
  type DockerClientConfig,
  type DockerMethod,
  type DockerProviderConfig,
  type DockerRequestOptions,
  type DockerTlsConfig,
  newDockerProvider,
} from "./docker/mod.ts";
export {
  newProxmoxProvider,
  PROXMOX_ENV_NAMES,
  ProxmoxClient,
  type ProxmoxConfig,
  type ProxmoxMethod,
  type ProxmoxProviderOptions,
  type ProxmoxRequestOptions,
} from "./proxmox/mod.ts";
