/**
 * QEMU virtual machines as the fake keeps them, and the fields of
 * qemu-server's `vmstatus` (`PVE/QemuServer.pm`): what the node's VM list
 * and `status/current` report.
 *
 * @module
 */

/** QEMU's `RunState` (qapi/run-state.json): what QMP `query-status` says of a running VM. */
export type RunState =
  | "debug"
  | "inmigrate"
  | "internal-error"
  | "io-error"
  | "paused"
  | "postmigrate"
  | "prelaunch"
  | "finish-migrate"
  | "restore-vm"
  | "running"
  | "save-vm"
  | "shutdown"
  | "suspended"
  | "watchdog"
  | "guest-panicked"
  | "colo";

/** Options of `FakePve.addVm`; also the fields `FakePve.setVm` can patch. */
export interface VmOptions {
  /** The config's `name`. Default: none, which `vmstatus` reports as `VM <vmid>`. */
  name?: string;
  /** Whether the QEMU process runs. Default "stopped". */
  status?: "running" | "stopped";
  /** The QMP run state of a running VM. Default `running` when it starts. */
  qmpstatus?: RunState;
  /** A config lock: `backup`, `migrate`, `snapshot`, `suspending`, `suspended` (hibernated). */
  lock?: string;
  /** Managed by HA: start/stop/shutdown fork `hastart`/`hastop` and the state follows later. */
  ha?: boolean;
  template?: boolean;
  /** `;`-separated tags. */
  tags?: string;
  /** The guest ignores ACPI powerdown; only a hard stop (or a shutdown's forceStop) ends it. */
  ignoreShutdown?: boolean;
  /** The config has a `hostpci0` (PCI passthrough): no suspend to disk. */
  hostpci?: boolean;
  /** The config enables the QEMU guest agent (`agent: 1`). */
  agent?: boolean;
}

/** A VM as the fake keeps it. `FakePve.vm` returns a copy. */
export interface VmState {
  vmid: number;
  node: string;
  /** The config's `name`, if any. */
  name?: string;
  status: "running" | "stopped";
  /** The QMP run state while running; `undefined` while stopped. */
  qmpstatus?: RunState;
  lock?: string;
  ha: boolean;
  /** The requested HA state (`ha-manager set --state`). */
  haState: "started" | "stopped";
  template: boolean;
  tags?: string;
  ignoreShutdown: boolean;
  hostpci: boolean;
  agent: boolean;
  /** `Date.now()` when it last started. */
  startedAt: number;
  /** The QEMU process id while running. */
  pid: number;
}

const MIB = 1024 * 1024;
const MAXMEM = 2048 * MIB;
const MAXDISK = 32 * 1024 * MIB;

/** A new stopped VM. */
export function newVm(node: string, vmid: number): VmState {
  return {
    vmid,
    node,
    status: "stopped",
    ha: false,
    haState: "stopped",
    template: false,
    ignoreShutdown: false,
    hostpci: false,
    agent: false,
    startedAt: 0,
    pid: 0,
  };
}

/** The name `vmstatus` reports: the config's, or `VM <vmid>`. */
export function vmName(vm: VmState): string {
  return vm.name ?? `VM ${vm.vmid}`;
}

/** The status pvestatd broadcasts for a VM: `qmpstatus || status`. */
export function broadcastStatus(vm: VmState): string {
  return vm.status === "running" ? vm.qmpstatus ?? "running" : "stopped";
}

/**
 * `vmstatus` of one VM. `full` adds what QMP tells (`qmpstatus`, for a
 * stopped VM its `status`; machine, QEMU version, block stats); `withHa`
 * makes it the `status/current` reply (`ha`, and `agent` when configured).
 */
export function vmStatus(vm: VmState, full: boolean, withHa: boolean): Record<string, unknown> {
  const running = vm.status === "running";
  const d: Record<string, unknown> = {
    vmid: vm.vmid,
    status: vm.status,
    name: vmName(vm),
    cpus: 2,
    maxmem: MAXMEM,
    disk: 0,
    maxdisk: MAXDISK,
    uptime: running ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0,
    cpu: running ? 0.0231 : 0,
    mem: running ? 812 * MIB : 0,
    memhost: running ? 901 * MIB : 0,
    netin: running ? 234567 : 0,
    netout: running ? 76543 : 0,
  };
  if (running) {
    d.pid = vm.pid;
    for (const k of ["cpu", "io", "memory"]) {
      d[`pressure${k}some`] = 0;
      d[`pressure${k}full`] = 0;
    }
  }
  if (vm.template) d.template = 1;
  if (vm.lock) d.lock = vm.lock;
  if (vm.tags !== undefined) d.tags = vm.tags;
  if (full) {
    d.qmpstatus = running ? vm.qmpstatus ?? "running" : vm.status;
    if (running) {
      d["running-machine"] = "pc-i440fx-10.1+pve0";
      d["running-qemu"] = "10.1.2";
      d.diskread = 2097152;
      d.diskwrite = 1048576;
      d.nics = { [`tap${vm.vmid}i0`]: { netin: d.netin, netout: d.netout } };
    }
  }
  if (withHa) {
    d.ha = vm.ha ? { managed: 1, state: vm.haState } : { managed: 0 };
    if (vm.agent) d.agent = 1;
  }
  return d;
}
