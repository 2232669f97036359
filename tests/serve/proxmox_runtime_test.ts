import assert from "node:assert/strict";
import { ProxmoxRuntime } from "../../serve/_proxmox_runtime.ts";
import { IdleServer } from "../../serve/_server.ts";
import { setup } from "../proxmox/_setup.ts";
import { memoryLogger, until } from "./_fake_runtime.ts";

Deno.test("serve on Proxmox VE: CTs tagged sablier, by hostname and node/vmid, grouped by sablier-group-NAME", async (t) => {
  await using s = await setup();
  s.fake.addCt("pve", 101, { name: "web", tags: "sablier;sablier-group-shop" });
  s.fake.addCt("pve", 102, {
    name: "db",
    tags: "sablier-group-shop;sablier;idlewatcher-stop-timeout-5",
  });
  s.fake.addCt("pve", 103, { name: "secret", tags: "prod" });
  const server = await IdleServer.start({
    hostname: "127.0.0.1",
    port: 0,
    runtimes: [new ProxmoxRuntime({ client: s.client, logger: memoryLogger() })],
    sessionMs: 60_000,
    logger: memoryLogger(),
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await t.step("sleep settings come from the tags", () => {
      const db = server.engine.instances().find((i) => i.name === "db")!;
      assert.deepEqual(db.info.sleep, { method: "stop", signal: "", timeoutSeconds: 5 });
      assert.deepEqual(db.info.aliases, ["pve/102"]);
    });
    await t.step("a CT without the tag is unknown and never started", async () => {
      for (const name of ["secret", "pve/103", "103"]) {
        const response = await fetch(`${base}/api/strategies/blocking?names=${name}&timeout=2s`);
        assert.equal(response.status, 404, name);
        await response.body?.cancel();
      }
      assert.equal(s.fake.ct(103)!.status, "stopped");
    });
    await t.step("a group wakes its CTs; ready means running", async () => {
      const response = await fetch(
        `${base}/api/strategies/blocking?group=shop&session_duration=1s&timeout=20s`,
      );
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.session.status, "ready");
      assert.deepEqual(
        body.session.instances.map((e: { instance: { name: string } }) => e.instance.name),
        [
          "db",
          "web",
        ],
      );
      assert.equal(s.fake.ct(101)!.status, "running");
      assert.equal(s.fake.ct(102)!.status, "running");
    });
    await t.step("the session ends: the CTs are shut down", async () => {
      await until(
        () => s.fake.ct(101)!.status === "stopped" && s.fake.ct(102)!.status === "stopped",
        20_000,
      );
    });
    await t.step("node/vmid reaches the same CT", async () => {
      const response = await fetch(
        `${base}/api/strategies/blocking?names=pve/101&session_duration=1m&timeout=20s`,
      );
      assert.equal(response.status, 200);
      assert.equal((await response.json()).session.instances[0].instance.name, "web");
    });
  } finally {
    await server.close();
  }
});

Deno.test("serve on Proxmox VE: a VM tagged sablier and idlewatcher-sleep-pause is frozen in memory, then thawed", async (t) => {
  await using s = await setup();
  s.fake.addVm("pve", 200, { name: "app", tags: "sablier;idlewatcher-sleep-pause" });
  s.fake.addVm("pve", 201, { name: "other", tags: "prod" });
  const server = await IdleServer.start({
    hostname: "127.0.0.1",
    port: 0,
    runtimes: [new ProxmoxRuntime({ client: s.client, logger: memoryLogger() })],
    sessionMs: 60_000,
    logger: memoryLogger(),
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const wake = async () => {
    const response = await fetch(
      `${base}/api/strategies/blocking?names=app&session_duration=1s&timeout=20s`,
    );
    assert.equal(response.status, 200);
    assert.equal((await response.json()).session.status, "ready");
  };
  try {
    await t.step("only the tagged VM is managed, with its pause", () => {
      const names = server.engine.instances().map((i) => i.name);
      assert.deepEqual(names, ["app"]);
      const app = server.engine.instances()[0];
      assert.equal(app.info.sleep.method, "pause");
      assert.deepEqual(app.info.aliases, ["pve/200"]);
    });
    await t.step("a request starts it", async () => {
      await wake();
      assert.equal(s.fake.vm(200)!.status, "running");
    });
    await t.step("the session ends: PVE's suspend freezes it in memory", async () => {
      await until(() => s.fake.vm(200)!.qmpstatus === "paused", 20_000);
      assert.equal(s.fake.vm(200)!.status, "running", "the QEMU process stays");
      assert.ok(s.fake.tasks("pve").some((task) => task.type === "qmpause"));
    });
    await t.step("the next request resumes it", async () => {
      await wake();
      assert.equal(s.fake.vm(200)!.qmpstatus, "running");
      assert.ok(s.fake.tasks("pve").some((task) => task.type === "qmresume"));
    });
  } finally {
    await server.close();
  }
});
