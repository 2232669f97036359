import assert from "node:assert/strict";
import {
  ApiError,
  ConnectionError,
  InvalidArgumentError,
  ProviderError,
  TimeoutError,
} from "../../errors.ts";
import { resolveConfig } from "../../proxmox/_config.ts";
import { Transport } from "../../proxmox/_transport.ts";
import { newProxmoxProvider, ProxmoxClient } from "../../proxmox/mod.ts";
import { requestLines, setup } from "./_setup.ts";

Deno.test("ProxmoxClient.request() returns data and surfaces PVE's message on old and new PVE", async (t) => {
  for (const pveVersion of ["8.3.5", "8.4.1", "9.2.11"]) {
    await t.step(pveVersion, async () => {
      await using s = await setup({ pveVersion });
      s.fake.addCt("pve", 101);
      const version = await s.client.request<{ version: string }>("GET", "/version");
      assert.equal(version.version, pveVersion);
      await assert.rejects(
        s.client.request("POST", "/nodes/pve/lxc/101/status/suspend"),
        (error) => {
          return error instanceof ApiError && error.status === 500 &&
            error.serverMessage === "CT 101 not running" &&
            /CT 101 not running/.test(error.message);
        },
      );
    });
  }
});

Deno.test("ProxmoxProvider idempotency does not depend on PVE's message (PVE < 8.4)", async () => {
  await using s = await setup({ pveVersion: "8.2.4" });
  s.fake.addCt("pve", 101, { status: "running" });
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  await provider.containerStart();
  await provider.containerKill("");
  await provider.containerStop("", 1);
});

Deno.test("ProxmoxClient.request() lists the parameters of a 400", async () => {
  await using s = await setup();
  s.fake.addCt("pve", 101, { status: "running" });
  await assert.rejects(
    s.client.request("POST", "/nodes/pve/lxc/101/status/shutdown", {
      params: { timeout: "soon", forceStop: "yes" },
    }),
    (error) => {
      return error instanceof ApiError && error.status === 400 &&
        /timeout: type check \('integer'\) failed - got 'soon'/.test(error.message) &&
        /forceStop: type check \('boolean'\) failed - got 'yes'/.test(error.message);
    },
  );
});

Deno.test("ProxmoxClient.request() checks method and path before any request", async (t) => {
  await using s = await setup();
  await t.step("the method", async () => {
    await assert.rejects(s.client.request("PATCH" as "GET", "/version"), InvalidArgumentError);
  });
  const paths = [
    "version",
    "/nodes?x=1",
    "/nodes#x",
    "/nodes/pve /lxc",
    "/nodes/pvé/lxc",
    "/nodes/pve\u0001/lxc",
    "/nodes/pve\u007f/lxc",
    "/nodes/pve\t/lxc",
  ];
  for (const path of paths) {
    await t.step(JSON.stringify(path), async () => {
      await assert.rejects(s.client.request("GET", path), (error) => {
        return error instanceof InvalidArgumentError && /Invalid path/.test(error.message);
      });
    });
  }
  assert.equal(s.fake.requests.length, 0);
});

Deno.test("Transport turns a request the HTTP layer refuses into an InvalidArgumentError", async () => {
  await using s = await setup();
  const transport = new Transport(resolveConfig(s.config));
  try {
    await assert.rejects(transport.request("GET", "/nodes/pv\u00e9"), (error) => {
      return error instanceof InvalidArgumentError && error.cause instanceof TypeError;
    });
  } finally {
    transport.close();
  }
  assert.equal(s.fake.requests.length, 0);
});

Deno.test("ProxmoxClient replays a GET, never a POST, when a kept-alive connection drops", async (t) => {
  await t.step("GET", async () => {
    await using s = await setup();
    await s.client.request("GET", "/version"); // leaves an idle connection
    s.fake.dropNextConnections(1);
    await s.client.request("GET", "/version");
    assert.deepEqual(s.fake.requests.map((r) => r.status), [200, 0, 200]);
  });
  await t.step("POST", async () => {
    await using s = await setup();
    s.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.dropNextConnections(1);
    s.fake.resetRequests();
    await assert.rejects(provider.containerStart(), (error) => {
      return error instanceof ConnectionError &&
        /may or may not have reached PVE/.test(error.message);
    });
    assert.deepEqual(requestLines(s.fake), ["POST /nodes/pve/lxc/101/status/start"]);
  });
});

