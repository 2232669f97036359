import assert from "node:assert/strict";
import { ApiError, NotFoundError, TaskError } from "../../errors.ts";
import { type Event, newProxmoxProvider, type Provider } from "../../proxmox/mod.ts";
import type { FakePve, RunState } from "../_fakes/pve/mod.ts";
import { requestLines, type Setup, setup, type SetupOptions, until, within } from "./_setup.ts";

const VM = "/nodes/pve/qemu/100";

/** The POSTs the fake received, as `POST <path> <params>`, the params as a query string. */
function posts(fake: FakePve): string[] {
  return fake.requests
    .filter((r) => r.method === "POST" && r.path.includes("/status/"))
    .map((r) => {
      const params = new URLSearchParams(r.params as Record<string, string>).toString();
      return `POST ${r.path.replace(/^\/api2\/json/, "")}${params ? ` ${params}` : ""}`;
    });
}

/** A fake with VM 100 ("web") on node "pve", and its provider. */
async function vmSetup(
  vm: Parameters<FakePve["addVm"]>[2] = {},
  options: SetupOptions & { vmPause?: "suspend" | "hibernate" } = {},
): Promise<Setup & { provider: Provider }> {
  const s = await setup(options);
  s.fake.addVm("pve", 100, { name: "web", ...vm });
  const provider = await newProxmoxProvider("pve", 100, {
    client: s.client,
    type: "qemu",
    vmPause: options.vmPause,
  });
  s.fake.resetRequests();
  return {
    ...s,
    provider,
    async [Symbol.asyncDispose]() {
      provider.close();
      await s[Symbol.asyncDispose]();
    },
  };
}

/** The log lines at ERROR. */
function errors(s: Setup): string[] {
  return s.logger.lines.filter((line) => line.startsWith("error "));
}

