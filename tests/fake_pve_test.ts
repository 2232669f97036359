import assert from "node:assert/strict";
import {
  decodeUpid,
  type FakePve,
  rawRequest,
  type RawRequestInit,
  type RawResponse,
  RawTlsClient,
  startFakePve,
} from "./_fakes/pve/mod.ts";

const TOKEN = { Authorization: "PVEAPIToken=idle@pve!watch=s3cret" };
const API = "/api2/json";

async function fakeWithCluster(opts: Parameters<typeof startFakePve>[0] = {}): Promise<FakePve> {
  const fake = await startFakePve({
    authDelayMs: 5,
    taskDurationMs: 5,
    statusBroadcastMs: 0,
    ...opts,
  });
  fake.addNode("pve");
  fake.addNode("pve2");
  fake.addCt("pve", 101, { name: "web", status: "running" });
  fake.addCt("pve", 102, { name: "db" });
  fake.addCt("pve2", 201, { name: "far" });
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

async function waitTask(
  fake: FakePve,
  node: string,
  upid: string,
): Promise<Record<string, unknown>> {
  await fake.tasksSettled();
  return await data(fake, {
    path: `${API}/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
  }) as Record<
    string,
    unknown
  >;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), `timed out waiting for ${what}`);
}

Deno.test("startFakePve() frames responses like pveproxy and keeps HTTP/1.1 alive", async () => {
  await using fake = await fakeWithCluster();
  await using client = await RawTlsClient.connect(fake);
  const res = await client.request({ path: `${API}/version`, headers: TOKEN });
  assert.equal(res.statusLine, "HTTP/1.1 200 OK");
  assert.deepEqual(res.headerOrder, [
    "Cache-Control",
    "Connection",
    "Date",
    "Pragma",
    "Server",
    "Content-Length",
    "Content-Type",
    "Expires",
  ]);
  assert.equal(res.headers.get("server"), "pve-api-daemon/3.0");
  assert.equal(res.headers.get("connection"), "Keep-Alive");
  assert.equal(res.headers.get("content-type"), "application/json;charset=UTF-8");
  assert.deepEqual(JSON.parse(res.body).data.version, "9.2.11");
  const again = await client.request({ path: `${API}/nodes`, headers: TOKEN });
  assert.equal(again.status, 200);
  assert.deepEqual(JSON.parse(again.body).data.map((n: { node: string }) => n.node), [
    "pve",
    "pve2",
  ]);
});

Deno.test("startFakePve() closes the connection after every response >= 400", async (t) => {
  await using fake = await fakeWithCluster();
  await t.step(
    "500 from a pre-check carries the message as reason phrase and in the body",
    async () => {
      await using client = await RawTlsClient.connect(fake);
      const res = await client.request({
        method: "POST",
        path: `${API}/nodes/pve/lxc/102/status/stop`,
        headers: TOKEN,
      });
      assert.equal(res.statusLine, "HTTP/1.1 500 CT 102 not running");
      assert.equal(res.headers.get("connection"), "close");
      assert.deepEqual(JSON.parse(res.body), { data: null, message: "CT 102 not running\n" });
      assert.ok(await client.closedByPeer());
    },
  );
  await t.step("PVE before 8.4 sends the message only in the reason phrase", async () => {
    fake.pveVersion = "8.3.5";
    const res = await call(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/start` });
    assert.equal(res.statusLine, "HTTP/1.1 500 CT 101 already running");
    assert.deepEqual(JSON.parse(res.body), { data: null });
    fake.pveVersion = "9.2.11";
  });
  await t.step("unknown path is 501 with the method and relative path", async () => {
    const res = await call(fake, { path: `${API}/nodes/pve/foo` });
    assert.equal(res.statusLine, "HTTP/1.1 501 Method 'GET /nodes/pve/foo' not implemented");
  });
  await t.step("chunked request bodies are refused", async () => {
    const res = await rawRequest(fake, {
      raw: `POST ${API}/nodes/pve/lxc/102/status/start HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: ${TOKEN.Authorization}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    });
    assert.equal(res.statusLine, "HTTP/1.1 501 chunked transfer encoding not supported");
    assert.equal(res.body, "");
  });
  await t.step("an offline node answers 595 with an empty body", async () => {
    fake.setNodeOnline("pve2", false);
    await using client = await RawTlsClient.connect(fake);
    const res = await client.request({ path: `${API}/nodes/pve2/lxc`, headers: TOKEN });
    assert.equal(res.statusLine, "HTTP/1.1 595 No route to host");
    assert.equal(res.body, "");
    assert.equal(res.headers.get("content-type"), undefined);
    assert.ok(await client.closedByPeer());
    fake.setNodeOnline("pve2", true);
  });
});

Deno.test("startFakePve() authenticates API tokens", async (t) => {
  await using fake = await fakeWithCluster();
  await t.step("no credentials: 401 No ticket, empty body, closed", async () => {
    await using client = await RawTlsClient.connect(fake);
    const res = await client.request({ path: `${API}/version` });
    assert.equal(res.statusLine, "HTTP/1.1 401 No ticket");
    assert.equal(res.body, "");
    assert.equal(res.headers.get("content-length"), undefined);
    assert.ok(await client.closedByPeer());
  });
  await t.step("wrong secret or unknown token: 401 Authentication failed!", async () => {
    for (
      const auth of [
        "PVEAPIToken=idle@pve!watch=wrong",
        "PVEAPIToken=nobody@pve!x=s3cret",
        "PVEAPIToken=garbage",
      ]
    ) {
      const res = await rawRequest(fake, {
        path: `${API}/version`,
        headers: { Authorization: auth },
      });
      assert.equal(res.statusLine, "HTTP/1.1 401 Authentication failed!");
      assert.equal(res.body, "");
    }
  });
  await t.step("a space may replace the first '='", async () => {
    const res = await rawRequest(fake, {
      path: `${API}/version`,
      headers: { Authorization: "PVEAPIToken idle@pve!watch=s3cret" },
    });
    assert.equal(res.status, 200);
  });
  await t.step("tokens need no CSRF token on POST", async () => {
    assert.match(
      String(await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/102/status/start` })),
      /^UPID:/,
    );
    await fake.tasksSettled();
  });
  await t.step("a revoked token fails", async () => {
    fake.removeToken("idle@pve!watch");
    const res = await call(fake, { path: `${API}/version` });
    assert.equal(res.status, 401);
  });
});

