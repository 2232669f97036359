/**
 * Where guests live: the cluster's guests and their nodes, from `GET
 * /cluster/resources?type=vm` (its `node` comes from the cluster file
 * system's guest list, so it is current; only the status and usage beside it
 * lag pvestatd's broadcast, and they are not read here); finding a CT's node;
 * telling an unknown node from other failures; and following a CT that was
 * migrated.
 *
 * @module
 */

import { failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { type ApiError, NotFoundError, ProviderError } from "../errors.ts";
import { NODE_NAME, PATHS } from "./_api.ts";
import type { Transport } from "./_transport.ts";

/** A guest of the cluster. */
export interface Guest {
  /** `lxc` or `qemu`. */
  type: string;
  /** The node that holds its configuration. */
  node: string;
}

/** Options of {@linkcode clusterGuests}. */
export interface ClusterGuestsOptions {
  signal: AbortSignal;
  context: RequestContext;
  /** Retry 595/596/502/503 with backoff. Default: `true`. */
  retry?: boolean;
}

/** The cluster's guests, by vmid. */
export async function clusterGuests(
  transport: Transport,
  options: ClusterGuestsOptions,
): Promise<Map<number, Guest>> {
  const resources = await transport.request("GET", PATHS.clusterResources, {
    params: { type: "vm" },
    ...options,
  });
  const guests = new Map<number, Guest>();
  for (const resource of Array.isArray(resources) ? resources : []) {
    const { vmid, type, node } = (resource ?? {}) as Record<string, unknown>;
    if (typeof type !== "string" || typeof node !== "string") continue;
    if (!NODE_NAME.test(node)) {
      // It goes into request paths: checked like a node name given by a caller.
      throw new ProviderError(
        `${failurePrefix(options.context)}: PVE named guest ${String(vmid).slice(0, 20)}'s node ${
          JSON.stringify(node.slice(0, 64))
        }, which is not a node name`,
        {
          runtime: "proxmox",
          action: options.context.action,
          container: options.context.container,
        },
      );
    }
    guests.set(Number(vmid), { type, node });
  }
  return guests;
}

/**
 * Finds the node that holds LXC container `vmid`.
 *
 * @returns The node's name.
 * @throws {NotFoundError} When the cluster has no such CT, or `vmid` is another kind of guest.
 */
export async function findCtNode(
  transport: Transport,
  vmid: number,
  signal: AbortSignal,
): Promise<string> {
  const guests = await clusterGuests(transport, {
    signal,
    context: { what: `find the node of CT ${vmid}`, action: "status", container: `${vmid}` },
  });
  const entry = guests.get(vmid);
  if (entry?.type === "lxc") return entry.node;
  throw new NotFoundError(
    entry
      ? `Guest ${vmid} is a ${
        entry.type === "qemu" ? "QEMU virtual machine" : entry.type
      }, not an LXC container`
      : `No LXC container ${vmid} in the cluster`,
    { runtime: "proxmox", action: "status", container: `${vmid}` },
  );
}

/**
 * Tells whether a 500 of `status/current` means that `node` is not in the
 * cluster (pveproxy's hostname lookup of an unknown node fails with a 500,
 * like many other problems): asks `GET /nodes`.
 *
 * @returns A {@linkcode NotFoundError} naming the node and the cluster's
 * nodes; `undefined` when the node exists or the nodes cannot be listed.
 */
export async function unknownNodeError(
  transport: Transport,
  where: { node: string; vmid: number },
  cause: ApiError,
  signal: AbortSignal,
): Promise<NotFoundError | undefined> {
  const { node, vmid } = where;
  let nodes: { node?: unknown }[] | null;
  try {
    nodes = await transport.request("GET", PATHS.nodes, {
      signal,
      context: { what: "list the cluster's nodes", action: "status", container: `${vmid}` },
    }) as { node?: unknown }[] | null;
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
  const names = (nodes ?? []).map((entry) => entry.node)
    .filter((name): name is string => typeof name === "string").sort();
  if (names.length === 0 || names.includes(node)) return undefined;
  return new NotFoundError(
    `Cannot read CT ${vmid} on node "${node}": the cluster has no node "${node}" ` +
      `(available nodes: ${names.join(", ")})`,
    { runtime: "proxmox", action: "status", container: `${vmid}`, cause },
  );
}

/**
 * Where one CT is: the node that holds it, which changes when the CT is
 * migrated. The only owner of a provider's node.
 */
export class CtLocation {
  /** The CT's id. */
  readonly vmid: number;
  #node: string;
  #transport: Transport;

  /**
   * Starts at a known node.
   *
   * @param transport The cluster's API.
   * @param node The node that holds the CT now.
   * @param vmid The CT's id.
   */
  constructor(transport: Transport, node: string, vmid: number) {
    this.#transport = transport;
    this.#node = node;
    this.vmid = vmid;
  }

  /** The node that holds the CT, as last known. */
  get node(): string {
    return this.#node;
  }

  /**
   * Runs `body`; when it finds no CT on the node, looks the CT up in the
   * cluster and, when it was migrated, follows it to its new node and runs
   * `body` once more there. Power actions are safe to send again: one that
   * already took effect is refused, and that refusal is success.
   *
   * @param signal Aborts the lookup.
   * @param body The call, which reads {@linkcode CtLocation.node} each time it runs.
   * @returns What `body` resolves with.
   */
  async following<T>(signal: AbortSignal, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (!(error instanceof NotFoundError) || !await this.#follow(signal)) throw error;
      return await body();
    }
  }

  /**
   * Looks for the CT in the cluster (`GET /cluster/resources?type=vm`).
   * @returns Whether it is on another node, which is now the CT's node.
   */
  async #follow(signal: AbortSignal): Promise<boolean> {
    const vmid = this.vmid;
    let node: string | undefined;
    try {
      const guest = (await clusterGuests(this.#transport, {
        signal,
        context: { what: `find the node of CT ${vmid}`, action: "status", container: `${vmid}` },
      })).get(vmid);
      if (guest?.type === "lxc") node = guest.node;
    } catch (error) {
      if (signal.aborted) throw error;
      return false;
    }
    if (node === undefined || node === this.#node) return false;
    this.#transport.config.logger.debug(`CT ${vmid} moved from node "${this.#node}" to "${node}"`, {
      container: `${vmid}`,
    });
    this.#node = node;
    return true;
  }
}
