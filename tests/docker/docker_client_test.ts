import assert from "node:assert/strict";
import { DockerClient, newDockerProvider } from "../../docker/mod.ts";
import {
  ApiError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  ProviderError,
} from "../../errors.ts";
import { RecordingLogger } from "./_containers.ts";
import { startFakeEngine } from "../_fakes/docker_engine.ts";

const unix = { ignore: Deno.build.os === "windows" };

const SUMMARIES = [
  { Id: "a1", Names: ["/web"], State: "running" },
  { Id: "b2", Names: ["/db"], State: "exited" },
];

Deno.test({
  ...unix,
  name: "DockerClient.request() lists and inspects containers on the negotiated version",
  async fn() {
    await using fake = await startFakeEngine({
      apiVersion: "1.41",
      route(request, target) {
        if (request.method === "GET" && target.startsWith("/v1.41/containers/json")) {
          return Response.json(SUMMARIES);
        }
        if (target === "/v1.41/containers/missing/json") {
          return Response.json({ message: "No such container: missing" }, { status: 404 });
        }
        if (target === "/v1.41/containers/busy/start") {
          return Response.json({ message: "conflict" }, { status: 409 });
        }
        return undefined;
      },
    });
    using client = new DockerClient({ socketPath: fake.path, logger: new RecordingLogger() });
    assert.equal(client.url, `unix://${fake.path}`);

    const all = await client.request<typeof SUMMARIES>("GET", "/containers/json", {
      query: { all: true, limit: undefined, filters: '{"label":["a=b"]}' },
    });
    assert.deepEqual(all, SUMMARIES);
    const inspected = await client.request<{ State: { Status: string } }>(
      "GET",
      "/containers/web/json",
    );
    assert.equal(inspected.State.Status, "exited");
    assert.deepEqual(fake.requests.map((r) => r.target), [
      "/_ping",
      "/v1.41/containers/json?all=true&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D",
      "/v1.41/containers/web/json",
    ]);

    const missing = await client.request("GET", "/containers/missing/json").catch((e) => e);
    assert.ok(missing instanceof NotFoundError, String(missing));
    assert.equal(
      missing.message,
      "Cannot GET /containers/missing/json: daemon returned 404: No such container: missing",
    );
    assert.equal(missing.runtime, "docker");
    const busy = await client.request("POST", "/containers/busy/start").catch((e) => e);
    assert.ok(busy instanceof ApiError);
    assert.equal(busy.status, 409);
    assert.equal(busy.serverMessage, "conflict");
  },
});

Deno.test("DockerClient.request() refuses a bad method or path before any request", async (t) => {
  using client = new DockerClient({ socketPath: "/nonexistent/docker.sock" });
  for (
    const [method, path] of [
      ["PATCH", "/containers/json"],
      ["GET", "containers/json"],
      ["GET", "/containers/json?all=1"],
      ["GET", "/containers/a b/json"],
      ["GET", "/containers/x\r\nHost: evil/json"],
    ]
  ) {
    await t.step(`${method} ${JSON.stringify(path)}`, async () => {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        client.request(method as any, path),
        InvalidArgumentError,
      );
    });
  }
});

Deno.test({
  ...unix,
  name: "newDockerProvider({ client }) shares the client, and closing the provider leaves it open",
  async fn() {
    await using fake = await startFakeEngine({ apiVersion: "1.41", state: "running" });
    const logger = new RecordingLogger();
    using client = new DockerClient({ socketPath: fake.path, logger });
    const web = newDockerProvider({ client }, "web");
    using db = newDockerProvider({ client }, "db");
    assert.equal(await web.containerStatus(), "running");
    assert.equal(await db.containerStatus(), "running");
    web.close();
    assert.equal(await db.containerStatus(), "running");
    await client.request("GET", "/containers/json");
    assert.deepEqual(fake.requests.map((r) => r.target), [
      "/_ping",
      "/v1.41/containers/web/json",
      "/v1.41/containers/db/json",
      "/v1.41/containers/db/json",
      "/v1.41/containers/json",
    ]);
    // Without a logger of its own, a provider logs to its client's.
    assert.ok(
      logger.lines.some((line) => line.msg.startsWith("GET /v1.41/containers/db/json 200")),
    );
  },
});

Deno.test({
  ...unix,
  name: "DockerClient.close() ends the watches of its providers and fails later calls",
  async fn() {
    await using fake = await startFakeEngine({ apiVersion: "1.41" });
    const client = new DockerClient({ socketPath: fake.path, logger: new RecordingLogger() });
    using provider = newDockerProvider({ client }, "web");
    const { events, errors } = provider.watch();
    client.close();
    client.close();
    // Both streams end: nothing of the watch is left running.
    assert.deepEqual(await Array.fromAsync(events), []);
    await Array.fromAsync(errors);
    const after = await client.request("GET", "/containers/json").catch((e) => e);
    assert.ok(after instanceof ProviderError, String(after));
    assert.match(after.message, /is closed/);
    await assert.rejects(provider.containerStatus(), ConnectionError);
  },
});

Deno.test("newDockerProvider() refuses a client together with a daemon address", () => {
  using client = new DockerClient({ socketPath: "/nonexistent/docker.sock" });
  for (
    const address of [
      { socketPath: "/run/docker.sock" },
      { url: "tcp://127.0.0.1:2375" },
      { tls: {} },
    ]
  ) {
    assert.throws(
      () => newDockerProvider({ client, ...address }, "web"),
      (error) =>
        error instanceof InvalidArgumentError &&
        error.message ===
          "Give either a client or the daemon's address (url, socketPath, tls, maxConnections), not both",
    );
  }
});