Deno.test("ProxmoxProvider on a VM posts the action of each call and reads the state back", async (t) => {
  await t.step("containerStart(): status/start", async () => {
    await using s = await vmSetup();
    await s.provider.containerStart();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/start`]);
    assert.equal(s.fake.vm(100)?.status, "running");
    assert.equal(await s.provider.containerStatus(), "running");
  });
  await t.step(
    "containerStop(signal, timeout): shutdown with timeout and forceStop=1",
    async () => {
      await using s = await vmSetup({ status: "running" });
      await s.provider.containerStop("SIGTERM", 10);
      assert.deepEqual(posts(s.fake), [`POST ${VM}/status/shutdown timeout=10&forceStop=1`]);
      assert.equal(s.fake.vm(100)?.status, "stopped");
      assert.equal(await s.provider.containerStatus(), "stopped");
      assert.ok(
        s.logger.lines.some((line) =>
          line.startsWith("debug ") && /cannot send SIGTERM/.test(line)
        ),
        "the signal that cannot be chosen is said at DEBUG",
      );
    },
  );
  await t.step("containerKill(): status/stop, immediate", async () => {
    await using s = await vmSetup({ status: "running" });
    await s.provider.containerKill("SIGKILL");
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/stop`]);
    assert.equal(s.fake.vm(100)?.status, "stopped");
    assert.equal(await s.provider.containerStatus(), "stopped");
  });
  await t.step("containerPause(): suspend with todisk=0, the guest frozen in memory", async () => {
    await using s = await vmSetup({ status: "running" });
    await s.provider.containerPause();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/suspend todisk=0`]);
    assert.deepEqual([s.fake.vm(100)?.status, s.fake.vm(100)?.qmpstatus], ["running", "paused"]);
    assert.equal(await s.provider.containerStatus(), "paused");
  });
  await t.step('containerPause() with vmPause "hibernate": suspend with todisk=1', async () => {
    await using s = await vmSetup({ status: "running" }, { vmPause: "hibernate" });
    await s.provider.containerPause();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/suspend todisk=1`]);
    assert.deepEqual([s.fake.vm(100)?.status, s.fake.vm(100)?.lock], ["stopped", "suspended"]);
    assert.equal(await s.provider.containerStatus(), "paused");
  });
  await t.step("containerUnpause(): status/resume", async () => {
    await using s = await vmSetup({ status: "running", qmpstatus: "paused" });
    await s.provider.containerUnpause();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/resume`]);
    assert.equal(s.fake.vm(100)?.qmpstatus, "running");
    assert.equal(await s.provider.containerStatus(), "running");
  });
});

Deno.test("ProxmoxProvider.containerStatus() of a VM reads status, qmpstatus and lock", async (t) => {
  await using s = await vmSetup();
  const rows: [string, () => void, string][] = [
    ["running, qmpstatus running", () => s.fake.setVm(100, { status: "running" }), "running"],
    ["running, qmpstatus paused", () => s.fake.setVm(100, { qmpstatus: "paused" }), "paused"],
    [
      "stopped, lock suspended (hibernated)",
      () => s.fake.setVm(100, { status: "stopped", lock: "suspended" }),
      "paused",
    ],
    ["stopped", () => s.fake.setVm(100, { lock: undefined }), "stopped"],
  ];
  for (const state of ["io-error", "guest-panicked", "internal-error"] as RunState[]) {
    rows.push([
      `qmpstatus ${state}`,
      () => s.fake.setVm(100, { status: "running", qmpstatus: state }),
      "error",
    ]);
  }
  const rest: [RunState, string][] = [
    ["prelaunch", "paused"],
    ["suspended", "paused"],
    ["debug", "paused"],
    ["inmigrate", "paused"],
    ["postmigrate", "paused"],
    ["finish-migrate", "paused"],
    ["restore-vm", "paused"],
    ["save-vm", "paused"],
    ["colo", "paused"],
    ["shutdown", "stopped"],
    ["watchdog", "error"],
  ];
  for (const [state, status] of rest) {
    rows.push([`qmpstatus ${state}`, () => s.fake.setVm(100, { qmpstatus: state }), status]);
  }
  rows.push([
    "a template",
    () => s.fake.setVm(100, { status: "stopped", template: true }),
    "error",
  ]);
  for (const [name, arrange, expected] of rows) {
    await t.step(`${name}: ${expected}`, async () => {
      arrange();
      assert.equal(await s.provider.containerStatus(), expected);
    });
  }
  assert.ok(requestLines(s.fake).every((line) => line === `GET ${VM}/status/current`));
});

Deno.test("ProxmoxProvider wakes a paused VM and a hibernated VM alike", async (t) => {
  await t.step("paused: unpause resumes the guest in memory", async () => {
    await using s = await vmSetup({ status: "running", qmpstatus: "paused" });
    await s.provider.containerUnpause();
    assert.equal(s.fake.tasks().at(-1)?.type, "qmresume");
    assert.equal(await s.provider.containerStatus(), "running");
  });
  await t.step("paused: start resumes it too", async () => {
    await using s = await vmSetup({ status: "running", qmpstatus: "paused" });
    await s.provider.containerStart();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/start`, `POST ${VM}/status/resume`]);
    assert.equal(s.fake.vm(100)?.qmpstatus, "running");
    assert.deepEqual(errors(s), []);
  });
  await t.step("hibernated: unpause restores it from disk", async () => {
    await using s = await vmSetup({ status: "stopped", lock: "suspended" });
    await s.provider.containerUnpause();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/resume`]);
    assert.deepEqual([s.fake.vm(100)?.status, s.fake.vm(100)?.lock], ["running", undefined]);
  });
  await t.step("hibernated: start restores it from disk", async () => {
    await using s = await vmSetup({ status: "stopped", lock: "suspended" });
    await s.provider.containerStart();
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/start`]);
    assert.deepEqual([s.fake.vm(100)?.status, s.fake.vm(100)?.lock], ["running", undefined]);
  });
});

