import assert from "node:assert/strict";
import {
  ApiError,
  ConnectionError,
  NotFoundError,
  ProviderError,
  TaskError,
  TimeoutError,
} from "../../errors.ts";
import { newProxmoxProvider, type Provider, ProxmoxClient } from "../../proxmox/mod.ts";
import { MemoryLogger, requestLines, SECRET, setup, TOKEN_ID, until } from "./_setup.ts";

const START = "POST /nodes/pve/lxc/101/status/start";

function posts(lines: string[]): string[] {
  return lines.filter((line) => line.startsWith("POST /nodes/"));
}

Deno.test("ProxmoxProvider.containerStart() starts a stopped CT and waits until it runs", async () => {
  await using s = await setup({ taskDurationMs: 100 });
  s.fake.addCt("pve", 101, { name: "web" });
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  s.fake.resetRequests();
  await provider.containerStart();
  assert.equal(s.fake.ct(101)?.status, "running");
  const lines = requestLines(s.fake);
  assert.deepEqual(posts(lines), [START]);
  // The task's status is read on the UPID's node, the UPID URL-encoded (it arrives decoded).
  assert.ok(lines.some((line) => /^GET \/nodes\/pve\/tasks\/UPID:pve:.*:vzstart:101:/.test(line)));
  assert.equal(lines.at(-1), "GET /nodes/pve/lxc/101/status/current");
});

Deno.test("ProxmoxProvider.containerStart() on a running CT succeeds", async () => {
  await using s = await setup();
  s.fake.addCt("pve", 101, { status: "running" });
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  s.fake.resetRequests();
  await provider.containerStart();
  assert.deepEqual(requestLines(s.fake), [START, "GET /nodes/pve/lxc/101/status/current"]);
  assert.equal(s.fake.requests[0].status, 500);
});

Deno.test("ProxmoxProvider.containerStop() shuts down with timeout and forceStop", async (t) => {
  await t.step("a CT that stops cleanly", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101, { status: "running" });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    await provider.containerStop("SIGTERM", 10);
    assert.equal(s.fake.ct(101)?.status, "stopped");
    assert.deepEqual(posts(requestLines(s.fake)), ["POST /nodes/pve/lxc/101/status/shutdown"]);
    assert.ok(s.logger.lines.some((line) => /cannot send SIGTERM/.test(line)));
  });
  await t.step("a CT that ignores the shutdown is killed after the timeout", async () => {
    // PVE's default (60 s, no forceStop) would end this task with "container did not stop";
    // a 60 s wait would trip the guard signal.
    await using s = await setup({ timeoutSecondMs: 1_000 });
    s.fake.addCt("pve", 101, { status: "running", ignoreShutdown: true });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    await provider.containerStop("", 0, { signal: AbortSignal.timeout(10_000) });
    assert.equal(s.fake.ct(101)?.status, "stopped");
  });
  await t.step("a stopped CT", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    await provider.containerStop("", 10);
    assert.deepEqual(posts(requestLines(s.fake)), ["POST /nodes/pve/lxc/101/status/shutdown"]);
    assert.equal(s.fake.requests[0].status, 500);
  });
  await t.step("a negative or fractional timeout is refused before any request", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101, { status: "running" });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    await assert.rejects(provider.containerStop("", -1), /Invalid stop timeout -1 for container/);
    await assert.rejects(provider.containerStop("", 1.5), /Invalid stop timeout 1.5 for container/);
    await assert.rejects(provider.containerStop("SIGFOO" as "", 1), /Invalid signal/);
    assert.deepEqual(requestLines(s.fake), []);
  });
  await t.step("the largest timeout, 2^31-1 s, is a deadline far off, not one passed", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101, { status: "running" });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    await provider.containerStop("", 2 ** 31 - 1, { signal: AbortSignal.timeout(10_000) });
    assert.equal(s.fake.ct(101)?.status, "stopped");
  });
});

