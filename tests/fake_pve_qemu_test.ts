import assert from "node:assert/strict";
import {
  decodeUpid,
  type FakePve,
  rawRequest,
  type RawRequestInit,
  type RawResponse,
  startFakePve,
} from "./_fakes/pve/mod.ts";

const TOKEN = { Authorization: "PVEAPIToken=idle@pve!watch=s3cret" };
const API = "/api2/json";
const QEMU = `${API}/nodes/pve/qemu`;

async function fakeWithVms(opts: Parameters<typeof startFakePve>[0] = {}): Promise<FakePve> {
  const fake = await startFakePve({
    authDelayMs: 5,
    taskDurationMs: 5,
    statusBroadcastMs: 0,
    ...opts,
  });
  fake.addNode("pve");
  fake.addNode("pve2");
  fake.addVm("pve", 100, { name: "web", status: "running" });
  fake.addVm("pve", 110);
  fake.addCt("pve", 101, { name: "ct" });
  fake.addVm("pve2", 200, { name: "far" });
  fake.addToken("idle@pve!watch", "s3cret");
  return fake;
}

function call(fake: FakePve, init: RawRequestInit): Promise<RawResponse> {
  return rawRequest(fake, { ...init, headers: { ...TOKEN, ...init.headers } });
}

async function data(fake: FakePve, init: RawRequestInit): Promise<unknown> {
  const res = await call(fake, init);
  assert.equal(res.status, 200, res.statusLine);
  return JSON.parse(res.body).data;
}

/** POSTs a power action; returns the task's UPID. */
async function post(fake: FakePve, vmid: number, action: string, body = ""): Promise<string> {
  return String(
    await data(fake, { method: "POST", path: `${QEMU}/${vmid}/status/${action}`, body }),
  );
}