Deno.test("ProxmoxProvider stops and kills a paused or hibernated VM for good", async (t) => {
  await t.step("stop of a paused VM resumes it first, then shuts it down cleanly", async () => {
    await using s = await vmSetup({ status: "running", qmpstatus: "paused" });
    await s.provider.containerStop("", 30);
    assert.deepEqual(posts(s.fake), [
      `POST ${VM}/status/resume`,
      `POST ${VM}/status/shutdown timeout=30&forceStop=1`,
    ]);
    assert.ok(s.fake.requests.every((r) => r.status === 200), "PVE refused nothing");
    assert.equal(await s.provider.containerStatus(), "stopped");
  });
  await t.step("kill of a paused VM stops it at once", async () => {
    await using s = await vmSetup({ status: "running", qmpstatus: "paused" });
    await s.provider.containerKill("");
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/stop`]);
    assert.equal(await s.provider.containerStatus(), "stopped");
  });
  await t.step("stop of a hibernated VM resumes it, then shuts it down", async () => {
    await using s = await vmSetup({ status: "stopped", lock: "suspended" });
    await s.provider.containerStop("", 30);
    assert.deepEqual(posts(s.fake), [
      `POST ${VM}/status/resume`,
      `POST ${VM}/status/shutdown timeout=30&forceStop=1`,
    ]);
    assert.deepEqual([s.fake.vm(100)?.status, s.fake.vm(100)?.lock], ["stopped", undefined]);
    assert.equal(await s.provider.containerStatus(), "stopped");
  });
  await t.step("kill of a hibernated VM resumes it, then stops it", async () => {
    await using s = await vmSetup({ status: "stopped", lock: "suspended" });
    await s.provider.containerKill("");
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/resume`, `POST ${VM}/status/stop`]);
    assert.equal(await s.provider.containerStatus(), "stopped");
  });
});

Deno.test("ProxmoxProvider calls on a VM are idempotent", async (t) => {
  await t.step(
    "start of a running VM: PVE's task fails, the call resolves, logged at DEBUG",
    async () => {
      await using s = await vmSetup({ status: "running" });
      await s.provider.containerStart();
      assert.equal(s.fake.tasks().at(-1)?.exitstatus, "VM 100 already running");
      assert.ok(
        s.logger.lines.some((line) => line.startsWith("debug ") && /already running/.test(line)),
      );
      assert.deepEqual(errors(s), []);
    },
  );
  for (
    const [name, vm, call] of [
      ["stop of a stopped VM", {}, (p: Provider) => p.containerStop("", 5)],
      ["kill of a stopped VM", {}, (p: Provider) => p.containerKill("")],
      [
        "pause of a paused VM",
        { status: "running", qmpstatus: "paused" },
        (p: Provider) => p.containerPause(),
      ],
      ["pause of a hibernated VM", { lock: "suspended" }, (p: Provider) => p.containerPause()],
      ["unpause of a running VM", { status: "running" }, (p: Provider) => p.containerUnpause()],
    ] as const
  ) {
    await t.step(`${name} resolves`, async () => {
      await using s = await vmSetup(vm as Parameters<FakePve["addVm"]>[2]);
      const before = await s.provider.containerStatus();
      await call(s.provider);
      assert.equal(await s.provider.containerStatus(), before);
      assert.deepEqual(errors(s), []);
    });
  }
  await t.step("pause of a stopped VM is PVE's refusal", async () => {
    await using s = await vmSetup();
    await assert.rejects(
      s.provider.containerPause(),
      (error) => error instanceof ApiError && /VM 100 not running/.test(error.message),
    );
  });
});

Deno.test("ProxmoxProvider waits for an HA-managed VM to change state after its task", async () => {
  await using s = await vmSetup({ ha: true }, { haDelayMs: 150 });
  await s.provider.containerStart();
  assert.equal(s.fake.tasks()[0].type, "hastart");
  assert.equal(s.fake.vm(100)?.status, "running", "resolved only once the VM runs");
  await s.provider.containerStop("", 10);
  assert.equal(s.fake.tasks().filter((t) => t.type === "hastop").length, 1);
  assert.equal(s.fake.vm(100)?.status, "stopped", "resolved only once the VM stopped");
});