Deno.test("ProxmoxClient ends a request that gets no answer within its timeout", async () => {
  await using s = await setup({ latencyMs: 2_000 });
  using client = new ProxmoxClient({ ...s.config, timeout: 0.1 });
  await assert.rejects(client.request("GET", "/version"), (error) => {
    return error instanceof TimeoutError && /within 0.1 s/.test(error.message);
  });
  s.fake.latencyMs = 0;
});

Deno.test("ProxmoxClient takes a timeout beyond a timer's 24.8 days as long, not as passed", async () => {
  await using s = await setup();
  using client = new ProxmoxClient({ ...s.config, timeout: 30 * 24 * 60 * 60 });
  assert.ok(await client.request("GET", "/version"));
});

Deno.test("ProxmoxClient verifies TLS against the given CA", async (t) => {
  await using s = await setup();
  await t.step("without the cluster CA: a ConnectionError that says so", async () => {
    using client = new ProxmoxClient({ ...s.config, caCerts: undefined });
    await assert.rejects(client.request("GET", "/version"), (error) => {
      return error instanceof ConnectionError && /caFile or caCerts/.test(error.message);
    });
  });
  await t.step("caFile", async () => {
    const file = await Deno.makeTempFile({ suffix: ".pem" });
    try {
      await Deno.writeTextFile(file, s.fake.caCert);
      using client = new ProxmoxClient({ ...s.config, caCerts: undefined, caFile: file });
      assert.ok(await client.request("GET", "/version"));
    } finally {
      await Deno.remove(file);
    }
  });
  await t.step("a caFile that cannot be read", async () => {
    using client = new ProxmoxClient({ ...s.config, caFile: "/nonexistent/pve-root-ca.pem" });
    await assert.rejects(client.request("GET", "/version"), (error) => {
      return error instanceof InvalidArgumentError &&
        /nonexistent\/pve-root-ca\.pem/.test(error.message);
    });
  });
});

Deno.test("ProxmoxClient.close() rejects pending and later requests", async () => {
  await using s = await setup({ latencyMs: 200 });
  const client = new ProxmoxClient(s.config);
  const pending = client.request("GET", "/version");
  await new Promise((resolve) => setTimeout(resolve, 20));
  client.close();
  client.close();
  await assert.rejects(
    pending,
    (error) => error instanceof ProviderError && /closed/.test(error.message),
  );
  await assert.rejects(client.request("GET", "/version"), /closed/);
});

Deno.test("ProxmoxClient never says a refused POST may have reached PVE", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  using client = new ProxmoxClient({
    url: `https://127.0.0.1:${port}`,
    tokenId: "idle@pve!t",
    secret: "8c2f4b1e-0d7a-4f7e-9a53-2b61c0de9f10",
  });
  await assert.rejects(client.request("POST", "/nodes/pve/lxc/101/status/start"), (error) => {
    assert.ok(error instanceof ConnectionError);
    assert.ok(error.cause instanceof Deno.errors.ConnectionRefused);
    assert.doesNotMatch(error.message, /may or may not/);
    return true;
  });
});

Deno.test("resolveConfig() says a missing secret or password is missing, not invalid", () => {
  const url = "https://pve.example:8006";
  assert.throws(
    () => resolveConfig({ url, tokenId: "idle@pve!t" }),
    (error) =>
      error instanceof InvalidArgumentError &&
      error.message ===
        "Missing Proxmox secret for token idle@pve!t: give the token's secret (a UUID)",
  );
  assert.throws(
    () => resolveConfig({ url, username: "root@pam" }),
    (error) =>
      error instanceof InvalidArgumentError &&
      error.message === "Missing Proxmox password for root@pam",
  );
});