/** Waits for every task, then reads the task's status. */
async function taskEnd(fake: FakePve, upid: string): Promise<Record<string, unknown>> {
  await fake.tasksSettled();
  const node = decodeUpid(upid)!.node;
  return await data(fake, {
    path: `${API}/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
  }) as Record<string, unknown>;
}

function current(fake: FakePve, vmid: number, node = "pve"): Promise<Record<string, unknown>> {
  return data(fake, { path: `${API}/nodes/${node}/qemu/${vmid}/status/current` }) as Promise<
    Record<string, unknown>
  >;
}

async function refusal(fake: FakePve, init: RawRequestInit): Promise<string> {
  const res = await call(fake, { method: "POST", ...init });
  assert.equal(res.status, 500, res.statusLine);
  return JSON.parse(res.body).message;
}

async function paramErrors(fake: FakePve, init: RawRequestInit): Promise<unknown> {
  const res = await call(fake, { method: "POST", ...init });
  assert.equal(res.statusLine, "HTTP/1.1 400 Parameter verification failed.");
  return JSON.parse(res.body).errors;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), `timed out waiting for ${what}`);
}

Deno.test("startFakePve() lists a node's VMs, with qmpstatus only when full=1", async (t) => {
  await using fake = await fakeWithVms();
  fake.setVm(100, { qmpstatus: "paused" });
  type Entry = Record<string, unknown>;
  const byVmid = (list: unknown) =>
    new Map((list as Entry[]).map((e) => [e.vmid as number, e] as const));
  await t.step("without full: vmstatus's fields, no qmpstatus, only this node's VMs", async () => {
    const list = byVmid(await data(fake, { path: QEMU }));
    assert.deepEqual([...list.keys()].sort(), [100, 110]);
    assert.equal(list.get(100)?.status, "running");
    assert.equal(typeof list.get(100)?.pid, "number");
    assert.equal(list.get(100)?.name, "web");
    assert.equal(list.get(110)?.name, "VM 110");
    assert.equal(list.get(110)?.status, "stopped");
    assert.ok(!("qmpstatus" in list.get(100)!));
    assert.ok(!("qmpstatus" in list.get(110)!));
  });
  await t.step("with full=1: the QMP run state, 'stopped' for a stopped VM", async () => {
    const list = byVmid(await data(fake, { path: `${QEMU}?full=1` }));
    assert.equal(list.get(100)?.qmpstatus, "paused");
    assert.equal(list.get(100)?.status, "running");
    assert.equal(list.get(110)?.qmpstatus, "stopped");
    assert.equal(typeof list.get(100)?.["running-qemu"], "string");
  });
  await t.step("a hibernated VM is stopped with lock 'suspended'", async () => {
    fake.setVm(110, { lock: "suspended" });
    const list = byVmid(await data(fake, { path: `${QEMU}?full=1` }));
    assert.equal(list.get(110)?.status, "stopped");
    assert.equal(list.get(110)?.lock, "suspended");
    fake.setVm(110, { lock: undefined });
  });
  await t.step("full must be a boolean; a token without VM.Audit sees no VM", async () => {
    assert.deepEqual(await paramErrors(fake, { method: "GET", path: `${QEMU}?full=yes` }), {
      full: "type check ('boolean') failed - got 'yes'",
    });
    fake.addToken("blind@pve!tok", "x", { privileges: ["VM.PowerMgmt"] });
    const res = await rawRequest(fake, {
      path: QEMU,
      headers: { Authorization: "PVEAPIToken=blind@pve!tok=x" },
    });
    assert.deepEqual(JSON.parse(res.body), { data: [] });
  });
});

Deno.test("startFakePve() answers a VM's status/current like vm_status", async (t) => {
  await using fake = await fakeWithVms();
  await t.step("qmpstatus, ha and agent", async () => {
    fake.setVm(100, { agent: true });
    const running = await current(fake, 100);
    assert.equal(running.status, "running");
    assert.equal(running.qmpstatus, "running");
    assert.deepEqual(running.ha, { managed: 0 });
    assert.equal(running.agent, 1);
    const stopped = await current(fake, 110);
    assert.equal(stopped.qmpstatus, "stopped");
    assert.ok(!("agent" in stopped));
    assert.ok(!("pid" in stopped));
  });
  await t.step("every QEMU run state shows through", async () => {
    for (const state of ["io-error", "guest-panicked", "internal-error", "suspended"] as const) {
      fake.setVm(100, { qmpstatus: state });
      assert.equal((await current(fake, 100)).qmpstatus, state);
    }
    fake.setVm(100, { qmpstatus: "running" });
  });
  await t.step("a missing VM, or one on another node, is PVE's 500", async () => {
    for (const path of [`${QEMU}/999/status/current`, `${QEMU}/200/status/current`]) {
      const res = await call(fake, { path });
      const vmid = path.split("/")[6];
      const message = `Configuration file 'nodes/pve/qemu-server/${vmid}.conf' does not exist`;
      assert.equal(res.statusLine, `HTTP/1.1 500 ${message}`);
      assert.deepEqual(JSON.parse(res.body), { data: null, message: `${message}\n` });
    }
  });
  await t.step("a CT is not a VM", async () => {
    const res = await call(fake, { path: `${QEMU}/101/status/current` });
    assert.equal(res.status, 500);
  });
});

Deno.test("startFakePve() puts VMs into /cluster/resources as type qemu", async () => {
  await using fake = await fakeWithVms({ statusBroadcastMs: 60_000 });
  type Entry = Record<string, unknown>;
  const resources = async () =>
    new Map(
      (await data(fake, { path: `${API}/cluster/resources?type=vm` }) as Entry[])
        .map((e) => [e.vmid as number, e] as const),
    );
  let list = await resources();
  assert.deepEqual(
    { id: list.get(100)?.id, type: list.get(100)?.type, node: list.get(100)?.node },
    { id: "qemu/100", type: "qemu", node: "pve" },
  );
  assert.equal(list.get(101)?.type, "lxc");
  assert.equal(list.get(200)?.node, "pve2");
  assert.equal(typeof list.get(100)?.memhost, "number");
  fake.setVm(100, { qmpstatus: "paused" });
  fake.setVm(110, { lock: "suspended" });
  list = await resources();
  assert.equal(list.get(100)?.status, "running", "status lags until the next broadcast");
  assert.equal(list.get(110)?.lock, "suspended", "the lock comes from the config, live");
  fake.broadcast();
  list = await resources();
  assert.equal(list.get(100)?.status, "paused", "pvestatd sends qmpstatus || status");
  assert.equal(list.get(110)?.status, "stopped");
});

Deno.test("startFakePve() runs VM power actions as qm* tasks", async (t) => {
  await using fake = await fakeWithVms();
  await t.step("start: qmstart, then the VM runs", async () => {
    const upid = await post(fake, 110, "start");
    assert.match(
      upid,
      /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmstart:110:idle@pve!watch:$/,
    );
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    assert.equal((await current(fake, 110)).qmpstatus, "running");
  });
  await t.step("start of a running VM: the POST succeeds, the task fails", async () => {
    const upid = await post(fake, 110, "start");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "VM 110 already running");
  });
  await t.step("suspend: qmpause freezes the guest in memory", async () => {
    const upid = await post(fake, 110, "suspend");
    assert.equal(decodeUpid(upid)?.type, "qmpause");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    const status = await current(fake, 110);
    assert.deepEqual([status.status, status.qmpstatus], ["running", "paused"]);
  });
  await t.step("shutdown of a paused VM is refused unless forceStop", async () => {
    assert.equal(
      await refusal(fake, { path: `${QEMU}/110/status/shutdown` }),
      "VM is paused - cannot shutdown\n",
    );
    assert.equal(fake.tasks().filter((t) => t.type === "qmshutdown").length, 0);
  });
  await t.step("resume: qmresume continues it; resume of a running VM is a no-op", async () => {
    let upid = await post(fake, 110, "resume");
    assert.equal(decodeUpid(upid)?.type, "qmresume");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    assert.equal((await current(fake, 110)).qmpstatus, "running");
    upid = await post(fake, 110, "resume");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
  });
  await t.step("shutdown with timeout and forceStop: qmshutdown, then stopped", async () => {
    const upid = await post(fake, 110, "shutdown", "timeout=5&forceStop=1");
    assert.equal(decodeUpid(upid)?.type, "qmshutdown");
    const logged = fake.requests.findLast((r) => r.method === "POST");
    assert.deepEqual(logged?.params, { timeout: "5", forceStop: "1" }, "the log keeps the body");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    assert.equal((await current(fake, 110)).status, "stopped");
  });
  await t.step("stop and shutdown of a stopped VM: the task does nothing and ends OK", async () => {
    for (const action of ["stop", "shutdown"]) {
      const upid = await post(fake, 110, action);
      assert.equal(decodeUpid(upid)?.type, `qm${action}`);
      assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    }
  });
  await t.step("suspend and resume of a stopped VM are refused", async () => {
    for (const action of ["suspend", "resume"]) {
      assert.equal(
        await refusal(fake, { path: `${QEMU}/110/status/${action}` }),
        "VM 110 not running\n",
      );
    }
  });
  await t.step("stop: qmstop ends a running VM at once", async () => {
    const upid = await post(fake, 100, "stop");
    assert.equal(decodeUpid(upid)?.type, "qmstop");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    assert.equal(fake.vm(100)?.status, "stopped");
  });
  await t.step("a paused VM with forceStop is stopped hard", async () => {
    fake.setVm(100, { status: "running", ignoreShutdown: true });
    fake.setVm(100, { qmpstatus: "paused" });
    const upid = await post(fake, 100, "shutdown", "forceStop=1&timeout=3600");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    assert.equal(fake.vm(100)?.status, "stopped");
    fake.setVm(100, { ignoreShutdown: false });
  });
  await t.step("a guest that ignores ACPI: timeout, then SIGTERM with forceStop", async () => {
    fake.timeoutSecondMs = 1;
    fake.setVm(100, { status: "running", ignoreShutdown: true });
    let upid = await post(fake, 100, "shutdown", "timeout=2");
    assert.equal(
      (await taskEnd(fake, upid)).exitstatus,
      "VM quit/powerdown failed - got timeout",
    );
    assert.equal(fake.vm(100)?.status, "running");
    upid = await post(fake, 100, "shutdown", "timeout=2&forceStop=1");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "WARNINGS: 1");
    assert.equal(fake.vm(100)?.status, "stopped");
    fake.setVm(100, { ignoreShutdown: false });
  });
  await t.step("a locked VM fails inside the task", async () => {
    fake.setVm(110, { lock: "backup" });
    const upid = await post(fake, 110, "start");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "VM is locked (backup)");
    fake.setVm(110, { lock: undefined });
  });
  await t.step("failNextVmTask() fails the next task of that action", async () => {
    fake.failNextVmTask("start", "start failed: QEMU exited with code 1");
    const upid = await post(fake, 110, "start");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "start failed: QEMU exited with code 1");
    assert.equal(fake.vm(110)?.status, "stopped");
  });
});

Deno.test("startFakePve() hibernates a VM with suspend todisk=1", async (t) => {
  await using fake = await fakeWithVms();
  await t.step(
    "qmsuspend: lock suspending while saving, then stopped with lock suspended",
    async () => {
      fake.taskDurations.suspend = 150;
      const upid = await post(fake, 100, "suspend", "todisk=1");
      assert.equal(decodeUpid(upid)?.type, "qmsuspend");
      await until(() => fake.vm(100)?.lock === "suspending", "the lock 'suspending'");
      assert.equal(fake.vm(100)?.status, "running");
      assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
      const status = await current(fake, 100);
      assert.deepEqual([status.status, status.qmpstatus, status.lock], [
        "stopped",
        "stopped",
        "suspended",
      ]);
      delete fake.taskDurations.suspend;
    },
  );
  await t.step("shutdown and stop of a hibernated VM do nothing", async () => {
    for (const action of ["shutdown", "stop"]) {
      const upid = await post(fake, 100, action);
      assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
      assert.equal(fake.vm(100)?.lock, "suspended");
    }
  });
  await t.step("resume of a hibernated VM starts it from the saved state", async () => {
    const upid = await post(fake, 100, "resume");
    assert.equal(decodeUpid(upid)?.type, "qmresume");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    const status = await current(fake, 100);
    assert.deepEqual([status.status, status.qmpstatus, status.lock], [
      "running",
      "running",
      undefined,
    ]);
  });
  await t.step("start of a hibernated VM resumes it too, whatever the lock", async () => {
    const upid = await post(fake, 100, "suspend", "todisk=1");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    const start = await post(fake, 100, "start");
    assert.equal((await taskEnd(fake, start)).exitstatus, "OK");
    assert.equal(fake.vm(100)?.status, "running");
    assert.equal(fake.vm(100)?.lock, undefined);
  });
  await t.step("refusals: HA, PCI passthrough, VM.Config.Disk, statestorage alone", async () => {
    const before = fake.tasks().length;
    fake.setVm(100, { ha: true });
    assert.equal(
      await refusal(fake, { path: `${QEMU}/100/status/suspend`, body: "todisk=1" }),
      "Cannot suspend HA managed VM to disk\n",
    );
    fake.setVm(100, { ha: false, hostpci: true });
    assert.equal(
      await refusal(fake, { path: `${QEMU}/100/status/suspend`, body: "todisk=1" }),
      "cannot suspend VM to disk due to passed-through PCI device(s), which lack the" +
        " possibility to save/restore their internal state\n",
    );
    fake.setVm(100, { hostpci: false });
    fake.addToken("power@pve!tok", "x", { privileges: ["VM.Audit", "VM.PowerMgmt"] });
    const denied = await rawRequest(fake, {
      method: "POST",
      path: `${QEMU}/100/status/suspend`,
      headers: { Authorization: "PVEAPIToken=power@pve!tok=x" },
      body: "todisk=1",
    });
    assert.equal(
      denied.statusLine,
      "HTTP/1.1 403 Permission check failed (/vms/100, VM.Config.Disk)",
    );
    assert.deepEqual(
      await paramErrors(fake, { path: `${QEMU}/100/status/suspend`, body: "statestorage=local" }),
      { todisk: "missing property required by 'statestorage'" },
    );
    assert.equal(fake.tasks().length, before, "a refusal forks no task");
  });
});

Deno.test("startFakePve() checks VM power parameters like Qemu.pm", async () => {
  await using fake = await fakeWithVms();
  for (
    const [action, param] of [["start", "skiplock"], ["stop", "keepActive"], ["resume", "nocheck"]]
  ) {
    assert.deepEqual(
      await paramErrors(fake, { path: `${QEMU}/100/status/${action}`, body: `${param}=1` }),
      { [param]: "Only root may use this option." },
    );
  }
  assert.deepEqual(
    await paramErrors(fake, { path: `${QEMU}/100/status/shutdown`, body: "overrule-shutdown=1" }),
    {
      "overrule-shutdown":
        "property is not defined in schema and the schema does not allow additional properties",
    },
  );
  assert.deepEqual(
    await paramErrors(fake, { path: `${QEMU}/100/status/suspend`, body: "todisk=maybe" }),
    { todisk: "type check ('boolean') failed - got 'maybe'" },
  );
  fake.setVm(100, { ha: true });
  assert.deepEqual(
    await paramErrors(fake, { path: `${QEMU}/100/status/stop`, body: "overrule-shutdown=1" }),
    { "overrule-shutdown": "Not applicable for HA resources." },
  );
});

Deno.test("startFakePve() fails power calls on a missing VM in PVE's words", async () => {
  await using fake = await fakeWithVms();
  const missing = "unable to find configuration file for VM 999 on node 'pve'";
  assert.equal(
    (await taskEnd(fake, await post(fake, 999, "start"))).exitstatus,
    "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist",
  );
  assert.equal((await taskEnd(fake, await post(fake, 999, "stop"))).exitstatus, missing);
  assert.equal((await taskEnd(fake, await post(fake, 999, "shutdown"))).exitstatus, missing);
  for (const action of ["suspend", "resume"]) {
    assert.equal(await refusal(fake, { path: `${QEMU}/999/status/${action}` }), `${missing}\n`);
  }
});

Deno.test("startFakePve() hands HA-managed VMs to the HA stack", async (t) => {
  await using fake = await fakeWithVms({ haDelayMs: 100 });
  fake.setVm(110, { ha: true });
  await t.step("start: hastart ends OK at once, then the agent's qmstart runs it", async () => {
    const upid = await post(fake, 110, "start");
    assert.equal(decodeUpid(upid)?.type, "hastart");
    assert.equal((await taskEnd(fake, upid)).exitstatus, "OK");
    assert.equal(fake.vm(110)?.status, "stopped");
    await until(() => fake.vm(110)?.status === "running", "the HA agent to start VM 110");
    const agent = fake.tasks("pve").find((t) => t.type === "qmstart" && t.id === "110");
    assert.equal(agent?.user, "root@pam");
    assert.deepEqual((await current(fake, 110)).ha, { managed: 1, state: "started" });
  });
  await t.step("shutdown: hastop, then the agent's qmshutdown", async () => {
    const upid = await post(fake, 110, "shutdown", "timeout=10");
    assert.equal(decodeUpid(upid)?.type, "hastop");
    await until(() => fake.vm(110)?.status === "stopped", "the HA agent to stop VM 110");
    assert.ok(fake.tasks("pve").some((t) => t.type === "qmshutdown" && t.user === "root@pam"));
  });
  await t.step("stop: hastop, then the agent's qmstop", async () => {
    await taskEnd(fake, await post(fake, 110, "start"));
    await until(() => fake.vm(110)?.status === "running", "the HA agent to start VM 110");
    const upid = await post(fake, 110, "stop");
    assert.equal(decodeUpid(upid)?.type, "hastop");
    await until(() => fake.vm(110)?.status === "stopped", "the HA agent to stop VM 110");
    assert.ok(fake.tasks("pve").some((t) => t.type === "qmstop" && t.user === "root@pam"));
  });
  await t.step("pause and resume bypass HA", async () => {
    await taskEnd(fake, await post(fake, 110, "start"));
    await until(() => fake.vm(110)?.status === "running", "the HA agent to start VM 110");
    assert.equal(decodeUpid(await post(fake, 110, "suspend"))?.type, "qmpause");
    await fake.tasksSettled();
    assert.equal(fake.vm(110)?.qmpstatus, "paused");
  });
});
