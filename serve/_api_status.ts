/**
 * An instance's status as Sablier's answers word it.
 *
 * @module
 */

import type { ContainerStatus } from "../provider.ts";
import type { Health, InstanceInfo } from "./_model.ts";

/** The status of an instance in Sablier's answers. */
export type InstanceApiStatus = "ready" | "starting" | "stopped" | "error";

/** The instance as its status sees it. */
export interface StatusSource {
  /** Whether it is ready. */
  readonly ready: boolean;
  /** Why the last wake failed. */
  readonly error: string | undefined;
  /** Its last status. */
  readonly status: ContainerStatus;
  /** Its last health. */
  readonly health: Health | undefined;
  /** Its description (whether it has a healthcheck). */
  readonly info: InstanceInfo;
}

/** An instance's status in Sablier's words, and why it is not ready when known. */
export function apiStatusOf(
  instance: StatusSource,
  waking: boolean,
): { status: InstanceApiStatus; message?: string } {
  if (instance.ready) return { status: "ready" };
  if (instance.error !== undefined && !waking) return { status: "error", message: instance.error };
  if (instance.status === "error") {
    return { status: "error", message: "the runtime reports an error state" };
  }
  if (instance.status === "running" || waking) {
    if (
      instance.status === "running" && instance.info.healthcheck && instance.health === "unhealthy"
    ) {
      return { status: "starting", message: "running but not healthy yet" };
    }
    return { status: "starting" };
  }
  return { status: "stopped" };
}