Deno.test("startFakePve() issues tickets and checks CSRF tokens", async (t) => {
  await using fake = await fakeWithCluster();
  fake.addUser("alice@pve", "pw");
  const login = async (body: string) =>
    await rawRequest(fake, {
      method: "POST",
      path: `${API}/access/ticket`,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
  const res = await login("username=alice&password=pw&realm=pve");
  assert.equal(res.status, 200);
  const reply = JSON.parse(res.body).data;
  assert.equal(reply.username, "alice@pve");
  assert.match(reply.ticket, /^PVE:alice@pve:[0-9A-F]{8}::[A-Za-z0-9+/]+=*$/);
  assert.match(reply.CSRFPreventionToken, /^[0-9A-F]{8}:\S+$/);
  assert.equal(res.headers.get("set-cookie"), undefined);
  const cookie = { Cookie: `PVEAuthCookie=${encodeURIComponent(reply.ticket)}` };
  const start = { method: "POST", path: `${API}/nodes/pve/lxc/102/status/start` };

  await t.step("GET with the cookie or the Authorization header", async () => {
    assert.equal((await rawRequest(fake, { path: `${API}/version`, headers: cookie })).status, 200);
    const viaHeader = { Authorization: `PVEAuthCookie=${reply.ticket}` };
    assert.equal(
      (await rawRequest(fake, { path: `${API}/version`, headers: viaHeader })).status,
      200,
    );
  });
  await t.step("POST without or with a wrong CSRF token is 401", async () => {
    for (const csrf of [undefined, "0000ABCD:bogus"]) {
      const headers = csrf ? { ...cookie, CSRFPreventionToken: csrf } : cookie;
      const r = await rawRequest(fake, { ...start, headers });
      assert.equal(r.statusLine, "HTTP/1.1 401 Permission denied - invalid csrf token");
      assert.equal(r.body, "");
    }
  });
  await t.step("POST with the CSRF token runs and the task belongs to the user", async () => {
    const r = await rawRequest(fake, {
      ...start,
      headers: { ...cookie, CSRFPreventionToken: reply.CSRFPreventionToken },
    });
    assert.equal(r.status, 200);
    assert.equal(decodeUpid(JSON.parse(r.body).data)?.user, "alice@pve");
    await fake.tasksSettled();
  });
  await t.step("a valid ticket as password renews it", async () => {
    const r = await login(`username=alice%40pve&password=${encodeURIComponent(reply.ticket)}`);
    assert.equal(r.status, 200);
  });
  await t.step("a wrong password is 401 authentication failure with a JSON body", async () => {
    const r = await login("username=alice@pve&password=nope");
    assert.equal(r.statusLine, "HTTP/1.1 401 authentication failure");
    assert.deepEqual(JSON.parse(r.body), { data: null, message: "authentication failure\n" });
  });
  await t.step("expired or invalidated tickets fail", async () => {
    fake.ticketLifetimeSec = 0;
    assert.equal(
      (await rawRequest(fake, { path: `${API}/version`, headers: cookie })).statusLine,
      "HTTP/1.1 401 Authentication failed!",
    );
    fake.ticketLifetimeSec = 7200;
    assert.equal((await rawRequest(fake, { path: `${API}/version`, headers: cookie })).status, 200);
    fake.expireTickets();
    assert.equal((await rawRequest(fake, { path: `${API}/version`, headers: cookie })).status, 401);
  });
});

Deno.test("startFakePve() validates parameters and permissions in PVE's order", async (t) => {
  await using fake = await fakeWithCluster();
  const errors = async (init: RawRequestInit) => {
    const res = await call(fake, init);
    assert.equal(res.statusLine, "HTTP/1.1 400 Parameter verification failed.");
    return JSON.parse(res.body).errors;
  };
  await t.step("vmid format, integer and boolean types, unknown parameters", async () => {
    assert.deepEqual(await errors({ path: `${API}/nodes/pve/lxc/99/status/current` }), {
      vmid: "invalid format - value does not look like a valid VM ID\n",
    });
    assert.deepEqual(await errors({ path: `${API}/nodes/pve/lxc/abc/status/current?full=1` }), {
      vmid: "type check ('integer') failed - got 'abc'",
      full: "property is not defined in schema and the schema does not allow additional properties",
    });
    assert.deepEqual(
      await errors({
        method: "POST",
        path: `${API}/nodes/pve/lxc/101/status/shutdown`,
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "forceStop=true&timeout=-1",
      }),
      {
        forceStop: "type check ('boolean') failed - got 'true'",
        timeout: "value must have a minimum value of 0",
      },
    );
    assert.deepEqual(await errors({ path: `${API}/cluster/resources?type=lxc` }), {
      type: "value 'lxc' does not have a value in the enumeration 'vm, storage, node, sdn'",
    });
  });
  await t.step("JSON booleans are accepted and _dc is dropped", async () => {
    const upid = await data(fake, {
      method: "POST",
      path: `${API}/nodes/pve/lxc/101/status/shutdown?_dc=123`,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ forceStop: true, timeout: 5 }),
    });
    assert.equal((await waitTask(fake, "pve", String(upid))).exitstatus, "OK");
  });
  await t.step("a URI parameter repeated in the body is a duplicate", async () => {
    assert.deepEqual(
      await errors({
        method: "POST",
        path: `${API}/nodes/pve/lxc/101/status/start`,
        body: "vmid=101",
      }),
      { vmid: "duplicate parameter (already defined in URI)" },
    );
  });
  await t.step("403 comes before the proxy, 595 before validation", async () => {
    fake.addToken("ro@pve!audit", "x", { privileges: ["VM.Audit"] });
    fake.setNodeOnline("pve2", false);
    const ro = { Authorization: "PVEAPIToken=ro@pve!audit=x" };
    const denied = await rawRequest(fake, {
      method: "POST",
      path: `${API}/nodes/pve2/lxc/201/status/start`,
      headers: ro,
    });
    assert.equal(
      denied.statusLine,
      "HTTP/1.1 403 Permission check failed (/vms/201, VM.PowerMgmt)",
    );
    assert.deepEqual(JSON.parse(denied.body), {
      data: null,
      message: "Permission check failed (/vms/201, VM.PowerMgmt)\n",
    });
    const offline = await call(fake, { path: `${API}/nodes/pve2/lxc/99/status/current` });
    assert.equal(offline.statusLine, "HTTP/1.1 595 No route to host");
    fake.setNodeOnline("pve2", true);
  });
  await t.step("an unknown node fails the hostname lookup", async () => {
    const res = await call(fake, { path: `${API}/nodes/nope/lxc` });
    assert.equal(
      res.statusLine,
      "HTTP/1.1 500 hostname lookup 'nope' failed - failed to get address info for: nope: Name or service not known",
    );
  });
});

