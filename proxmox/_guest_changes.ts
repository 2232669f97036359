/**
 * How a watched guest's entry in its node's list becomes its watch's events.
 * A VM's entry says it all (`qmpstatus` and the hibernation lock). A CT that
 * stopped may have been suspended (a CRIU checkpoint leaves it stopped too),
 * which only its latest power task tells: that task is read on a stop only,
 * at most once per CT and poll.
 *
 * @module
 */

import { Action } from "../events/mod.ts";
import type { GuestWatch, PowerState } from "./_guest_watch.ts";
import { isTaskOk, latestPowerTask, type TaskSummary } from "./_tasks.ts";
import type { Transport } from "./_transport.ts";
import { vmStatusOf } from "./_vm_status.ts";

/** A guest's entry in `GET /nodes/{node}/lxc` or `GET /nodes/{node}/qemu?full=1`. */
export interface ListedGuest {
  vmid: number | string;
  status?: string;
  name?: string;
  qmpstatus?: string;
  lock?: string;
  template?: number | boolean;
}

/** A listed guest whose status a watch knows. */
export type KnownGuest = ListedGuest & { status: "running" | "stopped" };

/** Tells one watch what its guest's entry changed, if anything. */
export type ChangeTeller = (watch: GuestWatch, listed: KnownGuest) => void | Promise<void>;

/**
 * A VM's change, from its entry alone: into `running` from `paused` is an
 * unpause, else a start; into `paused` a pause; into `stopped` a stop; into
 * `error` (a failed or panicked guest) a death. The first entry is the
 * baseline: no event.
 */
export function tellVmChange(watch: GuestWatch, listed: KnownGuest): void {
  const state: PowerState = vmStatusOf(listed);
  const last = watch.last;
  watch.last = state;
  if (last === undefined || last === state) return;
  watch.event(
    state === "running"
      ? (last === "paused" ? Action.ContainerUnpause : Action.ContainerStart)
      : state === "paused"
      ? Action.ContainerPause
      : state === "stopped"
      ? Action.ContainerStop
      : Action.ContainerDie,
  );
}

/**
 * The CTs' changes for one poll of `node`: up again is a resume when the
 * watch saw the CT suspended, a start otherwise (no task read); down is a
 * pause when the CT's latest power task is a suspend (running or
 * succeeded), a stop otherwise. The first entry is the baseline: no event.
 */
export function ctChangeTeller(
  transport: Transport,
  node: string,
  signal: AbortSignal,
): ChangeTeller {
  const latestTask = latestTaskReads(transport, node, signal);
  return async (watch, listed) => {
    const running = listed.status === "running";
    if (watch.last === undefined) {
      watch.last = running ? "running" : "stopped";
      return;
    }
    if (running === (watch.last === "running")) return;
    if (running) {
      const action = watch.last === "paused" ? Action.ContainerUnpause : Action.ContainerStart;
      watch.last = "running";
      watch.event(action);
      return;
    }
    let task: TaskSummary | undefined;
    try {
      task = await latestTask(watch.guest.vmid);
    } catch (error) {
      if (signal.aborted) return;
      watch.error(error);
    }
    const suspended = task?.type === "vzsuspend" &&
      (task.status === undefined || isTaskOk(task.status));
    watch.last = suspended ? "paused" : "stopped";
    watch.event(suspended ? Action.ContainerPause : Action.ContainerStop);
  };
}

/** Reads a CT's latest power task on `node`, once per CT however often asked. */
function latestTaskReads(
  transport: Transport,
  node: string,
  signal: AbortSignal,
): (vmid: number) => Promise<TaskSummary | undefined> {
  const reads = new Map<number, Promise<TaskSummary | undefined>>();
  return (vmid) => {
    let read = reads.get(vmid);
    if (read === undefined) {
      read = latestPowerTask(transport, node, vmid, {
        signal,
        context: { what: `read the tasks of CT ${vmid} on node "${node}"`, action: "watch" },
        retry: false,
      });
      reads.set(vmid, read);
    }
    return read;
  };
}
