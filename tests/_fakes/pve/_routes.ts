/**
 * The endpoints the fake implements, described as data the way PVE's
 * `register_method` describes them: method, path, parameter schema,
 * permission check, `proxyto => 'node'`, and the handler code.
 *
 * @module
 */

import type { AuthStore, Identity } from "./_auth.ts";
import { splitTokenId } from "./_auth.ts";
import type { Cluster } from "./_cluster.ts";
import { die, paramError, permError } from "./_errors.ts";
import type { Lxc, PowerAction } from "./_lxc.ts";
import type { Qemu } from "./_qemu.ts";
import { node, type Params, type Schema, vmid } from "./_schema.ts";
import { decodeUpid, type TaskRecord, type TaskRegistry } from "./_tasks.ts";
import { vmStatus } from "./_vm_state.ts";

/** What handlers work on. */
export interface Env {
  cluster: Cluster;
  tasks: TaskRegistry;
  lxc: Lxc;
  qemu: Qemu;
  auth: AuthStore;
  pveVersion: string;
}

/** One call of a handler. */
export interface Call {
  params: Params;
  /** Undefined for the endpoints that need no authentication. */
  identity?: Identity;
  /** Set by a handler to send `total` beside `data`. */
  total?: number;
}

/** One registered method. */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  /** The path below `/api2/json`, with `{param}` segments. */
  path: string;
  schema: Schema;
  /** `check => ['perm', path, [privilege]]`. */
  permission?: { path: string; privilege: string };
  /** `proxyto => 'node'`: the request runs on the node named by `{node}`. */
  proxyto?: true;
  handler: (env: Env, call: Call) => unknown;
}

const power = (action: PowerAction, extra: Schema): Route => ({
  method: "POST",
  path: `/nodes/{node}/lxc/{vmid}/status/${action}`,
  schema: { node, vmid, ...extra },
  permission: { path: "/vms/{vmid}", privilege: "VM.PowerMgmt" },
  proxyto: true,
  handler: (env, { params, identity }) =>
    env.lxc.power(action, params.node as string, params, identity!.authid),
});

const vmPower = (action: PowerAction, extra: Schema): Route => ({
  method: "POST",
  path: `/nodes/{node}/qemu/{vmid}/status/${action}`,
  schema: { node, vmid, ...extra },
  permission: { path: "/vms/{vmid}", privilege: "VM.PowerMgmt" },
  proxyto: true,
  handler: (env, { params, identity }) =>
    env.qemu.power(action, params.node as string, params, identity!),
});

const upid = { type: "string", maxLength: 256 } as const;
const optInt = { type: "integer", minimum: 0, optional: true } as const;
const optBool = { type: "boolean", optional: true } as const;
const optString = { type: "string", optional: true } as const;

