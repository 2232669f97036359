import assert from "node:assert/strict";
import { ApiError } from "../../errors.ts";
import { resolveConfig } from "../../proxmox/_config.ts";
import { Transport } from "../../proxmox/_transport.ts";
import { newProxmoxProvider, ProxmoxClient } from "../../proxmox/mod.ts";
import { PASSWORD, requestLines, SECRET, setup, USER } from "./_setup.ts";

Deno.test("ProxmoxClient with a password logs in once and sends the ticket and CSRF token", async () => {
  await using s = await setup({ ticket: true });
  s.fake.addCt("pve", 101);
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  await provider.containerStart(); // a write: the fake checks the CSRF token
  await provider.containerStop("", 5);
  const lines = requestLines(s.fake);
  assert.equal(lines[0], "POST /access/ticket");
  assert.equal(lines.filter((line) => line === "POST /access/ticket").length, 1);
  assert.ok(s.fake.requests.slice(1).every((r) => r.auth === "ticket" && r.status === 200));
});

Deno.test("ProxmoxClient logs in again once after a 401, then retries", async (t) => {
  await t.step("an expired ticket mid-session", async () => {
    await using s = await setup({ ticket: true });
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.expireTickets();
    s.fake.resetRequests();
    await provider.containerStart();
    const lines = requestLines(s.fake);
    assert.deepEqual(lines.slice(0, 3), [
      "POST /nodes/pve/lxc/101/status/start",
      "POST /access/ticket",
      "POST /nodes/pve/lxc/101/status/start",
    ]);
    assert.equal(s.fake.requests.filter((r) => r.status === 401).length, 1);
    assert.equal(s.fake.ct(101)?.status, "running");
  });
  await t.step("concurrent requests share one login", async () => {
    await using s = await setup({ ticket: true });
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.expireTickets();
    s.fake.resetRequests();
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () => provider.containerStatus()),
    );
    assert.deepEqual(statuses, Array(5).fill("stopped"));
    assert.equal(requestLines(s.fake).filter((line) => line === "POST /access/ticket").length, 1);
  });
  await t.step(
    "a password PVE refuses fails once, without the password in the message",
    async () => {
      await using s = await setup({ ticket: true });
      s.fake.addCt("pve", 101);
      using provider = await newProxmoxProvider("pve", 101, { client: s.client });
      s.fake.expireTickets();
      s.fake.addUser(USER, "changed-since");
      await assert.rejects(provider.containerStatus(), (error) => {
        return error instanceof ApiError && error.status === 401 &&
          /log in to https:\/\/127\.0\.0\.1:\d+ as idle@pve/.test(error.message) &&
          !error.message.includes(PASSWORD);
      });
    },
  );
});

Deno.test("ProxmoxClient with a token does not retry a 401", async () => {
  await using s = await setup();
  using client = new ProxmoxClient({ ...s.config, secret: "00000000-0000-0000-0000-000000000000" });
  await assert.rejects(client.request("GET", "/nodes"), (error) => {
    return error instanceof ApiError && error.status === 401 &&
      /authentication/.test(error.message) && !error.message.includes(SECRET);
  });
  assert.equal(s.fake.requests.length, 1);
});

Deno.test("Transport renews a ticket with the ticket itself before it expires", async () => {
  await using s = await setup({ ticket: true });
  const transport = new Transport(resolveConfig(s.config), {
    renewAfterMs: 50,
    expireAfterMs: 200,
  });
  try {
    await transport.request("GET", "/nodes");
    // From now on only the ticket can log in: a renewal must use it.
    s.fake.addUser(USER, "changed-since");
    await new Promise((resolve) => setTimeout(resolve, 60));
    await transport.request("GET", "/nodes");
    await transport.request("GET", "/nodes");
    assert.deepEqual(requestLines(s.fake), [
      "POST /access/ticket",
      "GET /nodes",
      "POST /access/ticket",
      "GET /nodes",
      "GET /nodes",
    ]);
    assert.ok(s.fake.requests.every((r) => r.status === 200));
    // Past the expiry, the password logs in afresh.
    s.fake.addUser(USER, PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 210));
    s.fake.resetRequests();
    await transport.request("GET", "/nodes");
    assert.deepEqual(requestLines(s.fake), ["POST /access/ticket", "GET /nodes"]);
  } finally {
    transport.close();
  }
});

Deno.test("ProxmoxClient never puts credentials in logs, errors, JSON.stringify or Deno.inspect", async (t) => {
  for (const ticket of [false, true]) {
    await t.step(ticket ? "ticket" : "token", async () => {
      await using s = await setup({ ticket, privileges: ["VM.Audit"] });
      s.fake.addCt("pve", 101);
      s.fake.addNode("pve2");
      s.fake.addCt("pve2", 102);
      using provider = await newProxmoxProvider("pve", 101, { client: s.client });
      using offline = await newProxmoxProvider("pve2", 102, { client: s.client });
      s.fake.setNodeOnline("pve2", false);
      s.fake.expireTickets();
      const errors: unknown[] = [];
      await provider.containerStart().catch((error) => errors.push(error)); // 403
      await offline.containerStart().catch((error) => errors.push(error)); // 595
      await s.client.request("GET", "/nodes/pve/lxc/999/status/current")
        .catch((error) => errors.push(error)); // 500 not found
      await newProxmoxProvider("pve", 101, {
        config: { ...s.config, password: "wrong-password", secret: "0-wrong-secret" },
      }).catch((error) => errors.push(error)); // 401
      assert.equal(errors.length, 4);
      const seen = [
        ...s.logger.lines,
        ...errors.map((error) => `${error} ${JSON.stringify(error)} ${Deno.inspect(error)}`),
        JSON.stringify(provider),
        Deno.inspect(provider, { showHidden: true, depth: Infinity }),
        JSON.stringify(s.client),
        Deno.inspect(s.client, { showHidden: true, depth: Infinity }),
      ].join("\n");
      for (const secret of [SECRET, PASSWORD, "wrong-password", "0-wrong-secret"]) {
        assert.ok(!seen.includes(secret), `${secret} leaked`);
      }
      assert.doesNotMatch(seen, /PVEAuthCookie|PVEAPIToken|PVE:idle@pve:/);
      assert.doesNotMatch(seen, /[0-9A-F]{8}:[A-Za-z0-9+/]{30,}/, "a CSRF token leaked");
    });
  }
});