Deno.test("ProxmoxProvider.containerKill() hard-stops with status/stop", async (t) => {
  await t.step("a running CT, even one that ignores shutdowns", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101, { status: "running", ignoreShutdown: true });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    await provider.containerKill("SIGKILL");
    assert.equal(s.fake.ct(101)?.status, "stopped");
    assert.deepEqual(posts(requestLines(s.fake)), ["POST /nodes/pve/lxc/101/status/stop"]);
  });
  await t.step("a stopped CT", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    await provider.containerKill("");
    assert.equal(s.fake.ct(101)?.status, "stopped");
  });
});

Deno.test("ProxmoxProvider.containerPause() suspends; containerUnpause() resumes", async (t) => {
  await t.step("on a node with CRIU: paused, then running again", async () => {
    await using s = await setup();
    s.fake.addNode("pve2", { criu: true });
    s.fake.addCt("pve2", 102, { status: "running" });
    using provider = await newProxmoxProvider("pve2", 102, { client: s.client });
    s.fake.resetRequests();
    await provider.containerPause();
    assert.equal(s.fake.ct(102)?.status, "stopped");
    assert.equal(s.fake.ct(102)?.checkpoint, true);
    assert.equal(await provider.containerStatus(), "paused");
    await provider.containerPause(); // already paused
    await provider.containerUnpause();
    assert.equal(s.fake.ct(102)?.status, "running");
    assert.equal(await provider.containerStatus(), "running");
    await provider.containerUnpause(); // already running
    assert.deepEqual(posts(requestLines(s.fake)), [
      "POST /nodes/pve2/lxc/102/status/suspend",
      "POST /nodes/pve2/lxc/102/status/suspend",
      "POST /nodes/pve2/lxc/102/status/resume",
      "POST /nodes/pve2/lxc/102/status/resume",
    ]);
  });
  await t.step("on a node without CRIU: the task's failure, with a hint", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101, { status: "running" });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    const error = await provider.containerPause().catch((error) => error);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 0);
    assert.ok(error instanceof TaskError, String(error));
    assert.equal(error.name, "TaskError");
    assert.equal(error.task, "vzsuspend");
    assert.equal(
      error.exitStatus,
      "command 'lxc-checkpoint -n 101 -s -D /var/lib/vz/dump' failed: exit code 1",
    );
    assert.equal(error.serverMessage, error.exitStatus);
    assert.match(error.message, /CRIU/);
    assert.match(error.message, /containerStop/);
    assert.equal(s.fake.ct(101)?.status, "running");
    assert.equal(await provider.containerStatus(), "running");
  });
});

Deno.test("ProxmoxProvider stops and kills a paused CT for good", async (t) => {
  const ends: [string, string, (provider: Provider) => Promise<void>][] = [
    ["containerStop()", "shutdown", (provider) => provider.containerStop("", 5)],
    ["containerKill()", "stop", (provider) => provider.containerKill("")],
  ];
  for (const [name, action, end] of ends) {
    await t.step(`${name}: resumed, then ended`, async () => {
      await using s = await setup();
      s.fake.addNode("pve2", { criu: true });
      s.fake.addCt("pve2", 101, { status: "running" });
      using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
      await provider.containerPause();
      s.fake.resetRequests();
      await end(provider);
      assert.equal(await provider.containerStatus(), "stopped");
      assert.equal(s.fake.ct(101)?.status, "stopped");
      assert.equal(s.fake.ct(101)?.checkpoint, false, "the checkpoint was restored");
      assert.deepEqual(posts(requestLines(s.fake)), [
        `POST /nodes/pve2/lxc/101/status/${action}`,
        "POST /nodes/pve2/lxc/101/status/resume",
        `POST /nodes/pve2/lxc/101/status/${action}`,
      ]);
      await provider.containerStart();
      assert.equal(s.fake.tasks("pve2").at(-1)?.type, "vzstart", "a wake starts it afresh");
    });
    await t.step(`${name}: a checkpoint that cannot be restored leaves it stopped`, async () => {
      await using s = await setup();
      s.fake.addNode("pve2", { criu: true });
      s.fake.addCt("pve2", 101, { status: "running" });
      using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
      await provider.containerPause();
      s.fake.failNextTask("resume", "command 'lxc-checkpoint' failed: exit code 1");
      await end(provider);
      assert.equal(await provider.containerStatus(), "stopped");
      assert.equal(s.fake.ct(101)?.status, "stopped");
    });
  }
});

