/**
 * A fake Proxmox VE API server for tests, faithful to the real PVE
 * (pveproxy framing, auth, LXC and QEMU power endpoints and tasks), not to
 * any client.
 * It speaks raw HTTP/1.1 over TLS so that reason phrases, empty 401/595 bodies
 * and connection closes look as they do on the wire.
 *
 * @example Start a stopped CT with a token
 * ```ts ignore
 * await using fake = await startFakePve({ authDelayMs: 10, statusBroadcastMs: 0 });
 * fake.addNode("pve");
 * fake.addCt("pve", 101, { name: "web" });
 * fake.addToken("idle@pve!watch", "s3cret", { privileges: ["VM.Audit", "VM.PowerMgmt"] });
 * const client = Deno.createHttpClient({ caCerts: [fake.caCert] });
 * const res = await fetch(`${fake.url}/api2/json/nodes/pve/lxc/101/status/start`, {
 *   method: "POST",
 *   headers: { Authorization: "PVEAPIToken=idle@pve!watch=s3cret" },
 *   client,
 * });
 * const { data: upid } = await res.json();
 * client.close();
 * ```
 *
 * @module
 */

import { Api, type RequestLogEntry } from "./_api.ts";
import { AuthStore } from "./_auth.ts";
import { Cluster, type CtOptions, type CtState, type NodeOptions } from "./_cluster.ts";
import { HttpServer } from "./_http.ts";
import { Lxc, type LxcTiming, type PowerAction } from "./_lxc.ts";
import { Qemu } from "./_qemu.ts";
import { type TaskRecord, TaskRegistry } from "./_tasks.ts";
import { Timers } from "./_timers.ts";
import type { RunState, VmOptions, VmState } from "./_vm_state.ts";

export type {
  CtOptions,
  CtState,
  NodeOptions,
  PowerAction,
  RequestLogEntry,
  RunState,
  TaskRecord,
  VmOptions,
  VmState,
};
export { decodeUpid, type Upid } from "./_tasks.ts";
export { rawRequest, type RawRequestInit, type RawResponse, RawTlsClient } from "./_raw_client.ts";

/** Options of {@linkcode startFakePve}. Every field can also be changed later on the fake. */
export interface FakePveOptions {
  /** The PVE version `/version` reports; >= 8.4 puts `message` into error bodies. @default {"9.2.11"} */
  pveVersion?: string;
  /** Delay of every 401 answer (PVE: 3 s). @default {3000} */
  authDelayMs?: number;
  /** Ticket (and CSRF token) lifetime. @default {7200} */
  ticketLifetimeSec?: number;
  /** How long a power task runs before the state changes. @default {50} */
  taskDurationMs?: number;
  /** Per-action overrides of `taskDurationMs`. @default {{}} */
  taskDurations?: Partial<Record<PowerAction, number>>;
  /** How long a worker waits for a config lock another task holds (PVE: 10 s). @default {10000} */
  configLockTimeoutMs?: number;
  /** How long after `hastart`/`hastop` the HA stack changes the state. @default {100} */
  haDelayMs?: number;
  /** How long one second of a `timeout` parameter (shutdown) lasts. @default {1000} */
  timeoutSecondMs?: number;
  /** pvestatd's broadcast interval; `/cluster/resources` shows the last broadcast. 0 = live. @default {10000} */
  statusBroadcastMs?: number;
  /** Status older than this reads `unknown` in `/cluster/resources` (pmxcfs: 5 min). @default {300000} */
  rrdExpiryMs?: number;
  /** Latency added before every answer. @default {0} */
  latencyMs?: number;
  /** Idle keep-alive connections are closed after this long (pveproxy: 5 s). @default {5000} */
  idleTimeoutMs?: number;
}

/** A running fake PVE API; see {@linkcode startFakePve}. */
export interface FakePve extends AsyncDisposable {
  /** `https://127.0.0.1:<port>` (the API is under `/api2/json`). */
  readonly url: string;
  /** PEM of the CA that signed the server certificate (for `caCerts`). */
  readonly caCert: string;
  /** Every request received, in order. */
  readonly requests: readonly RequestLogEntry[];
  pveVersion: string;
  authDelayMs: number;
  ticketLifetimeSec: number;
  taskDurationMs: number;
  /** Per-action overrides of `taskDurationMs`; mutate freely. */
  readonly taskDurations: Partial<Record<PowerAction, number>>;
  configLockTimeoutMs: number;
  haDelayMs: number;
  timeoutSecondMs: number;
  statusBroadcastMs: number;
  rrdExpiryMs: number;
  latencyMs: number;