Deno.test("ProxmoxProvider on a VM rejects with what PVE said", async (t) => {
  await t.step("a failed task: its exit status", async () => {
    await using s = await vmSetup();
    s.fake.failNextVmTask("start", "start failed: QEMU exited with code 1");
    await assert.rejects(s.provider.containerStart(), (error) => {
      return error instanceof TaskError && error.task === "qmstart" &&
        error.exitStatus === "start failed: QEMU exited with code 1" &&
        error.message.endsWith("task qmstart failed: start failed: QEMU exited with code 1");
    });
    assert.equal(await s.provider.containerStatus(), "stopped");
  });
  await t.step("a refused hibernation of an HA-managed VM: PVE's text", async () => {
    await using s = await vmSetup({ status: "running", ha: true }, { vmPause: "hibernate" });
    await assert.rejects(s.provider.containerPause(), (error) => {
      return error instanceof ApiError && error.status === 500 &&
        error.serverMessage === "Cannot suspend HA managed VM to disk";
    });
    assert.equal(await s.provider.containerStatus(), "running");
  });
  await t.step("a refused hibernation of a VM with PCI passthrough: PVE's text", async () => {
    await using s = await vmSetup({ status: "running", hostpci: true }, { vmPause: "hibernate" });
    await assert.rejects(s.provider.containerPause(), (error) => {
      return error instanceof ApiError &&
        /cannot suspend VM to disk due to passed-through PCI device/.test(error.serverMessage);
    });
  });
});

Deno.test("ProxmoxProvider on a missing VM rejects with NotFoundError", async (t) => {
  await t.step("newProxmoxProvider()", async () => {
    await using s = await setup();
    await assert.rejects(
      newProxmoxProvider("pve", 999, { client: s.client, type: "qemu" }),
      (error) =>
        error instanceof NotFoundError &&
        /Configuration file 'nodes\/pve\/qemu-server\/999.conf' does not exist/.test(
          error.message,
        ),
    );
  });
  const calls: [string, (p: Provider) => Promise<unknown>][] = [
    ["containerStatus", (p) => p.containerStatus()],
    ["containerStart", (p) => p.containerStart()],
    ["containerStop", (p) => p.containerStop("", 5)],
    ["containerKill", (p) => p.containerKill("")],
    ["containerPause", (p) => p.containerPause()],
    ["containerUnpause", (p) => p.containerUnpause()],
  ];
  for (const [name, call] of calls) {
    await t.step(`${name}() after the VM was destroyed`, async () => {
      await using s = await vmSetup({ status: "running" });
      s.fake.removeVm(100);
      await assert.rejects(call(s.provider), NotFoundError);
    });
  }
});

Deno.test("newProxmoxProvider() finds whether a guest is a VM or a CT", async (t) => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addVm("pve", 100, { name: "vm", status: "running" });
  s.fake.addCt("pve", 101, { name: "ct", status: "running" });
  s.fake.addVm("pve2", 200, { name: "far" });
  await t.step("without type: from /cluster/resources", async () => {
    s.fake.resetRequests();
    using provider = await newProxmoxProvider("pve", 100, { client: s.client });
    assert.deepEqual(requestLines(s.fake), [
      "GET /cluster/resources",
      `GET ${VM}/status/current`,
    ]);
    assert.equal(s.fake.requests[0].query.type, "vm");
    await provider.containerKill("");
    assert.deepEqual(posts(s.fake), [`POST ${VM}/status/stop`]);
  });
  await t.step("without type and node: both from /cluster/resources", async () => {
    s.fake.resetRequests();
    using provider = await newProxmoxProvider("", 200, { client: s.client });
    await provider.containerStart();
    assert.deepEqual(posts(s.fake), ["POST /nodes/pve2/qemu/200/status/start"]);
  });
  await t.step("without type, a CT stays a CT", async () => {
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    await provider.containerStatus();
    assert.deepEqual(requestLines(s.fake), ["GET /nodes/pve/lxc/101/status/current"]);
  });
  await t.step("with type: no lookup", async () => {
    s.fake.resetRequests();
    using _ = await newProxmoxProvider("pve", 100, { client: s.client, type: "qemu" });
    assert.deepEqual(requestLines(s.fake), [`GET ${VM}/status/current`]);
  });
  await t.step("with the wrong type: NotFoundError naming the kind", async () => {
    await assert.rejects(
      newProxmoxProvider("", 100, { client: s.client, type: "lxc" }),
      (error) => error instanceof NotFoundError && /QEMU virtual machine/.test(error.message),
    );
    await assert.rejects(
      newProxmoxProvider("pve", 101, { client: s.client, type: "qemu" }),
      NotFoundError,
    );
  });
  await t.step("a bad type or vmPause is an InvalidArgumentError", async () => {
    await assert.rejects(
      newProxmoxProvider("pve", 100, { client: s.client, type: "kvm" as "qemu" }),
      /Invalid type "kvm"/,
    );
    await assert.rejects(
      newProxmoxProvider("pve", 100, { client: s.client, vmPause: "sleep" as "suspend" }),
      /Invalid vmPause "sleep"/,
    );
  });
});