Deno.test("ProxmoxProvider.containerStatus() maps PVE's state", async (t) => {
  await using s = await setup();
  s.fake.addNode("pve2", { criu: true });
  s.fake.addCt("pve2", 101, { status: "running" });
  s.fake.addCt("pve2", 102);
  s.fake.addCt("pve2", 103, { template: true });
  using running = await newProxmoxProvider("pve2", 101, { client: s.client });
  using stopped = await newProxmoxProvider("pve2", 102, { client: s.client });
  using template = await newProxmoxProvider("pve2", 103, { client: s.client });
  await t.step("running", async () => assert.equal(await running.containerStatus(), "running"));
  await t.step("stopped", async () => assert.equal(await stopped.containerStatus(), "stopped"));
  await t.step("a template cannot be started: error", async () => {
    assert.equal(await template.containerStatus(), "error");
  });
  await t.step("paused after a successful suspend, stopped after a later stop", async () => {
    await running.containerPause();
    assert.equal(await running.containerStatus(), "paused");
    await running.containerUnpause();
    await running.containerStop("", 5);
    assert.equal(await running.containerStatus(), "stopped");
  });
});

Deno.test("ProxmoxProvider waits for an HA-managed CT to change state after its task", async () => {
  await using s = await setup({ haDelayMs: 100 });
  s.fake.addCt("pve", 101, { ha: true });
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  s.fake.resetRequests();
  await provider.containerStart();
  // hastart ends OK at once; the CT runs only once the HA agent's own task has run.
  assert.equal(s.fake.ct(101)?.status, "running");
  assert.deepEqual(s.fake.tasks("pve").map((task) => task.type), ["hastart", "vzstart"]);
  await provider.containerStop("", 5);
  assert.equal(s.fake.ct(101)?.status, "stopped");
});

Deno.test("ProxmoxProvider rejects with a failed task's exit status", async (t) => {
  await t.step("an error", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101, { lock: "backup" });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    const error = await provider.containerStart().catch((error) => error);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 0);
    assert.ok(error instanceof TaskError, String(error));
    assert.equal(error.task, "vzstart");
    assert.equal(error.exitStatus, "CT is locked (backup)");
    assert.equal(error.serverMessage, "CT is locked (backup)");
    assert.equal(error.action, "start");
    assert.equal(error.container, "101");
    assert.match(error.message, /task vzstart failed: CT is locked \(backup\)/);
    assert.ok(s.logger.lines.some((line) => line.startsWith("error ") && /locked/.test(line)));
  });
  await t.step("an injected failure", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.failNextTask("start", "startup for container '101' failed");
    await assert.rejects(provider.containerStart(), (error: ApiError) => {
      return error instanceof ApiError &&
        error.serverMessage === "startup for container '101' failed";
    });
  });
  await t.step("WARNINGS are success", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.failNextTask("start", "WARNINGS: 2");
    await provider.containerStart();
    assert.equal(s.fake.ct(101)?.status, "running");
  });
  await t.step("the CT vanished before the task ran: NotFoundError", async () => {
    await using s = await setup({ taskDurationMs: 20 });
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.removeCt(101);
    await assert.rejects(provider.containerStart(), NotFoundError);
  });
});

Deno.test("ProxmoxProvider calls stop at once when their signal aborts", async () => {
  await using s = await setup({ taskDurationMs: 60_000 });
  s.fake.addCt("pve", 101);
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  s.fake.resetRequests();
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const call = provider.containerStart({ signal: controller.signal });
  await until(() => s.fake.requests.some((r) => r.path.includes("/tasks/")));
  controller.abort(reason);
  await assert.rejects(call, (error) => error === reason);
  const seen = s.fake.requests.length;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(s.fake.requests.length, seen, "no request after the abort");
  assert.equal(s.fake.tasks("pve")[0].status, "running", "rejected while the task still runs");
  s.fake.taskDurationMs = 0;
});

