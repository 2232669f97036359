/**
 * The cluster the fake pretends to be: nodes, containers, virtual machines,
 * and the status snapshots pvestatd broadcasts (what `/cluster/resources`
 * reports, late).
 *
 * @module
 */

import { broadcastStatus, newVm, vmName, type VmOptions, type VmState } from "./_vm_state.ts";

/** Options of {@linkcode Cluster.addNode}. */
export interface NodeOptions {
  /** Whether pveproxy can reach the node. Default true. */
  online?: boolean;
  /** Whether CRIU is installed, so `lxc-checkpoint` (suspend/resume) works. Default false, as on stock PVE. */
  criu?: boolean;
  /** The pseudo status pveproxy answers for requests proxied to the node while offline. Default 595. */
  offlineCode?: 595 | 596;
  /** The reason phrase of that answer. Default `No route to host` (595) or `Connection timed out` (596). */
  offlineReason?: string;
}

/** A node as the fake keeps it. */
export interface NodeState {
  name: string;
  online: boolean;
  criu: boolean;
  offlineCode: 595 | 596;
  offlineReason: string;
}

/** Options of {@linkcode Cluster.addCt}; also the fields {@linkcode Cluster.setCt} can patch. */
export interface CtOptions {
  /** The hostname. Default `CT<vmid>`. */
  name?: string;
  /** Default "stopped". */
  status?: "running" | "stopped";
  /** A config lock such as `backup`, `mounted`, `snapshot`. */
  lock?: string;
  /** Managed by HA: start/stop/shutdown fork `hastart`/`hastop` and the state follows later. */
  ha?: boolean;
  template?: boolean;
  /** `;`-separated tags. */
  tags?: string;
  /** The CT ignores a clean shutdown request; only a kill (forceStop, stop) ends it. */
  ignoreShutdown?: boolean;
}

/** A container as the fake keeps it. {@linkcode Cluster.ct} returns a copy. */
export interface CtState {
  vmid: number;
  node: string;
  name: string;
  status: "running" | "stopped";
  lock?: string;
  ha: boolean;
  /** The requested HA state (`ha-manager set --state`). */
  haState: "started" | "stopped";
  template: boolean;
  tags?: string;
  ignoreShutdown: boolean;
  /** A CRIU checkpoint from a successful suspend waits in /var/lib/vz/dump. */
  checkpoint: boolean;
  /** `Date.now()` when it last started; uptime counts from here. */
  startedAt: number;
  /** A fake process id while running. */
  pid: number;
}

interface Snapshot {
  /** For a VM, pvestatd's `qmpstatus || status`. */
  status: string;
  uptime: number;
  takenAt: number;
}

const GIB = 1024 ** 3;
const MAXMEM = 512 * 1024 * 1024;
const MAXDISK = 8 * GIB;

/** Nodes, guests and their broadcast status. */
export class Cluster {
  readonly nodes: Map<string, NodeState> = new Map();
  readonly cts: Map<number, CtState> = new Map();
  readonly vms: Map<number, VmState> = new Map();
  /** How often pvestatd broadcasts; 0 makes `/cluster/resources` live. */
  broadcastIntervalMs: number;
  /** RRD entries older than this report status `unknown` (pmxcfs drops them after 5 minutes). */
  rrdExpiryMs: number;
  #snapshots = new Map<number, Snapshot>();
  #lastBroadcast = Date.now();
  #nextPid = 2000;

  constructor(broadcastIntervalMs: number, rrdExpiryMs: number) {
    this.broadcastIntervalMs = broadcastIntervalMs;
    this.rrdExpiryMs = rrdExpiryMs;
  }

