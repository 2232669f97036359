/**
 * A QEMU VM's state as a {@linkcode ContainerStatus}, from what qemu-server's
 * `vmstatus` reports: `status` (whether the QEMU process runs), `qmpstatus`
 * (QMP `query-status`: the guest's run state) and `lock` (`suspended` once
 * the VM is hibernated: stopped, its memory saved to disk).
 *
 * @module
 */

import { ContainerStatus } from "../provider.ts";

/** The fields of a VM's `status/current`, or of an entry of the node's list with `full=1`. */
export interface VmStatusFields {
  status?: unknown;
  qmpstatus?: unknown;
  lock?: unknown;
  template?: unknown;
}

/**
 * QEMU's run states (qapi/run-state.json) with the guest frozen, which a
 * resume (`cont`, or `system_wakeup` for `suspended`) continues.
 */
const PAUSED_STATES: ReadonlySet<string> = new Set([
  "paused", // QMP `stop`: PVE's suspend without todisk
  "prelaunch", // started with -S (`freeze: 1`), not yet continued
  "suspended", // the guest's own ACPI S3 sleep
  "debug",
  "inmigrate",
  "finish-migrate",
  "postmigrate",
  "restore-vm",
  "save-vm",
  "colo",
]);

/** Run states the guest cannot leave by itself or by a resume: a failure to look at. */
const ERROR_STATES: ReadonlySet<string> = new Set([
  "io-error",
  "internal-error",
  "guest-panicked",
  "watchdog",
]);

/**
 * The status of a VM.
 *
 * - `running` with qmpstatus `running` (or none, in a list without `full`): `running`;
 * - `running` with a paused run state (see the README's table): `paused`;
 * - `running` with `io-error`, `internal-error`, `guest-panicked` or `watchdog`: `error`;
 * - `running` with `shutdown` (the guest powered off, QEMU not yet gone): `stopped`;
 * - `stopped` with lock `suspended` (hibernated): `paused`, which a start or an unpause wakes;
 * - `stopped` otherwise: `stopped`;
 * - a template, or anything else: `error`.
 */
export function vmStatusOf(fields: VmStatusFields): ContainerStatus {
  if (fields.template === 1 || fields.template === true) return ContainerStatus.Error;
  if (fields.status === "stopped") {
    return fields.lock === "suspended" ? ContainerStatus.Paused : ContainerStatus.Stopped;
  }
  if (fields.status !== "running") return ContainerStatus.Error;
  const run = fields.qmpstatus;
  if (run === undefined || run === "running") return ContainerStatus.Running;
  if (typeof run !== "string") return ContainerStatus.Error;
  if (PAUSED_STATES.has(run)) return ContainerStatus.Paused;
  if (run === "shutdown") return ContainerStatus.Stopped;
  if (ERROR_STATES.has(run)) return ContainerStatus.Error;
  return ContainerStatus.Error;
}

/** Whether the VM is hibernated: stopped, with its state saved to disk (lock `suspended`). */
export function isHibernated(fields: VmStatusFields): boolean {
  return fields.status === "stopped" && fields.lock === "suspended";
}