Deno.test("ProxmoxProvider calls without a signal end at the action deadline", async () => {
  await using s = await setup({ taskDurationMs: 60_000 });
  s.fake.addCt("pve", 101);
  using provider = await newProxmoxProvider("pve", 101, { client: s.client, actionTimeout: 0.2 });
  await assert.rejects(provider.containerStart(), (error) => {
    return error instanceof TimeoutError && /within 0.2 s/.test(error.message);
  });
});

Deno.test("ProxmoxProvider calls with a signal still end at the action deadline", async (t) => {
  await t.step("a signal that never aborts: TimeoutError", async () => {
    await using s = await setup({ haDelayMs: 60_000 });
    s.fake.addCt("pve", 101, { ha: true });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client, actionTimeout: 0.2 });
    const signal = new AbortController().signal;
    await assert.rejects(provider.containerStart({ signal }), (error) => {
      return error instanceof TimeoutError && /within 0.2 s/.test(error.message);
    });
  });
  await t.step("a signal that aborts first: its reason", async () => {
    await using s = await setup({ haDelayMs: 60_000 });
    s.fake.addCt("pve", 101, { ha: true });
    using provider = await newProxmoxProvider("pve", 101, { client: s.client, actionTimeout: 60 });
    const reason = new Error("caller gave up");
    const controller = new AbortController();
    const call = provider.containerStart({ signal: controller.signal });
    await until(() => s.fake.tasks("pve").length > 0);
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });
});

Deno.test("ProxmoxProvider.containerStatus() ends at the per-request timeout, not the action deadline", async () => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addCt("pve2", 101);
  using client = new ProxmoxClient({ ...s.config, timeout: 0.2 });
  using provider = await newProxmoxProvider("pve2", 101, { client, actionTimeout: 600 });
  s.fake.setNodeOnline("pve2", false);
  // Reads retry a 595 after 100, 200 and 400 ms: more than the 0.2 s the call may take.
  await assert.rejects(provider.containerStatus(), (error) => {
    return error instanceof TimeoutError && /not done within 0.2 s/.test(error.message);
  });
});

Deno.test("ProxmoxProvider follows a CT migrated to another node", async (t) => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addCt("pve", 101, { status: "running" });
  await t.step("a status read", async () => {
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.setCt(101, { node: "pve2" });
    assert.equal(await provider.containerStatus(), "running");
    s.fake.resetRequests();
    await provider.containerKill("");
    assert.deepEqual(posts(requestLines(s.fake)), ["POST /nodes/pve2/lxc/101/status/stop"]);
  });
  await t.step("a stop, which the old node refuses", async () => {
    using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
    await provider.containerStart();
    s.fake.setCt(101, { node: "pve" });
    s.fake.resetRequests();
    await provider.containerStop("", 5);
    assert.equal(s.fake.ct(101)?.status, "stopped");
    assert.deepEqual(posts(requestLines(s.fake)), [
      "POST /nodes/pve2/lxc/101/status/shutdown",
      "POST /nodes/pve/lxc/101/status/shutdown",
    ]);
  });
  await t.step("a start, whose task fails on the old node", async () => {
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.setCt(101, { node: "pve2" });
    await provider.containerStart();
    assert.equal(s.fake.ct(101)?.status, "running");
  });
  await t.step("a CT gone from the cluster: NotFoundError", async () => {
    using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
    s.fake.removeCt(101);
    await assert.rejects(provider.containerStatus(), NotFoundError);
    await assert.rejects(provider.containerKill(""), NotFoundError);
  });
});

