/**
 * The steps a power call of a Proxmox guest shares, CT or VM alike: the
 * POST that returns its task, PVE's refusal before any task, the error of a
 * failed task, and the polls that follow the guest's state.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import { backoff } from "../_internal/backoff.ts";
import { shortJson } from "../_internal/json.ts";
import {
  errorOfKind,
  failurePrefix,
  isConfigMissing,
  type RequestContext,
} from "../_internal/errdefs.ts";
import { ApiError, NotFoundError, ProviderError } from "../errors.ts";
import type { ContainerStatus } from "../provider.ts";
import { guestStatusPath, type PowerCall } from "./_api.ts";
import type { GuestLocation } from "./_locate.ts";
import { parseUpid, type Upid } from "./_tasks.ts";
import { POLL_BACKOFF } from "./_timing.ts";
import type { Transport } from "./_transport.ts";

/**
 * What a call of a guest does, for messages: `start CT 101 on node "pve"`.
 *
 * @param kind `"CT"` or `"VM"`.
 * @param location Where the guest is; read now.
 * @param verb The call's verb, or `"status"`.
 * @returns The context of the call's requests.
 */
export function powerContext(
  kind: "CT" | "VM",
  location: GuestLocation,
  verb: string,
): RequestContext {
  const what = verb === "status" ? "read the status of" : verb;
  const { vmid, node } = location;
  return { what: `${what} ${kind} ${vmid} on node "${node}"`, action: verb, container: `${vmid}` };
}

/** Options of {@linkcode postPowerCall}. */
export interface PostPowerCallOptions {
  /** Where the guest is. */
  location: GuestLocation;
  /** The call, for messages. */
  context: RequestContext;
  /** Aborts the request. */
  signal: AbortSignal;
}

/**
 * Posts a power call and returns its task.
 *
 * @param transport The cluster's API.
 * @param call The call.
 * @param options Where, for what, and the signal.
 * @returns The call's task.
 * @throws {ApiError} PVE's refusal before any task ({@linkcode isRefusal}), or another failure.
 * @throws {ProviderError} When PVE answered with no task id.
 */
export async function postPowerCall(
  transport: Transport,
  call: PowerCall,
  options: PostPowerCallOptions,
): Promise<Upid> {
  const { location, context, signal } = options;
  const data = await transport.request("POST", guestStatusPath(location, call.endpoint), {
    params: call.params,
    signal,
    context,
  });
  const upid = parseUpid(data);
  if (upid !== undefined) return upid;
  throw new ProviderError(
    `${failurePrefix(context)}: PVE answered with no task id (${shortJson(data)})`,
    { runtime: "proxmox", action: call.verb, container: `${location.vmid}` },
  );
}

/**
 * Whether an error is PVE refusing a call before any task ("already
 * running", "not running", a lock): a 500 with PVE's text.
 *
 * @param error What the POST rejected with.
 * @returns `true` for a refusal.
 */
export function isRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 500;
}

/**
 * The error of a power task that failed: a `TaskError`, or a
 * `NotFoundError` when the guest's configuration is gone.
 *
 * @param call The call whose task failed.
 * @param failure The call's context, the task's type and exit status, and a hint to append.
 * @returns The error to throw.
 */
export function powerTaskError(
  call: PowerCall,
  failure: { context: RequestContext; type: string; exitstatus: string; hint?: string },
): Error {
  const { context, type, exitstatus, hint = "" } = failure;
  const options = { runtime: "proxmox" as const, action: call.verb, container: context.container };
  const message = `${failurePrefix(context)}: task ${type} failed: ${exitstatus}`;
  if (isConfigMissing(exitstatus)) return errorOfKind("not-found", message, options);
  return errorOfKind("task", message + hint, { ...options, task: type, exitStatus: exitstatus });
}

/**
 * Polls until `isThere` holds: at once, then backing off from 15 ms to 1 s.
 *
 * @param isThere Reads the guest's state and says whether it is the target.
 * @param signal Ends the wait.
 */
export async function pollUntil(
  isThere: () => Promise<boolean>,
  signal: AbortSignal,
): Promise<void> {
  const waits = backoff(POLL_BACKOFF);
  while (!await isThere()) {
    await delay(waits.next().value, { signal });
  }
}

/**
 * The guest's status, to judge a refused call or a failed task by;
 * `undefined` when it cannot be read, so that the refusal is what surfaces.
 *
 * @param read Reads the status.
 * @param signal The call's signal: its abort is thrown, not hidden.
 * @returns The status, or `undefined`.
 * @throws {NotFoundError} When the guest is not on its node (it may have moved).
 */
export async function statusOrUndefined(
  read: () => Promise<ContainerStatus>,
  signal: AbortSignal,
): Promise<ContainerStatus | undefined> {
  try {
    return await read();
  } catch (error) {
    // No guest on the node says more than the refusal: it may have moved.
    if (signal.aborted || error instanceof NotFoundError) throw error;
    return undefined;
  }
}

/** Options of {@linkcode readCurrentStatus}. */
export interface ReadCurrentStatusOptions {
  /** Where the guest is. */
  location: GuestLocation;
  /** The read, for messages. */
  context: RequestContext;
  /** Aborts the request. */
  signal: AbortSignal;
}

/**
 * Reads `GET .../status/current`: the guest's fields, as PVE sends them.
 *
 * @typeParam T The fields the caller reads.
 * @param transport The cluster's API.
 * @param options Where, for what, and the signal.
 * @returns The fields.
 * @throws {ProviderError} When PVE answered something other than an object (`{"data": null}`).
 */
export async function readCurrentStatus<T extends object>(
  transport: Transport,
  options: ReadCurrentStatusOptions,
): Promise<T> {
  const { location, context, signal } = options;
  const data = await transport.request("GET", guestStatusPath(location), { signal, context });
  if (typeof data === "object" && data !== null && !Array.isArray(data)) return data as T;
  throw new ProviderError(
    `${failurePrefix(context)}: PVE answered with no status (${
      data === null ? "null" : typeof data
    } data)`,
    { runtime: "proxmox", action: context.action, container: `${location.vmid}` },
  );
}
