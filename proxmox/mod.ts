/**
 * Proxmox VE guests behind the {@linkcode Provider} interface: LXC
 * containers and QEMU virtual machines alike.
 *
 * One {@linkcode ProxmoxClient} per cluster holds the connections, the login
 * and one status poller shared by every watch; {@linkcode newProxmoxProvider}
 * makes the provider of one guest, and asks the cluster whether it is a CT or
 * a VM unless told. Power calls wait for PVE's task and for the guest to
 * reach the state asked for; a call whose state the guest is already in
 * ("already running", "not running") is success.
 *
 * What differs from Docker:
 * - `containerStop()` is PVE's shutdown with `timeout` and `forceStop`: the
 *   signal cannot be chosen.
 * - `containerKill()` is PVE's immediate hard stop, whatever the signal.
 * - On a CT, `containerPause()` is PVE's experimental suspend: a CRIU
 *   checkpoint that leaves the CT stopped, and that fails on nodes without
 *   CRIU. A CT whose latest power task is a successful suspend reports
 *   `"paused"`, so that a wake resumes it from the checkpoint. A stop or kill
 *   of a paused CT resumes it first, so that it ends `"stopped"`.
 * - On a VM, `containerPause()` freezes the guest in memory (QEMU's `stop`),
 *   or with `vmPause: "hibernate"` saves it to disk; both read `"paused"`,
 *   and a start or an unpause wakes either. A stop of a paused or hibernated
 *   VM resumes it first, so that the guest shuts down cleanly.
 * - TLS is always verified; give the cluster's CA (`pve-root-ca.pem`).
 *
 * @example Stop a guest when idle, wake it on demand
 * ```ts ignore
 * import { newProxmoxProvider, ProxmoxClient } from "@idlewatcher/provider/proxmox";
 *
 * using client = new ProxmoxClient({
 *   url: "https://pve.example:8006",
 *   tokenId: "idle@pve!watcher",
 *   secret: Deno.env.get("PROXMOX_SECRET"),
 *   caFile: "/etc/idlewatcher/pve-root-ca.pem",
 * });
 * using provider = await newProxmoxProvider("pve", 101, { client });
 * console.log(provider.guestType); // "lxc" or "qemu"
 * await provider.containerStop("", 30);
 * await provider.containerStart();
 * console.log(await provider.containerStatus()); // "running"
 * ```
 *
 * @module
 */

export {
  ProxmoxClient,
  type ProxmoxConfig,
  type ProxmoxMethod,
  type ProxmoxRequestOptions,
} from "./client.ts";
export { PROXMOX_ENV_NAMES } from "./_config.ts";
export {
  newProxmoxProvider,
  type ProxmoxProvider,
  type ProxmoxProviderOptions,
  type VmPause,
} from "./_provider.ts";
export type { GuestType } from "./_api.ts";
export {
  type CallOptions,
  type ContainerSignal,
  ContainerStatus,
  type Provider,
  type WatchStreams,
} from "../provider.ts";
export { Action, type Event, EventType } from "../events/mod.ts";
export { type Logger, silentLogger } from "../log.ts";
