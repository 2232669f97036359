/**
 * A Proxmox VE cluster as a {@linkcode Runtime}: the LXC containers and QEMU
 * virtual machines tagged `sablier`, named by hostname (as Sablier's Proxmox
 * provider names them) and by `node/vmid`.
 *
 * Tags (PVE allows no `=` or `.` in a tag, so the Docker label keys become
 * dashed tags):
 * - `sablier` opts in; `sablier-group-NAME` sets a group (several allowed).
 * - `idlewatcher-sleep-pause` sleeps by suspending instead of shutting down
 *   (a VM is frozen in memory and thaws in milliseconds; a CT needs CRIU).
 * - `idlewatcher-stop-timeout-SECONDS` sets the shutdown timeout (PVE's
 *   shutdown has no choice of signal).
 *
 * Ready means running: PVE reports no health, and no address to probe.
 *
 * Proxmox has no event stream: the providers' `watch()` polls node status
 * (one poller per cluster), and discovery lists `/cluster/resources` every
 * 10 s.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import type { Logger } from "../log.ts";
import type { Provider } from "../provider.ts";
import { newProxmoxProvider, type ProxmoxClient } from "../proxmox/mod.ts";
import { messageOf } from "../_internal/message.ts";
import { errorOfKind } from "../_internal/errdefs.ts";
import { vmidOf } from "../proxmox/_locate.ts";
import { isObject, shortJson, textOf } from "./_answers.ts";
import { DEFAULT_STOP_TIMEOUT, sleepPolicyOf } from "./_labels.ts";
import type { InstanceInfo, Runtime, RuntimeChange, ServeLogger, SignalOptions } from "./_model.ts";

/** Between two listings of the cluster's guests. */
const DISCOVERY_INTERVAL_MS = 10_000;
const ENABLE_TAG = "sablier";
const GROUP_PREFIX = "sablier-group-";
const PAUSE_TAG = "idlewatcher-sleep-pause";
const TIMEOUT_PREFIX = "idlewatcher-stop-timeout-";
/** A node's name as PVE allows it (a host name): no `/`, which separates `node/vmid`. */
const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62})$/;

/** Options of {@linkcode ProxmoxRuntime}. */
export interface ProxmoxRuntimeOptions {
  /** The cluster's client; the runtime closes it. */
  client: ProxmoxClient;
  /** The engine's name. @default {"proxmox"} */
  name?: string;
  /** Where to report. */
  logger: ServeLogger;
}

/** One Proxmox VE cluster. */
export class ProxmoxRuntime implements Runtime {
  /** The engine's name. */
  readonly name: string;
  #client: ProxmoxClient;
  #logger: ServeLogger;
  #providerLogger: Logger;

  /**
   * @param options The client, the name and the logger.
   */
  constructor(options: ProxmoxRuntimeOptions) {
    this.name = options.name ?? "proxmox";
    this.#client = options.client;
    this.#logger = options.logger;
    this.#providerLogger = {
      debug: (msg) => options.logger.debug(msg),
      error: (msg) => options.logger.debug(msg),
    };
  }

  /**
   * Lists the tagged LXC containers and QEMU VMs; a tagged guest whose entry
   * cannot be read is skipped with a warning.
   *
   * @throws {ApiError} When the answer is not a list (an empty list would
   *   drop every managed guest).
   */
  async list(options: SignalOptions = {}): Promise<InstanceInfo[]> {
    const resources: unknown = await this.#client.request("GET", "/cluster/resources", {
      params: { type: "vm" },
      signal: options.signal,
    });
    if (!Array.isArray(resources)) {
      throw errorOfKind(
        "api",
        `Cannot list the guests: the cluster answered ${shortJson(resources)}, not a list`,
        { status: 200, runtime: "proxmox", action: "list" },
      );
    }
    const infos: InstanceInfo[] = [];
    for (const resource of resources) {
      const info = isObject(resource) ? this.#toInfo(resource) : undefined;
      if (info !== undefined) infos.push(info);
    }
    return infos;
  }

  /** Reads one guest again (a listing: PVE answers it from memory). */
  async inspect(runtimeId: string, options: SignalOptions = {}): Promise<InstanceInfo | undefined> {
    return (await this.list(options)).find((info) => info.runtimeId === runtimeId);
  }

  /** A provider for the guest, on this cluster's client (its kind asked of the cluster). */
  provider(info: InstanceInfo): Promise<Provider> {
    const [node, vmid] = info.runtimeId.split("/");
    return newProxmoxProvider(node, Number(vmid), { client: this.#client });
  }

  /** Lists the guests every 10 s and reports the whole list. */
  async follow(
    onChange: (change: RuntimeChange) => void,
    options: { signal: AbortSignal },
  ): Promise<void> {
    const { signal } = options;
    while (!signal.aborted) {
      try {
        onChange({ kind: "resync", infos: await this.list({ signal }) });
      } catch (error) {
        if (signal.aborted) return;
        this.#logger.warn(`${this.name}: cannot list the guests: ${messageOf(error)}`);
      }
      await delay(DISCOVERY_INTERVAL_MS, { signal }).catch(() => {});
    }
  }

  /** Closes the client. */
  close(): void {
    this.#client.close();
  }

  #toInfo(resource: Record<string, unknown>): InstanceInfo | undefined {
    if (resource.type !== "lxc" && resource.type !== "qemu") return undefined;
    const tags = (textOf(resource.tags) ?? "").split(/[;, ]/).filter((tag) => tag !== "");
    if (!tags.includes(ENABLE_TAG)) return undefined;
    const node = textOf(resource.node);
    const vmid = vmidOf(resource.vmid);
    if (node === undefined || !NODE_NAME.test(node) || vmid === undefined) {
      this.#logger.warn(
        `${this.name}: skipped a tagged guest: no node or vmid in ${
          shortJson({ node: resource.node, vmid: resource.vmid, name: resource.name })
        }`,
      );
      return undefined;
    }
    const runtimeId = `${node}/${vmid}`;
    const name = typeof resource.name === "string" && resource.name !== ""
      ? resource.name
      : runtimeId;
    const groups = tags.filter((tag) =>
      tag.startsWith(GROUP_PREFIX) && tag.length > GROUP_PREFIX.length
    )
      .map((tag) => tag.slice(GROUP_PREFIX.length));
    const timeoutTag = tags.find((tag) => tag.startsWith(TIMEOUT_PREFIX));
    const sleep = sleepPolicyOf({
      sleep: tags.includes(PAUSE_TAG) ? "pause" : undefined,
      stopTimeout: timeoutTag?.slice(TIMEOUT_PREFIX.length) ?? String(DEFAULT_STOP_TIMEOUT),
    }, (message) => this.#logger.warn(`${this.name}/${name}: ${message}`));
    return {
      runtimeId,
      name,
      aliases: name === runtimeId ? [] : [runtimeId],
      groups: groups.length === 0 ? ["default"] : groups,
      sleep,
      healthcheck: false,
      dependsOn: [],
      state: { status: resource.status === "running" ? "running" : "stopped" },
    };
  }
}
