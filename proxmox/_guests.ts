/**
 * Where the cluster's guests live, from `GET /cluster/resources?type=vm`.
 * Its `node` comes from the cluster file system's guest list, so it is
 * current; only the status and usage beside it lag pvestatd's broadcast,
 * and they are not read here.
 *
 * @module
 */

import type { RequestContext } from "./_errors.ts";
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
  const resources = await transport.request("GET", "/cluster/resources", {
    params: { type: "vm" },
    ...options,
  });
  const guests = new Map<number, Guest>();
  for (const resource of Array.isArray(resources) ? resources : []) {
    const { vmid, type, node } = (resource ?? {}) as Record<string, unknown>;
    if (typeof type === "string" && typeof node === "string") {
      guests.set(Number(vmid), { type, node });
    }
  }
  return guests;
}
