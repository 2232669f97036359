/**
 * Loads the library's parts for the benchmarks, only once their files exist:
 * `undefined` means "not built yet" and the row says so.
 *
 * @module
 */

import { loadPiece } from "./_harness.ts";

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

/**
 * True when the Docker provider's `watch()` is built: it returns streams
 * instead of throwing. Probed on a socket that does not exist, and ended at once.
 */
export function dockerWatchBuilt(docker: DockerModule | undefined): boolean {
  if (!docker) return false;
  const provider = docker.newDockerProvider({ url: "unix:///nonexistent/iwbench.sock" }, "probe");
  const stop = new AbortController();
  try {
    const { events, errors } = provider.watch({ signal: stop.signal });
    events.cancel().catch(() => {});
    errors.cancel().catch(() => {});
    return true;
  } catch {
    return false;
  } finally {
    stop.abort();
    provider.close();
  }
}
