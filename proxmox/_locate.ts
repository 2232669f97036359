/**
 * Where guests live: the cluster's guests, their kinds and their nodes, from
 * `GET /cluster/resources?type=vm` (its `type` and `node` come from the
 * cluster file system's guest list, so they are current; only the status and
 * usage beside them lag pvestatd's broadcast, and they are not read here);
 * finding a guest's kind and node; telling an unknown node from other
 * failures; and following a guest that was migrated.
 *
 * @module
 */

import { raceSignal } from "../_internal/abort.ts";
import { failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { isObject } from "../_internal/json.ts";
import { type ApiError, NotFoundError, ProviderError } from "../errors.ts";
import { guestLabel, type GuestType, NODE_NAME, PATHS } from "./_api.ts";
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
    const { vmid: rawVmid, type, node } = isObject(resource) ? resource : {};
    const vmid = vmidOf(rawVmid);
    if (vmid === undefined || typeof type !== "string" || typeof node !== "string") continue;
    if (!NODE_NAME.test(node)) {
      // It goes into request paths: checked like a node name given by a caller.
      throw new ProviderError(
        `${failurePrefix(options.context)}: PVE named guest ${vmid}'s node ${
          JSON.stringify(node.slice(0, 64))
        }, which is not a node name`,
        {
          runtime: "proxmox",
          action: options.context.action,
          container: options.context.container,
        },
      );
    }
    guests.set(vmid, { type, node });
  }
  return guests;
}

/**
 * A vmid as PVE lists it: a number, or digits (older answers). `undefined`
 * for anything else, which names no guest.
 *
 * @param value The `vmid` field of an answer.
 * @returns The vmid.
 */
export function vmidOf(value: unknown): number | undefined {
  const vmid = typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : value;
  return Number.isSafeInteger(vmid) && (vmid as number) >= 0 ? vmid as number : undefined;
}

/** Lookups in flight, by transport: providers created at the same time share one request. */
const lookups = new WeakMap<Transport, Promise<Map<number, Guest>>>();

/**
 * The cluster's guests, from a lookup in flight when there is one, else
 * from a new one that later callers share until it ends. The request runs
 * until the client closes (under its per-request timeout); each caller
 * stops waiting when its own `signal` aborts.
 */
function sharedClusterGuests(
  transport: Transport,
  signal: AbortSignal,
): Promise<Map<number, Guest>> {
  let lookup = lookups.get(transport);
  if (lookup === undefined) {
    lookup = clusterGuests(transport, {
      signal: transport.closed,
      context: { what: "list the cluster's guests", action: "status" },
    }).finally(() => lookups.delete(transport));
    lookup.catch(() => {}); // each caller sees the failure; none may be left to
    lookups.set(transport, lookup);
  }
  return raceSignal(lookup, signal);
}

/** How PVE's kinds of guest read in messages. */
function kindName(type: string): string {
  return type === "qemu" ? "QEMU virtual machine" : type === "lxc" ? "LXC container" : type;
}

/**
 * Finds guest `vmid`'s node and kind. Asks the cluster unless both are
 * given; lookups made at the same time on one client share one request.
 * With a node given, a guest the cluster does not list (or a lookup that
 * fails) is taken for a container, as before VMs were known: reading its
 * status then says what is wrong.
 *
 * @param transport The cluster's API.
 * @param nodeName The node, or `""` to look it up.
 * @param vmid The guest's id.
 * @param type The guest's kind, or `undefined` to look it up.
 * @param signal Aborts the lookup.
 * @returns The node that holds the guest, and its kind.
 * @throws {NotFoundError} When the cluster has no such guest (with no node
 * given), or the guest is of another kind than `type`.
 */