Deno.test("startFakePve() runs power actions as tasks", async (t) => {
  await using fake = await fakeWithCluster();
  await t.step("start: UPID with the token, task runs, then the CT runs", async () => {
    const upid = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/102/status/start` }),
    );
    assert.match(
      upid,
      /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzstart:102:idle@pve!watch:$/,
    );
    const status = await waitTask(fake, "pve", upid);
    assert.equal(status.status, "stopped");
    assert.equal(status.exitstatus, "OK");
    assert.equal(status.user, "idle@pve");
    assert.equal(status.tokenid, "watch");
    const current = await data(fake, { path: `${API}/nodes/pve/lxc/102/status/current` }) as Record<
      string,
      unknown
    >;
    assert.equal(current.status, "running");
    assert.deepEqual(current.ha, { managed: 0 });
    const log = await call(fake, { path: `${API}/nodes/pve/tasks/${upid}/log` });
    assert.deepEqual(JSON.parse(log.body), { data: [{ n: 1, t: "TASK OK" }], total: 1 });
  });
  await t.step("start of an unknown vmid is accepted, then the task fails", async () => {
    const upid = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/999/status/start` }),
    );
    assert.equal(
      (await waitTask(fake, "pve", upid)).exitstatus,
      "Configuration file 'nodes/pve/lxc/999.conf' does not exist",
    );
    const res = await call(fake, { path: `${API}/nodes/pve/lxc/999/status/current` });
    assert.equal(
      res.statusLine,
      "HTTP/1.1 500 Configuration file 'nodes/pve/lxc/999.conf' does not exist",
    );
    const foreign = await call(fake, { path: `${API}/nodes/pve/lxc/201/status/current` });
    assert.equal(foreign.status, 500);
  });
  await t.step("a locked CT fails inside the task", async () => {
    fake.setCt(102, { status: "stopped", lock: "backup" });
    const upid = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/102/status/start` }),
    );
    assert.equal((await waitTask(fake, "pve", upid)).exitstatus, "CT is locked (backup)");
    assert.equal(fake.ct(102)?.status, "stopped");
    fake.setCt(102, { lock: undefined });
  });
  await t.step("shutdown that times out without forceStop: container did not stop", async () => {
    fake.timeoutSecondMs = 1;
    fake.setCt(101, { status: "running", ignoreShutdown: true });
    const upid = String(
      await data(fake, {
        method: "POST",
        path: `${API}/nodes/pve/lxc/101/status/shutdown`,
        body: "timeout=3",
      }),
    );
    assert.equal((await waitTask(fake, "pve", upid)).exitstatus, "container did not stop");
    assert.equal(fake.ct(101)?.status, "running");
    const forced = String(
      await data(fake, {
        method: "POST",
        path: `${API}/nodes/pve/lxc/101/status/shutdown`,
        body: "timeout=3&forceStop=1",
      }),
    );
    assert.equal((await waitTask(fake, "pve", forced)).exitstatus, "OK");
    assert.equal(fake.ct(101)?.status, "stopped");
  });
  await t.step("a second task waits for the config lock and times out", async () => {
    fake.setCt(101, { status: "running", ignoreShutdown: true });
    fake.timeoutSecondMs = 20;
    fake.configLockTimeoutMs = 10;
    const slow = String(
      await data(fake, {
        method: "POST",
        path: `${API}/nodes/pve/lxc/101/status/shutdown`,
        body: "timeout=5",
      }),
    );
    const stop = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/stop` }),
    );
    assert.equal(
      (await waitTask(fake, "pve", stop)).exitstatus,
      "can't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout",
    );
    assert.equal((await waitTask(fake, "pve", slow)).exitstatus, "container did not stop");
    fake.setCt(101, { ignoreShutdown: false });
  });
  await t.step("suspend fails without CRIU and leaves the CT running", async () => {
    const upid = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/suspend` }),
    );
    assert.equal(
      (await waitTask(fake, "pve", upid)).exitstatus,
      "command 'lxc-checkpoint -n 101 -s -D /var/lib/vz/dump' failed: exit code 1",
    );
    assert.equal(fake.ct(101)?.status, "running");
  });
  await t.step("with CRIU, suspend stops the CT and resume starts it", async () => {
    fake.addNode("criu", { criu: true });
    fake.addCt("criu", 301, { status: "running" });
    const s = String(
      await data(fake, { method: "POST", path: `${API}/nodes/criu/lxc/301/status/suspend` }),
    );
    assert.equal((await waitTask(fake, "criu", s)).exitstatus, "OK");
    assert.equal(fake.ct(301)?.status, "stopped");
    const r = String(
      await data(fake, { method: "POST", path: `${API}/nodes/criu/lxc/301/status/resume` }),
    );
    assert.equal((await waitTask(fake, "criu", r)).exitstatus, "OK");
    assert.equal(fake.ct(301)?.status, "running");
  });
  await t.step("failNextTask() injects errors and warnings", async () => {
    fake.failNextTask("stop", "WARNINGS: 2");
    const w = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/stop` }),
    );
    assert.equal((await waitTask(fake, "pve", w)).exitstatus, "WARNINGS: 2");
    assert.equal(fake.ct(101)?.status, "stopped");
    fake.failNextTask("start", "startup for container '101' failed");
    const e = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/start` }),
    );
    assert.equal((await waitTask(fake, "pve", e)).exitstatus, "startup for container '101' failed");
    assert.equal(fake.ct(101)?.status, "stopped");
  });
  await t.step("DELETE of a running task interrupts it", async () => {
    fake.taskDurations.start = 10_000;
    const upid = String(
      await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/start` }),
    );
    assert.equal(
      await data(fake, { method: "DELETE", path: `${API}/nodes/pve/tasks/${upid}` }),
      null,
    );
    assert.equal((await waitTask(fake, "pve", upid)).exitstatus, "received interrupt");
    delete fake.taskDurations.start;
  });
  await t.step("task lookups: unparsable, unknown, or on another node", async () => {
    const bad = await call(fake, { path: `${API}/nodes/pve/tasks/nope/status` });
    assert.deepEqual(JSON.parse(bad.body).errors, { upid: "unable to parse worker upid" });
    const [first] = fake.tasks("pve");
    const elsewhere = await call(fake, { path: `${API}/nodes/pve2/tasks/${first.upid}/status` });
    assert.deepEqual(JSON.parse(elsewhere.body).errors, { upid: "no such task" });
  });
  await t.step("the task list holds finished tasks, newest first, filtered by vmid", async () => {
    const res = await call(fake, { path: `${API}/nodes/pve/tasks?vmid=101&limit=2` });
    const body = JSON.parse(res.body);
    assert.equal(body.data.length, 2);
    assert.ok(body.total > 2);
    assert.ok(body.data.every((t: { id: string; status: string }) => t.id === "101" && t.status));
    assert.equal(body.data[0].upid, fake.tasks("pve").filter((t) => t.id === "101").at(-1)?.upid);
  });
});

