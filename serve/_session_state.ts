/**
 * A session's state in Sablier's wire shape, built from the instances a
 * request names.
 *
 * @module
 */

import type { InstanceApiStatus } from "./_api_status.ts";
import type { Instance } from "./_instance.ts";

/** One instance of a request, and whether it holds readiness back. */
export interface Target {
  /** The instance. */
  instance: Instance;
  /** Named with `optional:`: woken, never waited for. */
  optional: boolean;
}

/** Sablier's `InstanceInfo`, as far as this server fills it. */
export interface InstanceState {
  /** The name, as answers show it. */
  name: string;
  /** 1 when ready, else 0. */
  currentReplicas: number;
  /** Always 1: a session wants the instance up. */
  desiredReplicas: number;
  /** `ready`, `starting`, `stopped` or `error`. */
  status: InstanceApiStatus;
  /** Why it is not ready, when known. */
  message?: string;
  /** The engine that runs it. */
  provider: string;
}

/** One entry of a session's `instances`. */
export interface InstanceEntry {
  /** The instance's state. */
  instance: InstanceState;
  /** What prevented it from starting. */
  error?: string;
  /** Present and `true` for an `optional:` instance. */
  optional?: boolean;
}

/** The answer of the blocking strategy: `{"session":{"instances":[…],"status":"ready"}}`. */
export interface SessionResponse {
  /** The session. */
  session: {
    /** The instances, sorted by name. */
    instances: InstanceEntry[];
    /** `ready` when every instance that is not optional is ready. */
    status: "ready" | "not-ready";
  };
}

/**
 * Tells whether every target that is not optional is ready.
 *
 * @param targets The request's instances.
 * @returns `true` when the session is ready.
 */
export function isSessionReady(targets: readonly Target[]): boolean {
  return targets.every((target) => target.optional || target.instance.ready);
}

/**
 * Builds the session's state in Sablier's shape.
 *
 * @param targets The request's instances.
 * @returns The wire object.
 */
export function sessionResponse(targets: readonly Target[]): SessionResponse {
  const instances = targets.map(({ instance, optional }): InstanceEntry => {
    const { status, message } = instance.apiStatus();
    const entry: InstanceEntry = {
      instance: {
        name: instance.name,
        currentReplicas: status === "ready" ? 1 : 0,
        desiredReplicas: 1,
        status,
        ...(message === undefined ? {} : { message }),
        provider: instance.runtime.name,
      },
    };
    if (status === "error" && message !== undefined) entry.error = message;
    if (optional) entry.optional = true;
    return entry;
  });
  instances.sort((a, b) =>
    a.instance.name < b.instance.name ? -1 : a.instance.name > b.instance.name ? 1 : 0
  );
  return { session: { instances, status: isSessionReady(targets) ? "ready" : "not-ready" } };
}