/** Every endpoint of the fake. */
export const ROUTES: readonly Route[] = [
  {
    method: "GET",
    path: "/version",
    schema: {},
    handler: ({ pveVersion }) => ({
      version: pveVersion,
      release: pveVersion.split(".").slice(0, 2).join("."),
      repoid: "3ad6c2e8d1f04b7a",
    }),
  },
  {
    method: "POST",
    path: "/access/ticket",
    schema: {
      username: { type: "string", maxLength: 64 },
      password: { type: "string" },
      realm: { type: "string", optional: true },
      otp: { type: "string", optional: true },
      path: { type: "string", optional: true },
      privs: { type: "string", optional: true },
      "new-format": { type: "boolean", optional: true },
      "tfa-challenge": { type: "string", optional: true },
    },
    handler: ({ auth }, { params }) =>
      auth.login(
        params.username as string,
        params.password as string,
        params.realm as string | undefined,
      ),
  },
  { method: "GET", path: "/access/ticket", schema: {}, handler: () => null },
  {
    method: "GET",
    path: "/nodes",
    schema: {},
    handler: ({ cluster }) => cluster.nodeList(),
  },
  {
    method: "GET",
    path: "/cluster/resources",
    schema: { type: { type: "string", enum: ["vm", "storage", "node", "sdn"], optional: true } },
    handler: ({ cluster }, { params, identity }) => {
      const type = params.type;
      const out: Record<string, unknown>[] = [];
      if ((!type || type === "vm") && identity!.can("VM.Audit")) out.push(...cluster.vmResources());
      if ((!type || type === "node") && identity!.can("Sys.Audit")) {
        out.push(...cluster.nodeResources());
      }
      return out;
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/lxc",
    schema: { node },
    proxyto: true,
    handler: ({ cluster }, { params, identity }) =>
      identity!.can("VM.Audit")
        ? [...cluster.cts.values()]
          .filter((ct) => ct.node === params.node)
          .map((ct) => cluster.vmStatus(ct, false))
        : [],
  },
  {
    method: "GET",
    path: "/nodes/{node}/lxc/{vmid}/status/current",
    schema: { node, vmid },
    permission: { path: "/vms/{vmid}", privilege: "VM.Audit" },
    proxyto: true,
    handler: ({ cluster }, { params }) => {
      const ct = cluster.ctOn(params.node as string, params.vmid as number);
      if (!ct) {
        throw die(
          `Configuration file 'nodes/${params.node}/lxc/${params.vmid}.conf' does not exist`,
        );
      }
      return cluster.vmStatus(ct, true);
    },
  },
  power("start", {
    skiplock: { type: "boolean", optional: true },
    debug: { type: "boolean", optional: true },
  }),
  power("stop", {
    skiplock: { type: "boolean", optional: true },
    "overrule-shutdown": { type: "boolean", optional: true },
  }),
  power("shutdown", {
    timeout: optInt,
    forceStop: { type: "boolean", optional: true },
  }),
  power("suspend", {}),
  power("resume", {}),
  {
    method: "GET",
    path: "/nodes/{node}/qemu",
    schema: { node, full: optBool },
    proxyto: true,
    handler: ({ cluster }, { params, identity }) =>
      identity!.can("VM.Audit")
        ? [...cluster.vms.values()]
          .filter((vm) => vm.node === params.node)
          .map((vm) => vmStatus(vm, params.full === true, false))
        : [],
  },
  {
    method: "GET",
    path: "/nodes/{node}/qemu/{vmid}/status/current",
    schema: { node, vmid },
    permission: { path: "/vms/{vmid}", privilege: "VM.Audit" },
    proxyto: true,
    handler: ({ cluster }, { params }) => {
      const vm = cluster.vmOn(params.node as string, params.vmid as number);
      if (!vm) {
        throw die(
          `Configuration file 'nodes/${params.node}/qemu-server/${params.vmid}.conf' does not exist`,
        );
      }
      return vmStatus(vm, true, true);
    },
  },
  vmPower("start", {
    skiplock: optBool,
    stateuri: { type: "string", maxLength: 128, optional: true },
    migratedfrom: optString,
    migration_type: { type: "string", enum: ["secure", "insecure"], optional: true },
    migration_network: optString,
    machine: optString,
    "force-cpu": optString,
    targetstorage: optString,
    timeout: optInt,
    "with-conntrack-state": optBool,
    "nets-host-mtu": optString,
  }),
  vmPower("stop", {
    skiplock: optBool,
    migratedfrom: optString,
    timeout: optInt,
    keepActive: optBool,
    "overrule-shutdown": optBool,
  }),
  vmPower("shutdown", {
    skiplock: optBool,
    timeout: optInt,
    forceStop: optBool,
    keepActive: optBool,
  }),
  vmPower("suspend", {
    skiplock: optBool,
    todisk: optBool,
    statestorage: { type: "string", optional: true, requires: "todisk" },
  }),
  vmPower("resume", { skiplock: optBool, nocheck: optBool }),
  {
    method: "GET",
    path: "/nodes/{node}/tasks",
    schema: {
      node,
      start: optInt,
      limit: optInt,
      userfilter: { type: "string", optional: true },
      typefilter: { type: "string", optional: true },
      vmid: { ...vmid, optional: true },
      errors: { type: "boolean", optional: true },
      since: { type: "integer", optional: true },
      until: { type: "integer", optional: true },
      source: { type: "string", enum: ["archive", "active", "all"], optional: true },
      statusfilter: { type: "string", optional: true },
    },
    proxyto: true,
    handler: listTasks,
  },
  {
    method: "GET",
    path: "/nodes/{node}/tasks/{upid}/status",
    schema: { node, upid },
    proxyto: true,
    handler: ({ tasks }, { params, identity }) => {
      const task = findTask(tasks, params, identity!, "Sys.Audit");
      return {
        ...taskFields(task),
        status: task.status,
        ...(task.exitstatus !== undefined ? { exitstatus: task.exitstatus } : {}),
      };
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/tasks/{upid}/log",
    schema: {
      node,
      upid,
      start: optInt,
      limit: optInt,
      download: { type: "boolean", optional: true },
    },
    proxyto: true,
    handler: ({ tasks }, call) => {
      const task = findTask(tasks, call.params, call.identity!, "Sys.Audit");
      const lines = task.log.length > 0 ? task.log : ["no content"];
      const start = (call.params.start as number | undefined) ?? 0;
      const limit = (call.params.limit as number | undefined) ?? 50;
      call.total = lines.length;
      return lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
    },
  },
  {
    method: "DELETE",
    path: "/nodes/{node}/tasks/{upid}",
    schema: { node, upid },
    proxyto: true,
    handler: ({ tasks }, { params, identity }) => {
      const task = findTask(tasks, params, identity!, "Sys.Modify");
      void tasks.kill(task.upid);
      return null;
    },
  },
];

/** The task named by `{upid}` on `{node}`, if the caller owns it or holds `privilege`. */
function findTask(tasks: TaskRegistry, params: Params, identity: Identity, privilege: string) {
  const upid = params.upid as string;
  if (!decodeUpid(upid)) throw paramError({ upid: "unable to parse worker upid" });
  const task = tasks.get(params.node as string, upid);
  if (!task) throw paramError({ upid: "no such task" });
  if (!owns(identity, task) && !identity.can(privilege)) {
    throw permError(`/nodes/${params.node}`, privilege);
  }
  return task;
}

/** A user owns their tasks and those of their tokens. */
function owns(identity: Identity, task: TaskRecord): boolean {
  return task.user === identity.authid || splitTokenId(task.user)?.[0] === identity.authid;
}

/** The UPID fields, with a token's user split into `user` and `tokenid`. */
function taskFields(task: TaskRecord): Record<string, unknown> {
  const token = splitTokenId(task.user);
  return {
    upid: task.upid,
    node: task.node,
    pid: task.pid,
    pstart: task.pstart,
    starttime: task.starttime,
    type: task.type,
    id: task.id,
    user: token ? token[0] : task.user,
    ...(token ? { tokenid: token[1] } : {}),
  };
}

function listTasks({ tasks }: Env, call: Call): unknown {
  const p = call.params;
  const source = (p.source as string | undefined) ?? "archive";
  const identity = call.identity!;
  const auditor = identity.can("Sys.Audit");
  const matching = tasks.list(p.node as string).filter((t) => {
    if (source === "archive" && t.status === "running") return false;
    if (source === "active" && t.status !== "running") return false;
    if (!auditor && !owns(identity, t)) return false;
    if (p.vmid !== undefined && t.id !== String(p.vmid)) return false;
    if (p.typefilter !== undefined && t.type !== p.typefilter) return false;
    if (
      p.userfilter !== undefined &&
      !t.user.toLowerCase().includes(String(p.userfilter).toLowerCase())
    ) return false;
    if (p.errors && t.exitstatus === "OK") return false;
    if (p.since !== undefined && t.starttime < (p.since as number)) return false;
    if (p.until !== undefined && t.starttime > (p.until as number)) return false;
    return true;
  });
  matching.sort((a, b) =>
    (b.endtime ?? Infinity) - (a.endtime ?? Infinity) || b.starttime - a.starttime ||
    b.pid - a.pid
  );
  const start = (p.start as number | undefined) ?? 0;
  const limit = (p.limit as number | undefined) ?? 50;
  call.total = matching.length;
  return matching.slice(start, start + limit).map((t) => ({
    ...taskFields(t),
    ...(t.endtime !== undefined ? { endtime: t.endtime, status: t.exitstatus } : {}),
  }));
}