Deno.test("startFakePve() hands HA-managed CTs to the HA stack", async () => {
  await using fake = await fakeWithCluster({ haDelayMs: 400 });
  fake.setCt(102, { ha: true });
  const upid = String(
    await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/102/status/start` }),
  );
  assert.equal(decodeUpid(upid)?.type, "hastart");
  assert.equal((await waitTask(fake, "pve", upid)).exitstatus, "OK");
  assert.equal(fake.ct(102)?.status, "stopped");
  await until(() => fake.ct(102)?.status === "running", "the HA agent to start CT 102");
  const agent = fake.tasks("pve").find((t) => t.type === "vzstart" && t.id === "102");
  assert.equal(agent?.user, "root@pam");
  assert.equal(agent?.log[0], "task started by HA resource agent");
  const current = await data(fake, { path: `${API}/nodes/pve/lxc/102/status/current` }) as Record<
    string,
    unknown
  >;
  assert.deepEqual(current.ha, { managed: 1, state: "started" });
});

Deno.test("startFakePve() reports /cluster/resources as of the last broadcast", async () => {
  await using fake = await fakeWithCluster({ statusBroadcastMs: 60_000 });
  await using client = await RawTlsClient.connect(fake);
  const statusOf = async (vmid: number) => {
    const res = await client.request({ path: `${API}/cluster/resources?type=vm`, headers: TOKEN });
    const list: { vmid: number; status: string }[] = JSON.parse(res.body).data;
    return list.find((e) => e.vmid === vmid)?.status;
  };
  fake.setCt(102, { status: "running" });
  assert.equal(await statusOf(102), "stopped");
  fake.broadcast();
  assert.equal(await statusOf(102), "running");
  fake.setNodeOnline("pve2", false); // its guests' RRD data stops being refreshed
  await new Promise((r) => setTimeout(r, 250));
  fake.rrdExpiryMs = 200;
  fake.broadcast();
  assert.equal(await statusOf(201), "unknown");
  assert.equal(await statusOf(102), "running");
});

Deno.test("startFakePve() can drop connections and gzips large bodies", async (t) => {
  await using fake = await fakeWithCluster();
  await t.step("a dropped request gets no answer and is logged with status 0", async () => {
    fake.resetRequests();
    fake.dropNextConnections(1);
    await using client = await RawTlsClient.connect(fake);
    await client.send({ path: `${API}/version`, headers: TOKEN });
    assert.ok(await client.closedByPeer());
    assert.deepEqual(fake.requests, [{
      method: "GET",
      path: `${API}/version`,
      query: {},
      params: {},
      auth: "token",
      status: 0,
    }]);
    assert.equal((await call(fake, { path: `${API}/version` })).status, 200);
  });
  await t.step("bodies over 1024 bytes are gzipped when the client accepts it", async () => {
    for (let vmid = 400; vmid < 420; vmid++) fake.addCt("pve", vmid);
    const res = await call(fake, {
      path: `${API}/nodes/pve/lxc`,
      headers: { "Accept-Encoding": "gzip" },
    });
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal(JSON.parse(res.body).data.length, 22);
  });
  await t.step("fetch trusts caCert and sees the canonical reason phrase", async () => {
    using client = Deno.createHttpClient({ caCerts: [fake.caCert] });
    const res = await fetch(`${fake.url}${API}/nodes/pve/lxc/102/status/stop`, {
      method: "POST",
      headers: TOKEN,
      client,
    });
    assert.equal(res.status, 500);
    assert.equal(res.statusText, "Internal Server Error");
    assert.deepEqual(await res.json(), { data: null, message: "CT 102 not running\n" });
  });
});

Deno.test("FakePve.close() ends running tasks, pending timers and open connections", async () => {
  const fake = await fakeWithCluster({ authDelayMs: 60_000, haDelayMs: 60_000 });
  fake.taskDurations.start = 60_000;
  await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/102/status/start` });
  fake.setCt(101, { ha: true });
  await data(fake, { method: "POST", path: `${API}/nodes/pve/lxc/101/status/stop` });
  await using client = await RawTlsClient.connect(fake);
  await client.send({ path: `${API}/version` }); // a 401 that waits 60 s
  await until(() => fake.requests.length === 3, "the unauthenticated request");
  await fake.close();
  await assert.rejects(client.readResponse(), Deno.errors.UnexpectedEof);
  assert.ok(fake.tasks().every((t) => t.status === "stopped"));
});