  /** Adds a cluster node. */
  addNode(name: string, opts?: NodeOptions): void;
  /** Takes a node off the network (requests proxied to it get 595/596) or back. */
  setNodeOnline(name: string, online: boolean): void;
  /** Adds a CT whose config lives on `node`. It has RRD data already (no lag for its first status). */
  addCt(node: string, vmid: number, opts?: CtOptions): void;
  /** Changes a CT right away (live state); `node` moves it. */
  setCt(vmid: number, patch: CtOptions & { node?: string }): void;
  /** A copy of the CT's state, or undefined. */
  ct(vmid: number): CtState | undefined;
  /** Deletes a CT. */
  removeCt(vmid: number): void;
  /**
   * Adds a QEMU VM whose config lives on `node`, stopped unless `opts` say
   * otherwise. A hibernated VM is `{ status: "stopped", lock: "suspended" }`.
   */
  addVm(node: string, vmid: number, opts?: VmOptions): void;
  /** Changes a VM right away (live state); `node` moves it. */
  setVm(vmid: number, patch: VmOptions & { node?: string }): void;
  /** A copy of the VM's state, or undefined. */
  vm(vmid: number): VmState | undefined;
  /** Deletes a VM. */
  removeVm(vmid: number): void;
  /** Adds an API token `user@realm!name`; without `privileges` it may do everything. */
  addToken(tokenId: string, secret: string, opts?: { privileges?: string[] }): void;
  /** Revokes an API token. */
  removeToken(tokenId: string): void;
  /** Adds a user `name@realm` for ticket login; without `privileges` it may do everything. */
  addUser(userid: string, password: string, opts?: { privileges?: string[] }): void;
  /** Invalidates every ticket and CSRF token issued so far. */
  expireTickets(): void;
  /**
   * Makes the next task of `action` end with `exitstatus` (an error text, `WARNINGS: <n>`, or
   * `OK`). An error leaves the CT as it was. For an HA-managed CT it hits the `hastart`/`hastop` task.
   */
  failNextTask(action: PowerAction, exitstatus: string): void;
  /** {@linkcode FakePve.failNextTask} for the VM endpoints (`suspend` covers pause and hibernate). */
  failNextVmTask(action: PowerAction, exitstatus: string): void;
  /** Copies of the tasks of one node (or all nodes), oldest first. */
  tasks(node?: string): TaskRecord[];
  /** Resolves once no task is running. */
  tasksSettled(): Promise<void>;
  /** pvestatd broadcasts now: `/cluster/resources` catches up with the live state. */
  broadcast(): void;
  /** Empties {@linkcode FakePve.requests}. */
  resetRequests(): void;
  /** The next `n` requests are answered by closing the connection without a response. */
  dropNextConnections(n: number): void;
  /** Stops the server, kills running tasks, cancels every timer. */
  close(): Promise<void>;
}

/**
 * Starts a fake PVE API on 127.0.0.1 (OS-chosen port) with the committed test
 * certificate from tests/fixtures/pve/.
 *
 * @param options Timing and version knobs.
 * @returns The running fake; close it (or `await using` it).
 */
export async function startFakePve(options: FakePveOptions = {}): Promise<FakePve> {
  const dir = new URL("../../fixtures/pve/", import.meta.url);
  const [caCert, cert, key] = await Promise.all(
    ["ca.pem", "server.pem", "server-key.pem"].map((f) => Deno.readTextFile(new URL(f, dir))),
  );
  return new FakePveServer(options, caCert, cert, key);
}

class FakePveServer implements FakePve {
  readonly url: string;
  readonly caCert: string;
  readonly taskDurations: Partial<Record<PowerAction, number>>;
  #timers = new Timers();
  #cluster: Cluster;
  #auth: AuthStore;
  #tasks: TaskRegistry;
  #lxc: Lxc;
  #qemu: Qemu;
  #timing: LxcTiming;
  #settings: { pveVersion: string; authDelayMs: number; latencyMs: number };
  #api: Api;
  #server: HttpServer;
  #closed?: Promise<void>;