export async function locateGuest(
  transport: Transport,
  nodeName: string,
  vmid: number,
  type: GuestType | undefined,
  signal: AbortSignal,
): Promise<{ node: string; type: GuestType }> {
  if (nodeName !== "" && type !== undefined) return { node: nodeName, type };
  const container = `${vmid}`;
  let entry: Guest | undefined;
  try {
    entry = (await sharedClusterGuests(transport, signal)).get(vmid);
  } catch (error) {
    if (nodeName === "" || signal.aborted) throw error;
    transport.config.logger.debug(
      `Cannot ask the cluster what guest ${vmid} is; taking it for an LXC container`,
      { container, error },
    );
    return { node: nodeName, type: "lxc" };
  }
  const found = entry?.type === "lxc" || entry?.type === "qemu" ? entry.type : undefined;
  const options = { runtime: "proxmox" as const, action: "status", container };
  if (type !== undefined && entry !== undefined && found !== type) {
    throw new NotFoundError(
      `Guest ${vmid} is a ${kindName(entry.type)}, not a ${kindName(type)}`,
      options,
    );
  }
  if (nodeName !== "") return { node: nodeName, type: found ?? "lxc" };
  if (entry === undefined || found === undefined) {
    throw new NotFoundError(
      entry
        ? `Guest ${vmid} is a ${
          kindName(entry.type)
        }, neither an LXC container nor a QEMU virtual machine`
        : `No ${type ? kindName(type) : "guest"} ${vmid} in the cluster`,
      options,
    );
  }
  return { node: entry.node, type: found };
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
  where: { node: string; vmid: number; type: GuestType },
  cause: ApiError,
  signal: AbortSignal,
): Promise<NotFoundError | undefined> {
  const { node, vmid } = where;
  let nodes: unknown;
  try {
    nodes = await transport.request("GET", PATHS.nodes, {
      signal,
      context: { what: "list the cluster's nodes", action: "status", container: `${vmid}` },
    });
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
  const names = (Array.isArray(nodes) ? nodes : []).map((entry) => isObject(entry) ? entry.node : 0)
    .filter((name): name is string => typeof name === "string").sort();
  if (names.length === 0 || names.includes(node)) return undefined;
  return new NotFoundError(
    `Cannot read ${guestLabel(where)} on node "${node}": the cluster has no node "${node}" ` +
      `(available nodes: ${names.join(", ")})`,
    { runtime: "proxmox", action: "status", container: `${vmid}`, cause },
  );
}

/**
 * Where one guest is: the node that holds it, which changes when the guest
 * is migrated. The only owner of a provider's node.
 */
export class GuestLocation {
  /** The guest's id. */
  readonly vmid: number;
  /** `lxc` or `qemu`. */
  readonly type: GuestType;
  #node: string;
  #transport: Transport;

  /**
   * Starts at a known node.
   *
   * @param transport The cluster's API.
   * @param guest The node that holds the guest now, its id and its kind.
   */
  constructor(transport: Transport, guest: { node: string; vmid: number; type: GuestType }) {
    this.#transport = transport;
    this.#node = guest.node;
    this.vmid = guest.vmid;
    this.type = guest.type;
  }

  /** `CT 101` or `VM 100`, as messages name the guest. */
  get label(): string {
    return guestLabel(this);
  }

  /** The node that holds the guest, as last known. */
  get node(): string {
    return this.#node;
  }

  /**
   * Runs `body`; when it finds no guest on the node, looks the guest up in
   * the cluster and, when it was migrated, follows it to its new node and
   * runs `body` once more there. Power actions are safe to send again: one that
   * already took effect is refused, and that refusal is success.
   *
   * @param signal Aborts the lookup.
   * @param body The call, which reads {@linkcode GuestLocation.node} each time it runs.
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
   * Looks for the guest in the cluster (`GET /cluster/resources?type=vm`).
   * @returns Whether it is on another node, which is now the guest's node.
   */
  async #follow(signal: AbortSignal): Promise<boolean> {
    const vmid = this.vmid;
    let node: string | undefined;
    try {
      const guest = (await clusterGuests(this.#transport, {
        signal,
        context: {
          what: `find the node of ${this.label}`,
          action: "status",
          container: `${vmid}`,
        },
      })).get(vmid);
      if (guest?.type === this.type) node = guest.node;
    } catch (error) {
      if (signal.aborted) throw error;
      return false;
    }
    if (node === undefined || node === this.#node) return false;
    this.#transport.config.logger.debug(
      `${this.label} moved from node "${this.#node}" to "${node}"`,
      {
        container: `${vmid}`,
      },
    );
    this.#node = node;
    return true;
  }
}
