/**
 * Loads the library's parts for the benchmarks, only once their files exist:
 * `undefined` means "not built yet" and the row says so.
 *
 * @module
 */

import { exists, loadPiece, ROOT } from "./_harness.ts";

/** The Docker entry point (docker/mod.ts). */
export type DockerModule = typeof import("../docker/mod.ts");

/** The Proxmox entry point (proxmox/mod.ts). */
export type ProxmoxModule = typeof import("../proxmox/mod.ts");

/** Loads docker/mod.ts, or `undefined` when it is not there yet. */
export async function loadDocker(): Promise<DockerModule | undefined> {
  const module = await loadPiece<DockerModule>("docker/mod.ts");
  return typeof module?.newDockerProvider === "function" ? module : undefined;
}

/** Loads proxmox/mod.ts, or `undefined` when it is not there yet. */
export async function loadProxmox(): Promise<ProxmoxModule | undefined> {
  const module = await loadPiece<ProxmoxModule>("proxmox/mod.ts");
  return typeof module?.newProxmoxProvider === "function" ? module : undefined;
}

/** True when the Docker provider's watch (docker/_watch.ts) exists. */
export async function dockerWatchBuilt(): Promise<boolean> {
  return await exists(`${ROOT}/docker/_watch.ts`);
}