Deno.test("ProxmoxProvider on an offline node: ConnectionError naming it, no POST replay", async () => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addCt("pve2", 101);
  using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
  s.fake.setNodeOnline("pve2", false);
  s.fake.resetRequests();
  await assert.rejects(provider.containerStart(), (error) => {
    return error instanceof ConnectionError && /node "pve2"/.test(error.message) &&
      /595 No route to host/.test(error.message);
  });
  assert.deepEqual(requestLines(s.fake), ["POST /nodes/pve2/lxc/101/status/start"]);
  s.fake.resetRequests();
  // Reads are retried with backoff before they fail.
  await assert.rejects(provider.containerStatus(), ConnectionError);
  assert.ok(requestLines(s.fake).length > 1);
  s.fake.setNodeOnline("pve2", true);
  assert.equal(await provider.containerStatus(), "stopped");
});

Deno.test("newProxmoxProvider() finds the node of a CT when the node name is empty", async () => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addCt("pve2", 105, { name: "db" });
  using provider = await newProxmoxProvider("", 105, { client: s.client });
  s.fake.resetRequests();
  await provider.containerStart();
  assert.deepEqual(posts(requestLines(s.fake)), ["POST /nodes/pve2/lxc/105/status/start"]);
  await assert.rejects(newProxmoxProvider("", 999, { client: s.client }), NotFoundError);
});

Deno.test("newProxmoxProvider() rejects an unknown vmid with NotFoundError", async (t) => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addCt("pve2", 101);
  await t.step("no such CT", async () => {
    await assert.rejects(newProxmoxProvider("pve", 999, { client: s.client }), (error) => {
      return error instanceof NotFoundError &&
        /Configuration file 'nodes\/pve\/lxc\/999.conf' does not exist/.test(error.message);
    });
  });
  await t.step("the CT lives on another node", async () => {
    await assert.rejects(newProxmoxProvider("pve", 101, { client: s.client }), NotFoundError);
  });
  await t.step("its own client is closed on failure", async () => {
    await assert.rejects(newProxmoxProvider("pve", 999, { config: s.config }), NotFoundError);
  });
});

Deno.test("newProxmoxProvider() rejects an unknown node with a NotFoundError listing the nodes", async (t) => {
  await using s = await setup();
  s.fake.addNode("pve2");
  s.fake.addCt("pve2", 101);
  const unknownNode = (error: unknown) =>
    error instanceof NotFoundError && error.container === "101" &&
    error.message ===
      'Cannot read CT 101 on node "nope": the cluster has no node "nope" ' +
        "(available nodes: pve, pve2)" &&
    error.cause instanceof ApiError && error.cause.status === 500 &&
    /hostname lookup 'nope' failed/.test(error.cause.serverMessage);

  await t.step("with a shared client", async () => {
    s.fake.resetRequests();
    await assert.rejects(newProxmoxProvider("nope", 101, { client: s.client }), unknownNode);
    assert.deepEqual(
      s.fake.requests.map((r) => `${r.method} ${r.path.replace(/^\/api2\/json/, "")} ${r.status}`),
      [
        "GET /cluster/resources 200", // the guest's kind
        "GET /nodes/nope/lxc/101/status/current 500",
        "GET /nodes 200",
      ],
    );
  });
  await t.step("with a client of its own", async () => {
    await assert.rejects(newProxmoxProvider("nope", 101, { config: s.config }), unknownNode);
  });
});

