/**
 * Where the cluster's guests live, from `GET /cluster/resources?type=vm`.
 * Its `node` comes from the cluster file system's guest list, so it is
 * current; only the status and usage beside it lag pvestatd's broadcast,
 * and they are not read here.
 *
 * @module
 */

import { ProviderError } from "../errors.ts";
import type { RequestContext } from "./_errors.ts";
import type { Transport } from "./_transport.ts";

/** A guest of the cluster. */
export interface Guest {
  /** `lxc` or `qemu`. */
  type: string;
  /** The node that holds its configuration. */
  node: string;
}

/** A node name: one host name label, as PVE requires (pve-common's `pve-node` format). */
export const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

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
  const resources = await transport.request("GET", "/cluster/resources", {
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
        `Cannot ${options.context.what}: PVE named guest ${String(vmid).slice(0, 20)}'s node ${
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