Deno.test("newProxmoxProvider() calls made together share one cluster lookup", async () => {
  await using s = await setup();
  for (let i = 0; i < 20; i++) {
    if (i % 2) s.fake.addVm("pve", 500 + i);
    else s.fake.addCt("pve", 500 + i);
  }
  s.fake.resetRequests();
  const providers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => newProxmoxProvider("pve", 500 + i, { client: s.client })),
  );
  try {
    const lookups = requestLines(s.fake).filter((line) => line === "GET /cluster/resources");
    assert.equal(lookups.length, 1);
    assert.deepEqual(
      providers.map((p) => p.guestType),
      Array.from({ length: 20 }, (_, i) => i % 2 ? "qemu" : "lxc"),
    );
    // A later call asks again: the cluster's guests change.
    using _ = await newProxmoxProvider("pve", 500, { client: s.client });
    assert.equal(
      requestLines(s.fake).filter((line) => line === "GET /cluster/resources").length,
      2,
    );
  } finally {
    for (const provider of providers) provider.close();
  }
});

/** Reads events until `count` arrived or the stream ended. */
async function take(events: ReadableStream<Event>, count: number): Promise<string[]> {
  const out: string[] = [];
  const reader = events.getReader();
  try {
    while (out.length < count) {
      const { done, value } = await within(reader.read());
      if (done) break;
      out.push(value.action);
    }
  } finally {
    reader.releaseLock();
  }
  return out;
}

Deno.test("ProxmoxProvider.watch() of a VM reports pause, unpause, stop, start, death and destroy", async () => {
  await using s = await vmSetup({ status: "running" });
  const { events } = s.provider.watch();
  const listed = () => s.fake.requests.filter((r) => r.path === `/api2/json/nodes/pve/qemu`).length;
  await until(() => listed() >= 2); // the silent baseline is in
  const step = async (change: () => void, expected: string[]) => {
    change();
    assert.deepEqual(await take(events, expected.length), expected);
  };
  await step(() => s.fake.setVm(100, { qmpstatus: "paused" }), ["paused"]);
  await step(() => s.fake.setVm(100, { qmpstatus: "running" }), ["unpaused"]);
  await step(() => s.fake.setVm(100, { status: "stopped" }), ["stopped"]);
  await step(() => s.fake.setVm(100, { status: "running" }), ["started"]);
  await step(() => s.fake.setVm(100, { status: "stopped", lock: "suspended" }), ["paused"]);
  await step(() => s.fake.setVm(100, { status: "running", lock: undefined }), ["unpaused"]);
  await step(() => s.fake.setVm(100, { qmpstatus: "guest-panicked" }), ["died"]);
  await step(() => s.fake.setVm(100, { qmpstatus: "running" }), ["started"]);
  await step(() => s.fake.removeVm(100), ["destroyed"]);
  assert.deepEqual(await take(events, 1), [], "the watch ends with the VM");
  const lists = s.fake.requests.filter((r) => r.path.endsWith("/qemu"));
  assert.ok(lists.every((r) => r.query.full === "1"), "the list is read with full=1");
  assert.ok(!s.fake.requests.some((r) => r.path.endsWith("/lxc")), "no CT list for a VM");
});