  constructor(o: FakePveOptions, caCert: string, cert: string, key: string) {
    this.caCert = caCert;
    this.taskDurations = { ...o.taskDurations };
    this.#cluster = new Cluster(o.statusBroadcastMs ?? 10_000, o.rrdExpiryMs ?? 300_000);
    this.#auth = new AuthStore(o.ticketLifetimeSec ?? 7200);
    this.#tasks = new TaskRegistry(this.#timers);
    this.#timing = {
      taskDurationMs: o.taskDurationMs ?? 50,
      taskDurations: this.taskDurations,
      configLockTimeoutMs: o.configLockTimeoutMs ?? 10_000,
      haDelayMs: o.haDelayMs ?? 100,
      timeoutSecondMs: o.timeoutSecondMs ?? 1000,
    };
    this.#lxc = new Lxc(this.#cluster, this.#tasks, this.#timers, this.#timing);
    this.#qemu = new Qemu(this.#cluster, this.#tasks, this.#timers, this.#timing);
    this.#settings = {
      pveVersion: o.pveVersion ?? "9.2.11",
      authDelayMs: o.authDelayMs ?? 3000,
      latencyMs: o.latencyMs ?? 0,
    };
    const settings = this.#settings;
    const env = {
      cluster: this.#cluster,
      tasks: this.#tasks,
      lxc: this.#lxc,
      qemu: this.#qemu,
      auth: this.#auth,
      get pveVersion() {
        return settings.pveVersion;
      },
    };
    this.#api = new Api(env, this.#timers, this.#settings);
    this.#server = HttpServer.listen(this.#api.handle, {
      cert,
      key,
      timers: this.#timers,
      idleTimeoutMs: o.idleTimeoutMs ?? 5000,
    });
    this.url = `https://127.0.0.1:${this.#server.port}`;
  }

  get requests(): readonly RequestLogEntry[] {
    return this.#api.requests;
  }
  get pveVersion(): string {
    return this.#settings.pveVersion;
  }
  set pveVersion(v: string) {
    this.#settings.pveVersion = v;
  }
  get authDelayMs(): number {
    return this.#settings.authDelayMs;
  }
  set authDelayMs(v: number) {
    this.#settings.authDelayMs = v;
  }
  get latencyMs(): number {
    return this.#settings.latencyMs;
  }
  set latencyMs(v: number) {
    this.#settings.latencyMs = v;
  }
  get ticketLifetimeSec(): number {
    return this.#auth.ticketLifetimeSec;
  }
  set ticketLifetimeSec(v: number) {
    this.#auth.ticketLifetimeSec = v;
  }
  get taskDurationMs(): number {
    return this.#timing.taskDurationMs;
  }
  set taskDurationMs(v: number) {
    this.#timing.taskDurationMs = v;
  }
  get configLockTimeoutMs(): number {
    return this.#timing.configLockTimeoutMs;
  }
  set configLockTimeoutMs(v: number) {
    this.#timing.configLockTimeoutMs = v;
  }
  get haDelayMs(): number {
    return this.#timing.haDelayMs;
  }
  set haDelayMs(v: number) {
    this.#timing.haDelayMs = v;
  }
  get timeoutSecondMs(): number {
    return this.#timing.timeoutSecondMs;
  }
  set timeoutSecondMs(v: number) {
    this.#timing.timeoutSecondMs = v;
  }
  get statusBroadcastMs(): number {
    return this.#cluster.broadcastIntervalMs;
  }
  set statusBroadcastMs(v: number) {
    this.#cluster.broadcastIntervalMs = v;
  }
  get rrdExpiryMs(): number {
    return this.#cluster.rrdExpiryMs;
  }
  set rrdExpiryMs(v: number) {
    this.#cluster.rrdExpiryMs = v;
  }

  addNode(name: string, opts?: NodeOptions): void {
    this.#cluster.addNode(name, opts);
  }
  setNodeOnline(name: string, online: boolean): void {
    this.#cluster.setNodeOnline(name, online);
  }
  addCt(node: string, vmid: number, opts?: CtOptions): void {
    this.#cluster.addCt(node, vmid, opts);
  }
  setCt(vmid: number, patch: CtOptions & { node?: string }): void {
    this.#cluster.setCt(vmid, patch);
  }
  ct(vmid: number): CtState | undefined {
    return this.#cluster.ct(vmid);
  }
  removeCt(vmid: number): void {
    this.#cluster.removeCt(vmid);
  }
  addVm(node: string, vmid: number, opts?: VmOptions): void {
    this.#cluster.addVm(node, vmid, opts);
  }
  setVm(vmid: number, patch: VmOptions & { node?: string }): void {
    this.#cluster.setVm(vmid, patch);
  }
  vm(vmid: number): VmState | undefined {
    return this.#cluster.vm(vmid);
  }
  removeVm(vmid: number): void {
    this.#cluster.removeVm(vmid);
  }
  addToken(tokenId: string, secret: string, opts?: { privileges?: string[] }): void {
    this.#auth.addToken(tokenId, secret, opts?.privileges);
  }
  removeToken(tokenId: string): void {
    this.#auth.removeToken(tokenId);
  }
  addUser(userid: string, password: string, opts?: { privileges?: string[] }): void {
    this.#auth.addUser(userid, password, opts?.privileges);
  }
  expireTickets(): void {
    this.#auth.rotateKeys();
  }
  failNextTask(action: PowerAction, exitstatus: string): void {
    this.#lxc.failNextTask(action, exitstatus);
  }
  failNextVmTask(action: PowerAction, exitstatus: string): void {
    this.#qemu.failNextTask(action, exitstatus);
  }
  tasks(node?: string): TaskRecord[] {
    const all = node === undefined ? this.#tasks.all() : this.#tasks.list(node);
    return all.map((t) => ({ ...t, log: [...t.log] }));
  }
  tasksSettled(): Promise<void> {
    return this.#tasks.settled();
  }
  broadcast(): void {
    this.#cluster.broadcast();
  }
  resetRequests(): void {
    this.#api.requests.length = 0;
  }
  dropNextConnections(n: number): void {
    this.#api.dropNext(n);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#timers.cancelAll();
      await this.#server.close();
      await this.#tasks.settled();
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
