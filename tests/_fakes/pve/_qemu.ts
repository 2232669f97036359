/**
 * The QEMU power endpoints of qemu-server's `PVE/API2/Qemu.pm`: the checks
 * each handler makes before it forks, then the worker (`vm_start`,
 * `vm_stop`, `RunState::vm_suspend`, `RunState::vm_resume`) or the HA
 * request task that does the real work later.
 *
 * @module
 */

import type { Identity } from "./_auth.ts";
import type { Cluster } from "./_cluster.ts";
import { die, paramError, permError, TaskFailure } from "./_errors.ts";
import type { LxcTiming, PowerAction } from "./_lxc.ts";
import type { Params } from "./_schema.ts";
import { applyInjected, type TaskContext, type TaskRegistry, type Worker } from "./_tasks.ts";
import type { Timers } from "./_timers.ts";
import type { VmState } from "./_vm_state.ts";

/** Parameters only root@pam may set, per endpoint (`Only root may use this option.`). */
const ROOT_ONLY: Record<PowerAction, readonly string[]> = {
  start: [
    "stateuri",
    "skiplock",
    "migratedfrom",
    "migration_type",
    "migration_network",
    "targetstorage",
    "force-cpu",
    "with-conntrack-state",
    "nets-host-mtu",
  ],
  stop: ["skiplock", "keepActive", "migratedfrom"],
  shutdown: ["skiplock", "keepActive"],
  suspend: ["skiplock"],
  resume: ["skiplock", "nocheck"],
};

/** `vm_is_paused($vmid, 1)`: QMP says paused, prelaunch or suspended. */
const PAUSED_STATES = new Set(["paused", "prelaunch", "suspended"]);

/** Runs VM power actions against the cluster. */
export class Qemu {
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
   * The API handler: the checks made before the fork, then the task.
   * @returns the UPID.
   * @throws {PveError} 400 for root-only options, 403 for hibernation without
   * VM.Config.Disk, 500 for the refusals (`VM <id> not running`, `VM is paused -
   * cannot shutdown`, `Cannot suspend HA managed VM to disk`, PCI passthrough).
   */
  power(action: PowerAction, node: string, params: Params, identity: Identity): string {
    const vmid = params.vmid as number;
    for (const name of ROOT_ONLY[action]) {
      if (params[name] && identity.authid !== "root@pam") {
        throw paramError({ [name]: "Only root may use this option." });
      }
    }
    const vm = this.#cluster.vms.get(vmid);
    const ha = vm?.ha ?? false; // the HA config is cluster-wide
    let hard = false;
    if (action === "stop" && ha && params["overrule-shutdown"]) {
      throw paramError({ "overrule-shutdown": "Not applicable for HA resources." });
    }
    if (action === "shutdown" && this.#isPaused(node, vmid)) {
      if (!params.forceStop) throw die("VM is paused - cannot shutdown");
      hard = true; // warn "VM is paused - stop instead of shutdown" goes to the API log
    }
    if (action === "suspend") this.#checkSuspend(node, vmid, params, identity);
    if (action === "resume" && this.#cluster.vmOn(node, vmid)?.lock !== "suspended") {
      this.#checkRunning(node, vmid);
    }
    const injected = this.#failNext.get(action)?.shift();
    const authid = identity.authid;
    if (ha && (action === "start" || action === "stop" || action === "shutdown")) {
      return this.#haRequest(action, node, vmid, params, authid, injected).upid;
    }
    const type = action === "suspend" ? (params.todisk ? "qmsuspend" : "qmpause") : `qm${action}`;
    const worker = this.#worker(action, node, vmid, { ...params, hard }, injected);
    return this.#tasks.fork(node, type, String(vmid), authid, worker).upid;
  }