  addNode(name: string, opts: NodeOptions = {}): void {
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(name)) {
      throw new TypeError(`Invalid node name "${name}"`);
    }
    const code = opts.offlineCode ?? 595;
    this.nodes.set(name, {
      name,
      online: opts.online ?? true,
      criu: opts.criu ?? false,
      offlineCode: code,
      offlineReason: opts.offlineReason ??
        (code === 595 ? "No route to host" : "Connection timed out"),
    });
  }

  setNodeOnline(name: string, online: boolean): void {
    this.#node(name).online = online;
  }

  addCt(node: string, vmid: number, opts: CtOptions = {}): void {
    this.#node(node);
    if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999) {
      throw new RangeError(`Invalid vmid ${vmid}`);
    }
    if (this.cts.has(vmid) || this.vms.has(vmid)) {
      throw new TypeError(`Guest ${vmid} already exists`);
    }
    const ct: CtState = {
      vmid,
      node,
      name: opts.name ?? `CT${vmid}`,
      status: "stopped",
      ha: false,
      haState: "stopped",
      template: false,
      ignoreShutdown: false,
      checkpoint: false,
      startedAt: 0,
      pid: 0,
    };
    this.cts.set(vmid, ct);
    this.setCt(vmid, opts);
    this.#snapshots.set(vmid, this.#snapshot(ct)); // existing guests already have RRD data
  }

  /** Patches a CT; `node` moves it (like a migration). */
  setCt(vmid: number, patch: CtOptions & { node?: string }): void {
    const ct = this.#ct(vmid);
    if (patch.node !== undefined) ct.node = this.#node(patch.node).name;
    if (patch.name !== undefined) ct.name = patch.name;
    if (patch.status !== undefined) this.setStatus(ct, patch.status);
    if ("lock" in patch) ct.lock = patch.lock || undefined;
    if (patch.ha !== undefined) {
      ct.ha = patch.ha;
      ct.haState = ct.status === "running" ? "started" : "stopped";
    }
    if (patch.template !== undefined) ct.template = patch.template;
    if ("tags" in patch) ct.tags = patch.tags || undefined;
    if (patch.ignoreShutdown !== undefined) ct.ignoreShutdown = patch.ignoreShutdown;
  }

  /** Sets the live status, with uptime and pid. */
  setStatus(ct: CtState, status: "running" | "stopped"): void {
    if (ct.status === status) return;
    ct.status = status;
    ct.startedAt = status === "running" ? Date.now() : 0;
    ct.pid = status === "running" ? this.#nextPid++ : 0;
  }

  removeCt(vmid: number): void {
    this.#ct(vmid);
    this.cts.delete(vmid);
    this.#snapshots.delete(vmid);
  }

  /** A copy of the CT, or undefined. */
  ct(vmid: number): CtState | undefined {
    const ct = this.cts.get(vmid);
    return ct && { ...ct };
  }

  /** The CT whose config lives on `node` (`nodes/<node>/lxc/<vmid>.conf`). */
  ctOn(node: string, vmid: number): CtState | undefined {
    const ct = this.cts.get(vmid);
    return ct?.node === node ? ct : undefined;
  }

  /** pvestatd: every online node sends fresh status for its guests. */
  broadcast(): void {
    this.#lastBroadcast = Date.now();
    for (const ct of this.cts.values()) {
      if (this.nodes.get(ct.node)?.online) this.#snapshots.set(ct.vmid, this.#snapshot(ct));
    }
    for (const vm of this.vms.values()) {
      if (this.nodes.get(vm.node)?.online) this.#snapshots.set(vm.vmid, this.#vmSnapshot(vm));
    }
  }

  /** `GET /cluster/resources` entries of types `lxc` and `qemu`, from the last broadcast. */
  vmResources(): Record<string, unknown>[] {
    const now = Date.now();
    if (this.broadcastIntervalMs <= 0) {
      this.broadcast();
    } else if (now - this.#lastBroadcast >= this.broadcastIntervalMs) {
      this.broadcast();
      this.#lastBroadcast = now - ((now - this.#lastBroadcast) % this.broadcastIntervalMs);
    }
    const cts = [...this.cts.values()].map((ct) => {
      const snap = this.#snapshots.get(ct.vmid);
      const fresh = snap && now - snap.takenAt <= this.rrdExpiryMs;
      const running = fresh && snap.status === "running";
      const entry: Record<string, unknown> = {
        id: `lxc/${ct.vmid}`,
        vmid: ct.vmid,
        node: ct.node,
        type: "lxc",
        status: fresh ? snap.status : "unknown",
        name: ct.name,
        uptime: fresh ? snap.uptime : 0,
        ...usage(running ?? false),
        maxcpu: 1,
        template: ct.template ? 1 : 0,
      };
      if (ct.lock) entry.lock = ct.lock;
      if (ct.tags) entry.tags = ct.tags;
      if (ct.ha) entry.hastate = ct.haState;
      return entry;
    });
    return [...cts, ...[...this.vms.values()].map((vm) => this.#vmResource(vm, now))];
  }

  /** `extract_vm_stats` of a VM: RRD fields (`memhost` too), then `lock`, `tags`, `hastate`. */
  #vmResource(vm: VmState, now: number): Record<string, unknown> {
    const snap = this.#snapshots.get(vm.vmid);
    const fresh = snap && now - snap.takenAt <= this.rrdExpiryMs;
    const entry: Record<string, unknown> = {
      id: `qemu/${vm.vmid}`,
      vmid: vm.vmid,
      node: vm.node,
      type: "qemu",
      status: "unknown",
    };
    if (fresh) {
      const up = snap.status !== "stopped";
      Object.assign(entry, {
        uptime: snap.uptime,
        name: vmName(vm),
        status: snap.status,
        template: vm.template ? 1 : 0,
        maxcpu: 2,
        cpu: up ? 0.0231 : 0,
        maxmem: 2048 * 1024 * 1024,
        mem: up ? 812 * 1024 * 1024 : 0,
        maxdisk: 32 * GIB,
        disk: 0,
        netin: up ? 234567 : 0,
        netout: up ? 76543 : 0,
        diskread: up ? 2097152 : 0,
        diskwrite: up ? 1048576 : 0,
        memhost: up ? 901 * 1024 * 1024 : 0,
      });
    }
    if (vm.lock) entry.lock = vm.lock;
    if (vm.tags !== undefined) entry.tags = vm.tags;
    if (vm.ha) entry.hastate = vm.haState;
    return entry;
  }

  /** Adds a stopped VM whose config lives on `node`, then applies `opts`. */
  addVm(node: string, vmid: number, opts: VmOptions = {}): void {
    this.#node(node);
    if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999) {
      throw new RangeError(`Invalid vmid ${vmid}`);
    }
    if (this.cts.has(vmid) || this.vms.has(vmid)) {
      throw new TypeError(`Guest ${vmid} already exists`);
    }
    const vm = newVm(node, vmid);
    this.vms.set(vmid, vm);
    this.setVm(vmid, opts);
    this.#snapshots.set(vmid, this.#vmSnapshot(vm)); // existing guests already have RRD data
  }

  /** Patches a VM; `node` moves it (like a migration). */
  setVm(vmid: number, patch: VmOptions & { node?: string }): void {
    const vm = this.#vm(vmid);
    if (patch.node !== undefined) vm.node = this.#node(patch.node).name;
    if ("name" in patch) vm.name = patch.name || undefined;
    if (patch.status !== undefined) this.setVmStatus(vm, patch.status);
    if (patch.qmpstatus !== undefined) {
      if (vm.status !== "running") throw new TypeError(`VM ${vmid} is not running`);
      vm.qmpstatus = patch.qmpstatus;
    }
    if ("lock" in patch) vm.lock = patch.lock || undefined;
    if (patch.ha !== undefined) {
      vm.ha = patch.ha;
      vm.haState = vm.status === "running" ? "started" : "stopped";
    }
    if (patch.template !== undefined) vm.template = patch.template;
    if ("tags" in patch) vm.tags = patch.tags || undefined;
    if (patch.ignoreShutdown !== undefined) vm.ignoreShutdown = patch.ignoreShutdown;
    if (patch.hostpci !== undefined) vm.hostpci = patch.hostpci;
    if (patch.agent !== undefined) vm.agent = patch.agent;
  }

  /** Starts or ends the QEMU process: a started VM runs (`qmpstatus` running). */
  setVmStatus(vm: VmState, status: "running" | "stopped"): void {
    if (vm.status === status) return;
    vm.status = status;
    vm.qmpstatus = status === "running" ? "running" : undefined;
    vm.startedAt = status === "running" ? Date.now() : 0;
    vm.pid = status === "running" ? this.#nextPid++ : 0;
  }

  removeVm(vmid: number): void {
    this.#vm(vmid);
    this.vms.delete(vmid);
    this.#snapshots.delete(vmid);
  }

  /** A copy of the VM, or undefined. */
  vm(vmid: number): VmState | undefined {
    const vm = this.vms.get(vmid);
    return vm && { ...vm };
  }

  /** The VM whose config lives on `node` (`nodes/<node>/qemu-server/<vmid>.conf`). */
  vmOn(node: string, vmid: number): VmState | undefined {
    const vm = this.vms.get(vmid);
    return vm?.node === node ? vm : undefined;
  }

  /** `GET /cluster/resources` entries of type `node`. */
  nodeResources(): Record<string, unknown>[] {
    return [...this.nodes.values()].map((n) => ({
      id: `node/${n.name}`,
      node: n.name,
      type: "node",
      status: n.online ? "online" : "offline",
      level: "",
      ...(n.online ? nodeStats() : {}),
    }));
  }

  /** `GET /nodes` entries. */
  nodeList(): Record<string, unknown>[] {
    return [...this.nodes.values()].map((n) => ({
      node: n.name,
      id: `node/${n.name}`,
      type: "node",
      status: n.online ? "online" : "offline",
      level: "",
      ssl_fingerprint: fingerprint(n.name),
      ...(n.online ? nodeStats() : {}),
    }));
  }

  /** `vmstatus` of one CT: the list entry, and with `ha` the `status/current` reply. */
  vmStatus(ct: CtState, withHa: boolean): Record<string, unknown> {
    const running = ct.status === "running";
    const d: Record<string, unknown> = {
      vmid: ct.vmid,
      status: ct.status,
      name: ct.name,
      type: "lxc",
      cpus: 1,
      ...usage(running),
      maxcpu: 1,
      swap: 0,
      maxswap: MAXMEM,
      uptime: uptimeOf(ct),
    };
    if (running) {
      d.pid = ct.pid;
      for (const k of ["cpu", "io", "memory"]) {
        d[`pressure${k}some`] = 0;
        d[`pressure${k}full`] = 0;
      }
    }
    if (ct.lock) d.lock = ct.lock;
    if (ct.tags) d.tags = ct.tags;
    if (ct.template) d.template = 1;
    if (withHa) d.ha = ct.ha ? { managed: 1, state: ct.haState } : { managed: 0 };
    return d;
  }

  #snapshot(ct: CtState): Snapshot {
    return { status: ct.status, uptime: uptimeOf(ct), takenAt: Date.now() };
  }

  #vmSnapshot(vm: VmState): Snapshot {
    const uptime = vm.status === "running" ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0;
    return { status: broadcastStatus(vm), uptime, takenAt: Date.now() };
  }

  #vm(vmid: number): VmState {
    const vm = this.vms.get(vmid);
    if (!vm) throw new TypeError(`Unknown VM ${vmid}`);
    return vm;
  }

  #node(name: string): NodeState {
    const node = this.nodes.get(name);
    if (!node) throw new TypeError(`Unknown node "${name}"`);
    return node;
  }

  #ct(vmid: number): CtState {
    const ct = this.cts.get(vmid);
    if (!ct) throw new TypeError(`Unknown CT ${vmid}`);
    return ct;
  }
}

function uptimeOf(ct: CtState): number {
  return ct.status === "running" ? Math.floor((Date.now() - ct.startedAt) / 1000) : 0;
}

function usage(running: boolean): Record<string, number> {
  return {
    cpu: running ? 0.0123 : 0,
    mem: running ? 48 * 1024 * 1024 : 0,
    maxmem: MAXMEM,
    disk: 1 * GIB,
    maxdisk: MAXDISK,
    netin: running ? 123456 : 0,
    netout: running ? 65432 : 0,
    diskread: running ? 1048576 : 0,
    diskwrite: running ? 524288 : 0,
  };
}

function nodeStats(): Record<string, number> {
  return {
    cpu: 0.05,
    maxcpu: 8,
    mem: 4 * GIB,
    maxmem: 32 * GIB,
    disk: 10 * GIB,
    maxdisk: 100 * GIB,
    uptime: 123456,
  };
}

/** A stable fake SHA-256 fingerprint per node name. */
function fingerprint(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return Array.from({ length: 32 }, (_, i) => ((h >>> (i % 4) * 8) + i) & 0xff)
    .map((b) => b.toString(16).toUpperCase().padStart(2, "0"))
    .join(":");
}