Deno.test("newProxmoxProvider() keeps PVE's 500 when the node exists or the nodes are unknown", async (t) => {
  const dir = new URL("../fixtures/pve/", import.meta.url);
  let nodes: Response | undefined;
  let nodesAsked = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("server.pem", dir)),
    key: await Deno.readTextFile(new URL("server-key.pem", dir)),
    onListen() {},
  }, (request) => {
    if (new URL(request.url).pathname === "/api2/json/nodes") {
      nodesAsked++;
      return nodes!;
    }
    return Response.json({ data: null, message: "got timeout\n" }, { status: 500 });
  });
  const client = new ProxmoxClient({
    url: `https://127.0.0.1:${server.addr.port}`,
    tokenId: TOKEN_ID,
    secret: SECRET,
    caCerts: [await Deno.readTextFile(new URL("ca.pem", dir))],
    logger: new MemoryLogger(),
  });
  const pveTimeout = (error: unknown) =>
    error instanceof ApiError && error.status === 500 && error.serverMessage === "got timeout";
  try {
    await t.step("the node is in the cluster", async () => {
      nodes = Response.json({ data: [{ node: "pve", status: "online" }] });
      await assert.rejects(newProxmoxProvider("pve", 101, { client }), pveTimeout);
      assert.equal(nodesAsked, 1);
    });
    await t.step("the nodes cannot be listed", async () => {
      nodes = Response.json({ data: null, message: "got timeout\n" }, { status: 500 });
      await assert.rejects(newProxmoxProvider("pve", 101, { client }), pveTimeout);
      assert.equal(nodesAsked, 2);
    });
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("newProxmoxProvider() with a config owns its client; with a client it does not", async () => {
  await using s = await setup();
  s.fake.addCt("pve", 101, { status: "running" });
  const own = await newProxmoxProvider("pve", 101, { config: s.config });
  assert.equal(await own.containerStatus(), "running");
  own.close();
  own.close();
  const shared = await newProxmoxProvider("pve", 101, { client: s.client });
  shared.close();
  assert.equal(await s.client.request("GET", "/version").then(() => "open"), "open");
});

Deno.test("ProxmoxProvider keeps PVE's 403 message and the missing privilege", async () => {
  await using s = await setup({ privileges: ["VM.Audit"] });
  s.fake.addCt("pve", 101);
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  await assert.rejects(provider.containerStart(), (error) => {
    return error instanceof ApiError && error.status === 403 &&
      error.serverMessage === "Permission check failed (/vms/101, VM.PowerMgmt)" &&
      /permission/.test(error.message);
  });
});

Deno.test("ProxmoxProvider takes deadlines beyond a timer's 24.8 days as long, not as passed", async () => {
  const thirtyDays = 30 * 24 * 60 * 60;
  await using s = await setup();
  s.fake.addCt("pve", 101);
  using provider = await newProxmoxProvider("pve", 101, {
    client: s.client,
    actionTimeout: thirtyDays,
  });
  await provider.containerStart();
  assert.equal(await provider.containerStatus(), "running");
  await provider.containerStop("", thirtyDays);
  assert.equal(s.fake.ct(101)?.status, "stopped");
});

Deno.test("ProxmoxProvider rejects a status/current without data with a ProviderError, never a TypeError", async (t) => {
  const dir = new URL("../fixtures/pve/", import.meta.url);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("server.pem", dir)),
    key: await Deno.readTextFile(new URL("server-key.pem", dir)),
    onListen() {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api2/json/nodes") {
      return Response.json({ data: [{ node: "pve", status: "online" }] });
    }
    if (path === "/api2/json/cluster/resources") {
      return Response.json({
        data: [
          { id: "lxc/101", type: "lxc", vmid: 101, node: "pve", status: "running" },
          { id: "qemu/100", type: "qemu", vmid: 100, node: "pve", status: "running" },
        ],
      });
    }
    if (request.method === "POST") {
      return Response.json({ data: null, message: "already running\n" }, { status: 500 });
    }
    return Response.json({ data: null });
  });
  const client = new ProxmoxClient({
    url: `https://127.0.0.1:${server.addr.port}`,
    tokenId: TOKEN_ID,
    secret: SECRET,
    caCerts: [await Deno.readTextFile(new URL("ca.pem", dir))],
    logger: new MemoryLogger(),
  });
  try {
    for (const vmid of [101, 100]) {
      await t.step(vmid === 101 ? "a CT" : "a VM", async () => {
        using provider = await newProxmoxProvider("pve", vmid, { client });
        const noStatus = (error: unknown) =>
          error instanceof ProviderError && /PVE answered with no status/.test(error.message);
        await assert.rejects(provider.containerStatus(), noStatus);
        await assert.rejects(provider.containerStart(), ProviderError);
      });
    }
  } finally {
    client.close();
    await server.shutdown();
  }
});
