/**
 * The power state machine of one LXC container: a power call is posted,
 * its task waited for, then the state it ends in; and the CT's status is
 * read, with a checkpointed (suspended) CT told apart from a stopped one.
 *
 * How a call goes:
 * 1. `POST .../status/<endpoint>`. PVE refuses a call whose state the CT is
 *    already in ("already running", "not running"): when the CT is in the
 *    call's target state, that refusal is success. A stop or kill of a
 *    paused CT is refused too: the CT is resumed first, then the call is
 *    posted once more.
 * 2. The task is waited for ({@linkcode waitForTask}). A failed task whose CT
 *    still ended in the target state is success; otherwise it is a
 *    {@linkcode TaskError} (or a `NotFoundError` when the CT's configuration
 *    is gone).
 * 3. The CT's state is polled until it is the target (an HA-managed CT
 *    changes state after its task ends).
 *
 * @module
 */

import type { RequestContext } from "../_internal/errdefs.ts";
import { TaskError } from "../errors.ts";
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
import { isSuspended, isTaskOk, latestPowerTask, type Upid, waitForTask } from "./_tasks.ts";
import type { Transport } from "./_transport.ts";

/** What `GET .../status/current` answers, as far as it is read. */
interface CurrentStatus {
  status?: string;
  template?: number | boolean;
}

/** The power calls and status reads of one CT, at the node its location says. */
export class CtPower {
  #transport: Transport;
  #location: GuestLocation;

  /**
   * Wraps a CT.
   *
   * @param transport The cluster's API.
   * @param location Where the CT is; read at every request.
   */
  constructor(transport: Transport, location: GuestLocation) {
    this.#transport = transport;
    this.#location = location;
  }

  /**
   * What a call of the CT does, for messages: `start CT 101 on node "pve"`.
   *
   * @param verb The call's verb, or `"status"`.
   * @returns The context of the call's requests.
   */
  context(verb: string): RequestContext {
    return powerContext("CT", this.#location, verb);
  }

  /**
   * Runs a power call to its end: the task done and the CT in the call's
   * target state.
   *
   * @param call The call.
   * @param signal Aborts the call.
   * @throws {TaskError} When the task failed and the CT is not in the target state.
   */
  async run(call: PowerCall, signal: AbortSignal): Promise<void> {
    const context = this.context(call.verb);
    const upid = await this.#post(call, context, signal);
    if (upid === undefined) return;
    const exitstatus = await waitForTask(this.#transport, upid, {
      signal,
      context,
      // A resume task keeps running while the CT it restored runs.
      doneWhileRunning: call.endpoint === "resume"
        ? () => this.#isIn(call.target, signal)
        : undefined,
    });
    if (exitstatus !== undefined && !isTaskOk(exitstatus)) {
      if (
        call.endpoint !== "suspend" &&
        await statusOrUndefined(() => this.status(signal), signal) === call.target
      ) {
        return;
      }
      throw powerTaskError(call, {
        context,
        type: upid.type,
        exitstatus,
        hint: call.endpoint === "suspend" ? CRIU_HINT : "",
      });
    }
    await pollUntil(() => this.#isIn(call.target, signal), signal);
  }

  /**
   * The CT's status: running → running; stopped → paused when the latest
   * power task is a successful suspend (the CRIU checkpoint is kept for a
   * resume), else stopped; a template, or any other status → error.
   *
   * @param signal Aborts the reads.
   * @returns The status.
   */
  async status(signal: AbortSignal): Promise<ContainerStatus> {
    const current = await this.#readStatus(signal);
    if (current.template === 1 || current.template === true) return ContainerStatus.Error;
    if (current.status === "running") return ContainerStatus.Running;
    if (current.status !== "stopped") return ContainerStatus.Error;
    const { vmid, node } = this.#location;
    const task = await latestPowerTask(this.#transport, node, vmid, {
      signal,
      context: {
        what: `read the tasks of CT ${vmid} on node "${node}"`,
        action: "status",
        container: `${vmid}`,
      },
    });
    return isSuspended(task) ? ContainerStatus.Paused : ContainerStatus.Stopped;
  }

  /**
   * Posts the call and returns its task; `undefined` when PVE refused it
   * because the CT already is in the target state. A stop or kill refused
   * because the CT is paused resumes it, then is posted once more.
   */
  async #post(
    call: PowerCall,
    context: RequestContext,
    signal: AbortSignal,
  ): Promise<Upid | undefined> {
    let resumed = false;
    for (;;) {
      try {
        return await postPowerCall(this.#transport, call, {
          location: this.#location,
          context,
          signal,
        });
      } catch (error) {
        // A refusal ("already running", "not running", a lock): success if the CT is already there.
        if (!isRefusal(error)) throw error;
        const status = await statusOrUndefined(() => this.status(signal), signal);
        if (status === call.target) {
          this.#logger.debug(`CT ${this.#location.vmid} is already ${call.target}`, {
            container: `${this.#location.vmid}`,
            action: call.verb,
          });
          return undefined;
        }
        if (
          status === ContainerStatus.Paused && call.target === ContainerStatus.Stopped && !resumed
        ) {
          await this.#resumeToEnd(call, signal);
          resumed = true;
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * Resumes a paused CT that is to be stopped or killed. PVE refuses both on
   * a suspended CT (it is not running), and the CT stays "paused" while its
   * latest power task is the suspend: a wake would resume the checkpoint.
   * Once resumed, the stop or kill ends it for good, as on Docker. A resume
   * whose task fails also ends the pause: its failed task is the latest
   * power task of a stopped CT.
   */
  async #resumeToEnd(call: PowerCall, signal: AbortSignal): Promise<void> {
    const { vmid } = this.#location;
    this.#logger.debug(
      `CT ${vmid} is paused: resuming it so that the ${call.verb} ends its checkpoint`,
      { container: `${vmid}`, action: call.verb },
    );
    try {
      await this.run(POWER.unpause, signal);
    } catch (error) {
      // The task failed: the CT is stopped, and no longer paused.
      if (!(error instanceof TaskError)) throw error;
    }
  }

  async #isIn(target: ContainerStatus, signal: AbortSignal): Promise<boolean> {
    if (target === ContainerStatus.Paused) return await this.status(signal) === target;
    return (await this.#readStatus(signal)).status === target;
  }

  #readStatus(signal: AbortSignal): Promise<CurrentStatus> {
    return readCurrentStatus<CurrentStatus>(this.#transport, {
      location: this.#location,
      context: this.context("status"),
      signal,
    });
  }

  get #logger(): Logger {
    return this.#transport.config.logger;
  }
}

/** PVE's LXC suspend is a CRIU checkpoint: say so when one fails. */
const CRIU_HINT =
  ". PVE suspends an LXC container with a CRIU checkpoint, which needs CRIU on the node; use containerStop instead";