  /** The suspend handler's checks, in its order. */
  #checkSuspend(node: string, vmid: number, params: Params, identity: Identity): void {
    this.#checkRunning(node, vmid);
    const vm = this.#cluster.vmOn(node, vmid)!;
    if (!params.todisk) return;
    if (vm.ha) throw die("Cannot suspend HA managed VM to disk");
    if (!identity.can("VM.Config.Disk")) throw permError(`/vms/${vmid}`, "VM.Config.Disk");
    if (vm.hostpci) {
      throw die(
        "cannot suspend VM to disk due to passed-through PCI device(s), which lack the" +
          " possibility to save/restore their internal state",
      );
    }
    const storage = (params.statestorage as string | undefined) ?? "local-lvm";
    if (!identity.can("Datastore.AllocateSpace")) {
      throw permError(`/storage/${storage}`, "Datastore.AllocateSpace");
    }
  }

  /** `check_running`: dies when the config is not on the node, or the VM does not run. */
  #checkRunning(node: string, vmid: number): VmState {
    const vm = this.#onNode(node, vmid, die);
    if (vm.status !== "running") throw die(`VM ${vmid} not running`);
    return vm;
  }

  /** `vm_is_paused($vmid, 1)`; false when the VM cannot be asked. */
  #isPaused(node: string, vmid: number): boolean {
    const vm = this.#cluster.vmOn(node, vmid);
    return vm?.status === "running" && PAUSED_STATES.has(vm.qmpstatus ?? "running");
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
      t.log(`Requesting HA ${start ? "start" : "stop"} for VM ${vmid}`);
      applyInjected(t, injected);
      const vm = this.#cluster.vms.get(vmid);
      if (vm) vm.haState = start ? "started" : "stopped";
      this.#timers.after(this.#timing.haDelayMs, () => this.#haAgent(action, vmid, params));
      return Promise.resolve();
    });
  }

  /**
   * The HA resource agent (`PVE/HA/Resources/PVEVM.pm`) acts on the VM's node
   * as root@pam: `vm_start`; for a stop request `vm_shutdown` with the request's
   * timeout and forceStop, or `vm_stop` when that timeout is 0 (`status/stop`).
   */
  #haAgent(action: "start" | "stop" | "shutdown", vmid: number, params: Params): void {
    const vm = this.#cluster.vms.get(vmid);
    const wanted = action === "start" ? "started" : "stopped";
    const done = action === "start" ? vm?.status === "running" : vm?.status === "stopped";
    if (!vm || done || vm.haState !== wanted) return;
    const agentParams: Params = action === "shutdown"
      ? { timeout: (params.timeout as number | undefined) ?? 60, forceStop: true }
      : {};
    if (action === "shutdown" && this.#isPaused(vm.node, vmid)) agentParams.hard = true;
    const worker = this.#worker(action, vm.node, vmid, agentParams);
    this.#tasks.fork(vm.node, `qm${action}`, String(vmid), "root@pam", (t) => {
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
      this.#tasks.withConfigLock(
        vmid,
        t,
        this.#timing.configLockTimeoutMs,
        body,
        `/var/lock/qemu-server/lock-${vmid}.conf`,
      );
    switch (action) {
      case "start":
        return (t) => locked(t, () => this.#start(t, node, vmid, params, duration, injected));
      case "stop":
      case "shutdown":
        return async (t) => {
          if (action === "stop" && params["overrule-shutdown"]) {
            const overruled = this.#tasks.runningOf(node, "qmshutdown", String(vmid));
            await Promise.all(overruled.map((task) => this.#tasks.kill(task.upid)));
            if (overruled.length > 0) {
              t.log(`overruled qmshutdown tasks: ${overruled.map((o) => o.upid).join(", ")}`);
            }
          }
          const hard = action === "stop" || params.hard === true;
          await locked(t, () => this.#stop(t, node, vmid, params, hard, duration, injected));
        };
      case "suspend":
        return (t) => this.#suspend(t, node, vmid, params, duration, injected, locked);
      case "resume":
        return (t) =>
          locked(t, async () => {
            const vm = this.#config(node, vmid);
            if (vm.lock === "suspended") {
              return await this.#start(t, node, vmid, params, duration, injected);
            }
            if (vm.template) {
              throw new TaskFailure(`VM ${vmid} is a template and cannot be resumed!`);
            }
            if (vm.status !== "running") throw new TaskFailure(`VM ${vmid} not running`);
            if (vm.qmpstatus === "running") return applyInjected(t, injected); // job done
            if (!params.skiplock && vm.lock !== "backup") checkLock(vm);
            await t.sleep(duration);
            applyInjected(t, injected);
            vm.qmpstatus = "running"; // `cont`, or `system_wakeup` for `suspended`
          });
    }
  }

  /** `vm_start`, run while the config lock is held. */
  async #start(
    t: TaskContext,
    node: string,
    vmid: number,
    params: Params,
    duration: number,
    injected: string | undefined,
  ): Promise<void> {
    const vm = this.#config(node, vmid);
    if (vm.template) throw new TaskFailure("you can't start a vm if it's a template");
    const hibernated = vm.lock === "suspended";
    if (vm.lock === "backup" && vm.status === "running") {
      vm.qmpstatus = "running"; // resume the guest inside the backup's QEMU
      return;
    }
    if (!params.skiplock && !hibernated) checkLock(vm);
    if (vm.status === "running") throw new TaskFailure(`VM ${vmid} already running`);
    if (hibernated) t.log("Resuming suspended VM");
    await t.sleep(duration);
    applyInjected(t, injected);
    this.#cluster.setVmStatus(vm, "running");
    if (hibernated) {
      vm.lock = undefined; // the state volume is removed and the lock dropped
      t.log("resume vm");
    }
  }

  /** `_do_vm_stop`: a not-running VM is done at once; `hard` is `quit`, else powerdown. */
  async #stop(
    t: TaskContext,
    node: string,
    vmid: number,
    params: Params,
    hard: boolean,
    duration: number,
    injected: string | undefined,
  ): Promise<void> {
    const vm = this.#onNode(node, vmid, (m) => new TaskFailure(m));
    if (vm.status !== "running") return applyInjected(t, injected);
    if (!params.skiplock) checkLock(vm);
    if (!hard && vm.ignoreShutdown) {
      const timeout = (params.timeout as number | undefined) ?? 60;
      await t.sleep(timeout * this.#timing.timeoutSecondMs);
      if (!params.forceStop) throw new TaskFailure("VM quit/powerdown failed - got timeout");
      t.warn("VM still running - terminating now with SIGTERM");
    } else {
      await t.sleep(duration);
    }
    applyInjected(t, injected);
    this.#cluster.setVmStatus(vm, "stopped");
  }

  /** `RunState::vm_suspend`: QMP `stop`, or with `todisk` save the state, quit, lock `suspended`. */
  async #suspend(
    t: TaskContext,
    node: string,
    vmid: number,
    params: Params,
    duration: number,
    injected: string | undefined,
    locked: (t: TaskContext, body: () => Promise<void>) => Promise<void>,
  ): Promise<void> {
    let vm!: VmState;
    await locked(t, async () => {
      vm = this.#config(node, vmid);
      const backup = vm.lock === "backup";
      if (!params.skiplock && !backup) checkLock(vm);
      if (backup && params.todisk) throw new TaskFailure("cannot suspend to disk during backup");
      if (vm.status !== "running") throw new TaskFailure(`VM ${vmid} not running`); // mon_cmd
      if (!params.todisk) {
        await t.sleep(duration);
        applyInjected(t, injected);
        vm.qmpstatus = "paused";
        return;
      }
      vm.lock = "suspending";
    });
    if (!params.todisk) return;
    await t.sleep(duration); // savevm-start, query-savevm until completed
    try {
      applyInjected(t, injected);
    } catch (error) {
      vm.lock = "suspending"; // "leave suspending lock, to indicate something went wrong"
      throw error;
    }
    t.log("State saved, quitting");
    await locked(t, () => {
      if (vm.lock !== "suspending") throw new TaskFailure("lock changed unexpectedly");
      this.#cluster.setVmStatus(vm, "stopped");
      vm.lock = "suspended";
      return Promise.resolve();
    });
  }

  /** `load_config` inside a worker. */
  #config(node: string, vmid: number): VmState {
    const vm = this.#cluster.vmOn(node, vmid);
    if (!vm) {
      throw new TaskFailure(
        `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`,
      );
    }
    return vm;
  }

  /** `assert_config_exists_on_node`, raising with `raise`. */
  #onNode(node: string, vmid: number, raise: (message: string) => Error): VmState {
    const vm = this.#cluster.vmOn(node, vmid);
    if (!vm) throw raise(`unable to find configuration file for VM ${vmid} on node '${node}'`);
    return vm;
  }
}

/** `check_lock`. */
function checkLock(vm: VmState): void {
  if (vm.lock) throw new TaskFailure(`VM is locked (${vm.lock})`);
}
