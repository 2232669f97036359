/**
 * The LXC power endpoints of pve-container's `API2/LXC/Status.pm`: a
 * synchronous running/not-running pre-check, then a worker task (or an HA
 * request task) that does the real work later.
 *
 * @module
 */

import type { Cluster, CtState } from "./_cluster.ts";
import { die, paramError, TaskFailure } from "./_errors.ts";
import type { Params } from "./_schema.ts";
import { applyInjected, type TaskContext, type TaskRegistry, type Worker } from "./_tasks.ts";
import type { Timers } from "./_timers.ts";

/** A power endpoint under `/nodes/{node}/lxc/{vmid}/status/`. */
export type PowerAction = "start" | "stop" | "shutdown" | "suspend" | "resume";

/** Timing knobs of the workers; the fake exposes them as mutable fields. */
export interface LxcTiming {
  /** How long a worker runs before the state changes. */
  taskDurationMs: number;
  /** Per-action overrides of `taskDurationMs`. */
  taskDurations: Partial<Record<PowerAction, number>>;
  /** How long a worker waits for a guest's config lock held by another task (PVE: 10 s). */
  configLockTimeoutMs: number;
  /** How long after an `hastart`/`hastop` task the HA stack changes the state. */
  haDelayMs: number;
  /** How long one second of a `timeout` parameter lasts. */
  timeoutSecondMs: number;
}

const TASK_TYPES: Record<PowerAction, string> = {
  start: "vzstart",
  stop: "vzstop",
  shutdown: "vzshutdown",
  suspend: "vzsuspend",
  resume: "vzresume",
};

/** Runs power actions against the cluster. */
export class Lxc {
  #cluster: Cluster;
  #tasks: TaskRegistry;
  #timers: Timers;
  #timing: LxcTiming;
  #failNext = new Map<PowerAction, string[]>();

  constructor(cluster: Cluster, tasks: TaskRegistry, timers: Timers, timing: LxcTiming) {
    this.#cluster = cluster;
    this.#tasks = tasks;
    this.#timers = timers;
    this.#timing = timing;
  }

  /** Makes the next task of `action` end with `exitstatus` (`OK`, `WARNINGS: <n>`, or an error). */
  failNextTask(action: PowerAction, exitstatus: string): void {
    const queue = this.#failNext.get(action) ?? [];
    queue.push(exitstatus);
    this.#failNext.set(action, queue);
  }