Deno.test("ProxmoxClient polls each kind of guest once per node and interval", async () => {
  const guests = 5;
  const watchesPerGuest = 50;
  await using s = await setup({ watchInterval: 0.1 });
  const vmids: number[] = [];
  for (let i = 0; i < guests; i++) {
    s.fake.addVm("pve", 300 + i);
    s.fake.addCt("pve", 400 + i);
    vmids.push(300 + i, 400 + i);
  }
  const providers = await Promise.all(
    vmids.map((vmid) => newProxmoxProvider("pve", vmid, { client: s.client })),
  );
  try {
    const streams = providers.flatMap((provider) =>
      Array.from({ length: watchesPerGuest }, () => provider.watch())
    );
    const readers = streams.map((stream) => stream.events.getReader());
    const lists = (kind: string) =>
      requestLines(s.fake).filter((line) => line === `GET /nodes/pve/${kind}`).length;
    s.fake.resetRequests();
    await until(() => lists("qemu") >= 2 && lists("lxc") >= 2); // the baselines are in
    s.fake.resetRequests();
    for (const vmid of vmids) {
      if (vmid < 400) s.fake.setVm(vmid, { status: "running" });
      else s.fake.setCt(vmid, { status: "running" });
    }
    const first = await Promise.all(readers.map((reader) => within(reader.read())));
    assert.ok(first.every((read) => read.value?.action === "started"));
    const lines = requestLines(s.fake);
    const listed = lists("qemu") + lists("lxc");
    // Nothing but the lists: a start costs no task read (only a CT's stop does: was it a
    // suspend?), and a VM's list says it all.
    assert.equal(lines.length - listed, 0, lines.join("\n"));
    assert.ok(Math.abs(lists("qemu") - lists("lxc")) <= 1, "one list of each kind per poll");
    assert.ok(lists("qemu") < streams.length / 10, `${lists("qemu")} VM lists`);
    for (const reader of readers) reader.releaseLock();
    await Promise.all(streams.map((stream) => stream.errors.cancel()));
  } finally {
    for (const provider of providers) provider.close();
  }
});

Deno.test("ProxmoxProvider follows a VM migrated to another node", async (t) => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addVm("pve", 100, { status: "running" });
  await t.step("a call", async () => {
    using provider = await newProxmoxProvider("pve", 100, { client: s.client });
    s.fake.setVm(100, { node: "pve2" });
    s.fake.resetRequests();
    await provider.containerPause();
    // The old node answers "unable to find configuration file for VM 100": the VM is looked up.
    assert.deepEqual(posts(s.fake), [
      "POST /nodes/pve/qemu/100/status/suspend todisk=0",
      "POST /nodes/pve2/qemu/100/status/suspend todisk=0",
    ]);
    assert.equal(s.fake.requests[0].status, 500);
    assert.equal(await provider.containerStatus(), "paused");
  });
  await t.step("a watch", async () => {
    using provider = await newProxmoxProvider("pve2", 100, { client: s.client });
    const { events } = provider.watch();
    await until(() => s.fake.requests.some((r) => r.path.endsWith("/nodes/pve2/qemu")));
    s.fake.setVm(100, { node: "pve" });
    await until(() => s.fake.requests.some((r) => r.path.endsWith("/nodes/pve/qemu")));
    s.fake.setVm(100, { qmpstatus: "running" });
    assert.deepEqual(await take(events, 1), ["unpaused"]);
    s.fake.removeVm(100);
    assert.deepEqual(await take(events, 2), ["destroyed"], "then the watch ends");
  });
});
