/**
 * The power state machine of one QEMU virtual machine: a power call is
 * posted, its task waited for, then the state it ends in; and the VM's
 * status is read from `status/current` alone ({@linkcode vmStatusOf}).
 *
 * How a call goes (qemu-server's `PVE/API2/Qemu.pm`):
 * 1. A stop of a paused or hibernated VM, and a kill of a hibernated one,
 *    resume it first. PVE's shutdown of a paused VM with `forceStop` is a
 *    hard stop, and a hibernated VM is not running, so a shutdown or stop of
 *    it would do nothing and leave it hibernated.
 * 2. `POST .../status/<endpoint>`. PVE refuses some calls before any task
 *    ("VM 100 not running", a hibernation it will not do): when the VM is in
 *    the call's target state, the refusal is success; otherwise it is the
 *    error, with PVE's text.
 * 3. The task is waited for. PVE fails the task of a start of a running VM
 *    ("already running"): a failed task whose VM is in the target state is
 *    success, logged at DEBUG; a start whose VM is paused resumes it; any
 *    other failure is a {@linkcode TaskError} (or a `NotFoundError` when the
 *    VM's configuration is gone).
 * 4. The VM's state is polled until it is the target (an HA-managed VM
 *    changes state after its `hastart`/`hastop` task ends).
 *
 * @module
 */

import type { RequestContext } from "../_internal/errdefs.ts";
import type { Logger } from "../log.ts";
import { ContainerStatus } from "../provider.ts";
import { POWER, type PowerCall } from "./_api.ts";
import type { GuestLocation } from "./_locate.ts";
import {
  isRefusal,
  pollUntil,
  postPowerCall,
  powerContext,
  powerTaskError,
  readCurrentStatus,
  statusOrUndefined,
} from "./_power_call.ts";
import { isTaskOk, type Upid, waitForTask } from "./_tasks.ts";
import type { Transport } from "./_transport.ts";
import { isHibernated, type VmStatusFields, vmStatusOf } from "./_vm_status.ts";

/** The power calls and status reads of one VM, at the node its location says. */
export class VmPower {
  #transport: Transport;
  #location: GuestLocation;

  /**
   * Wraps a VM.
   *
   * @param transport The cluster's API.
   * @param location Where the VM is; read at every request.
   */
  constructor(transport: Transport, location: GuestLocation) {
    this.#transport = transport;
    this.#location = location;
  }

  /**
   * What a call of the VM does, for messages: `start VM 100 on node "pve"`.
   *
   * @param verb The call's verb, or `"status"`.
   * @returns The context of the call's requests.
   */
  context(verb: string): RequestContext {
    return powerContext("VM", this.#location, verb);
  }

  /**
   * Runs a power call to its end: the task done and the VM in the call's
   * target state.
   *
   * @param call The call.
   * @param signal Aborts the call.
   * @throws {ApiError} When PVE refused the call and the VM is not in the target state.
   * @throws {TaskError} When the task failed and the VM is not in the target state.
   * @throws {NotFoundError} When the VM's configuration is gone.
   */
  async run(call: PowerCall, signal: AbortSignal): Promise<void> {
    if (call.target === ContainerStatus.Stopped) await this.#resumeBeforeStop(call, signal);
    const context = this.context(call.verb);
    const upid = await this.#post(call, context, signal);
    if (upid === undefined) return;
    const exitstatus = await waitForTask(this.#transport, upid, { signal, context });
    if (exitstatus !== undefined && !isTaskOk(exitstatus)) {
      const status = await statusOrUndefined(() => this.status(signal), signal);
      const wake = call.endpoint === "start" && status === ContainerStatus.Paused;
      if (status !== call.target && !wake) {
        throw powerTaskError(call, { context, type: upid.type, exitstatus });
      }
      this.#debug(
        call,
        `task ${upid.type} failed (${exitstatus}), and the VM is ${status}` +
          (wake ? ": resuming it" : ": nothing left to do"),
      );
      if (wake) await this.run(POWER.unpause, signal);
      return;
    }
    await pollUntil(async () => await this.status(signal) === call.target, signal);
  }

  /**
   * The VM's status ({@linkcode vmStatusOf}): `status`, `qmpstatus` and the
   * hibernation lock of `status/current`.
   *
   * @param signal Aborts the read.
   * @returns The status.
   */
  async status(signal: AbortSignal): Promise<ContainerStatus> {
    return vmStatusOf(await this.#readStatus(signal));
  }

  /** Resumes a paused VM to be stopped, or a hibernated VM to be stopped or killed. */
  async #resumeBeforeStop(call: PowerCall, signal: AbortSignal): Promise<void> {
    const current = await this.#readStatus(signal);
    const hibernated = isHibernated(current);
    const paused = vmStatusOf(current) === ContainerStatus.Paused;
    if (!hibernated && !(paused && call.endpoint === "shutdown")) return;
    this.#debug(
      call,
      `the VM is ${
        hibernated ? "hibernated" : "paused"
      }: resuming it so that the ${call.verb} ends it`,
    );
    await this.run(POWER.unpause, signal);
  }

  /** Posts the call and returns its task; `undefined` when PVE refused it and the VM is there. */
  async #post(
    call: PowerCall,
    context: RequestContext,
    signal: AbortSignal,
  ): Promise<Upid | undefined> {
    try {
      return await postPowerCall(this.#transport, call, {
        location: this.#location,
        context,
        signal,
      });
    } catch (error) {
      // A refusal before any task ("not running", a hibernation PVE will not do).
      if (!isRefusal(error)) throw error;
      const status = await statusOrUndefined(() => this.status(signal), signal);
      if (status !== call.target) throw error;
      this.#debug(call, `PVE refused it (${error.serverMessage}); the VM is already ${status}`);
      return undefined;
    }
  }

  #readStatus(signal: AbortSignal): Promise<VmStatusFields> {
    return readCurrentStatus<VmStatusFields>(this.#transport, {
      location: this.#location,
      context: this.context("status"),
      signal,
    });
  }

  #debug(call: PowerCall, message: string): void {
    const { vmid } = this.#location;
    this.#logger.debug(`VM ${vmid}, ${call.verb}: ${message}`, {
      container: `${vmid}`,
      action: call.verb,
    });
  }

  get #logger(): Logger {
    return this.#transport.config.logger;
  }
}