  /**
   * The API handler: pre-checks, then forks the task.
   * @returns the UPID.
   * @throws {PveError} 500 `CT <id> already running` / `CT <id> not running`, 400 for root-only options.
   */
  power(action: PowerAction, node: string, params: Params, authid: string): string {
    const vmid = params.vmid as number;
    if (params.skiplock && authid !== "root@pam") {
      throw paramError({ skiplock: "Only root may use this option." });
    }
    const running = this.#cluster.ctOn(node, vmid)?.status === "running"; // check_running is local
    if ((action === "start" || action === "resume") && running) {
      throw die(`CT ${vmid} already running`);
    }
    if ((action === "stop" || action === "shutdown" || action === "suspend") && !running) {
      throw die(`CT ${vmid} not running`);
    }
    const injected = this.#failNext.get(action)?.shift();
    const ha = this.#cluster.cts.get(vmid)?.ha ?? false; // the HA config is cluster-wide
    if (ha && action !== "suspend" && action !== "resume") {
      if (action === "stop" && params["overrule-shutdown"]) {
        throw paramError({ "overrule-shutdown": "Not applicable for HA resources." });
      }
      return this.#haRequest(action, node, vmid, params, authid, injected).upid;
    }
    return this.#tasks.fork(
      node,
      TASK_TYPES[action],
      String(vmid),
      authid,
      this.#worker(action, node, vmid, params, injected),
    ).upid;
  }

  /** `hastart`/`hastop`: asks the HA stack and ends OK at once; the state follows later. */
  #haRequest(
    action: "start" | "stop" | "shutdown",
    node: string,
    vmid: number,
    params: Params,
    authid: string,
    injected?: string,
  ) {
    const start = action === "start";
    return this.#tasks.fork(node, start ? "hastart" : "hastop", String(vmid), authid, (t) => {
      t.log(`Requesting HA ${start ? "start" : "stop"} for CT ${vmid}`);
      applyInjected(t, injected);
      const ct = this.#cluster.cts.get(vmid);
      if (ct) ct.haState = start ? "started" : "stopped";
      this.#timers.after(this.#timing.haDelayMs, () => this.#haAgent(action, vmid, params));
      return Promise.resolve();
    });
  }

  /** The HA resource agent starts or stops the CT on its node, as root@pam. */
  #haAgent(action: "start" | "stop" | "shutdown", vmid: number, params: Params): void {
    const ct = this.#cluster.cts.get(vmid);
    const wanted = action === "start" ? "running" : "stopped";
    if (
      !ct || ct.status === wanted || ct.haState !== (action === "start" ? "started" : "stopped")
    ) {
      return;
    }
    const worker = this.#worker(action, ct.node, vmid, params);
    this.#tasks.fork(ct.node, TASK_TYPES[action], String(vmid), "root@pam", (t) => {
      t.log("task started by HA resource agent");
      return worker(t);
    });
  }

  #worker(
    action: PowerAction,
    node: string,
    vmid: number,
    params: Params,
    injected?: string,
  ): Worker {
    const duration = this.#timing.taskDurations[action] ?? this.#timing.taskDurationMs;
    const locked = (t: TaskContext, body: () => Promise<void>) =>
      this.#tasks.withConfigLock(vmid, t, this.#timing.configLockTimeoutMs, body);
    switch (action) {
      case "start":
        return (t) =>
          locked(t, async () => {
            const ct = this.#config(node, vmid);
            if (ct.template) throw new TaskFailure("you can't start a CT if it's a template");
            if (!params.skiplock) checkLock(ct, "mounted");
            await t.sleep(duration);
            applyInjected(t, injected);
            this.#cluster.setStatus(ct, "running");
          });
      case "stop":
        return async (t) => {
          if (params["overrule-shutdown"]) {
            const overruled = this.#tasks.runningOf(node, "vzshutdown", String(vmid));
            await Promise.all(overruled.map((task) => this.#tasks.kill(task.upid)));
            if (overruled.length > 0) {
              t.log(`overruled vzshutdown tasks: ${overruled.map((o) => o.upid).join(", ")}`);
            }
          }
          await locked(t, async () => {
            const ct = this.#config(node, vmid);
            if (!params.skiplock) checkLock(ct, "mounted");
            await t.sleep(duration);
            applyInjected(t, injected);
            this.#cluster.setStatus(ct, "stopped");
          });
        };
      case "shutdown":
        return (t) =>
          locked(t, async () => {
            const ct = this.#config(node, vmid);
            checkLock(ct);
            const timeout = (params.timeout as number | undefined) ?? 60;
            if (ct.ignoreShutdown && ct.status === "running") {
              await t.sleep(timeout * this.#timing.timeoutSecondMs);
              if (!params.forceStop) {
                t.warn(
                  `command 'lxc-stop -n ${vmid} --nokill --timeout ${timeout}' failed: exit code 1`,
                );
                await t.sleep(5 * this.#timing.timeoutSecondMs);
                throw new TaskFailure("container did not stop");
              }
            } else {
              await t.sleep(duration);
            }
            applyInjected(t, injected);
            this.#cluster.setStatus(ct, "stopped");
          });
      case "suspend":
        return (t) =>
          locked(t, async () => {
            const ct = this.#config(node, vmid);
            checkLock(ct);
            await t.sleep(duration);
            if (!this.#cluster.nodes.get(node)?.criu || ct.status !== "running") {
              throw new TaskFailure(
                `command 'lxc-checkpoint -n ${vmid} -s -D /var/lib/vz/dump' failed: exit code 1`,
              );
            }
            applyInjected(t, injected);
            this.#cluster.setStatus(ct, "stopped"); // a CRIU dump stops the CT
            ct.checkpoint = true;
          });
      case "resume":
        return async (t) => {
          await t.sleep(duration); // no lock, no config load
          const ct = this.#cluster.ctOn(node, vmid);
          if (!this.#cluster.nodes.get(node)?.criu || !ct?.checkpoint || ct.status === "running") {
            throw new TaskFailure(
              `command 'lxc-checkpoint -n ${vmid} -r --foreground -D /var/lib/vz/dump' failed: exit code 1`,
            );
          }
          applyInjected(t, injected);
          this.#cluster.setStatus(ct, "running");
          ct.checkpoint = false;
        };
    }
  }

  /** `load_config` inside the worker. */
  #config(node: string, vmid: number): CtState {
    const ct = this.#cluster.ctOn(node, vmid);
    if (!ct) {
      throw new TaskFailure(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
    }
    return ct;
  }
}

/** `check_lock`, optionally letting one lock value pass. */
function checkLock(ct: CtState, allowed?: string): void {
  if (ct.lock && ct.lock !== allowed) throw new TaskFailure(`CT is locked (${ct.lock})`);
}
