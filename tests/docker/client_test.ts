import assert from "node:assert/strict";
import { responseError, Transport } from "../../docker/_transport.ts";
import { loadDialTarget, resolveDockerHost } from "../../docker/_host.ts";
import { newDockerProvider } from "../../docker/mod.ts";
import { ApiError, ConnectionError, NotFoundError } from "../../errors.ts";
import { FaultProxy } from "../_fakes/fault_proxy.ts";
import { RecordingLogger } from "./_containers.ts";
import { startFakeEngine } from "../_fakes/docker_engine.ts";

const unix = { ignore: Deno.build.os === "windows" };

Deno.test({
  ...unix,
  name: "newDockerProvider() negotiates the API version once per client",
  async fn(t) {
    const cases: [string | null, string][] = [
      ["1.43", "/v1.43/"],
      ["1.41", "/v1.41/"],
      ["1.99", "/v1.51/"],
      [null, "/v1.24/"],
    ];
    for (const [server, prefix] of cases) {
      await t.step(`daemon ${server ?? "without API-Version"} -> ${prefix}`, async () => {
        await using fake = await startFakeEngine({ apiVersion: server });
        using provider = newDockerProvider(
          { socketPath: fake.path, logger: new RecordingLogger() },
          "web",
        );
        await provider.containerStatus();
        await provider.containerStart();
        await provider.containerStatus();
        assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.target}`), [
          "GET /_ping",
          `GET ${prefix}containers/web/json`,
          `POST ${prefix}containers/web/start`,
          `GET ${prefix}containers/web/json`,
        ]);
      });
    }

    await t.step("concurrent first calls share one ping", async () => {
      await using fake = await startFakeEngine();
      using provider = newDockerProvider(
        { socketPath: fake.path, logger: new RecordingLogger() },
        "web",
      );
      await Promise.all([
        provider.containerStatus(),
        provider.containerStart(),
        provider.containerStatus(),
      ]);
      assert.equal(fake.requests.filter((r) => r.target === "/_ping").length, 1);
      assert.equal(fake.requests.length, 4);
    });
  },
});

Deno.test({
  ...unix,
  name: "newDockerProvider() asks for the version again after an error answer without one",
  async fn() {
    let pings = 0;
    await using fake = await startFakeEngine({
      apiVersion: "1.41",
      route: (_request, target) =>
        target === "/_ping" && ++pings === 1
          ? new Response("Bad Gateway", { status: 502 })
          : undefined,
    });
    using provider = newDockerProvider(
      { socketPath: fake.path, logger: new RecordingLogger() },
      "web",
    );
    await provider.containerStatus();
    await provider.containerStatus();
    await provider.containerStatus();
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.target}`), [
      "GET /_ping",
      "GET /v1.24/containers/web/json",
      "GET /_ping",
      "GET /v1.41/containers/web/json",
      "GET /v1.41/containers/web/json",
    ]);
  },
});

Deno.test({
  ...unix,
  name: "newDockerProvider() shares one client and one connection between providers of a host",
  async fn() {
    await using fake = await startFakeEngine();
    await using proxy = await FaultProxy.start(fake.path);
    const logger = new RecordingLogger();
    const first = newDockerProvider({ socketPath: proxy.socketPath, logger }, "web");
    const second = newDockerProvider({ url: `unix://${proxy.socketPath}`, logger }, "db");

    await first.containerStatus();
    await second.containerStatus();
    await first.containerStart();
    await second.containerStart();
    assert.equal(proxy.accepted, 1, "both providers used one kept-alive connection");
    assert.equal(fake.requests.filter((r) => r.target === "/_ping").length, 1, "one negotiation");

    first.close();
    assert.equal(await second.containerStatus(), "stopped", "closing one leaves the other working");
    assert.equal(proxy.accepted, 1);

    second.close();
    await proxy.drained(); // The last close closed the pooled connection.
    assert.equal(proxy.open, 0);

    using third = newDockerProvider({ socketPath: proxy.socketPath, logger }, "web");
    await third.containerStatus();
    assert.equal(fake.requests.filter((r) => r.target === "/_ping").length, 2, "a new client");
  },
});

Deno.test({
  ...unix,
  name: "newDockerProvider() reports an unreachable daemon as a ConnectionError naming it",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "idlewatcher-unreachable-" });
    try {
      await t.step("no such socket", async () => {
        const path = `${dir}/missing.sock`;
        using provider = newDockerProvider(
          { socketPath: path, logger: new RecordingLogger() },
          "web",
        );
        await assert.rejects(provider.containerStart(), (error: Error) => {
          assert.ok(error instanceof ConnectionError);
          assert.equal(error.action, "start");
          assert.equal(error.container, "web");
          assert.ok(error.cause instanceof Deno.errors.NotFound);
          assert.match(
            error.message,
            new RegExp(
              `^Cannot start container "web": cannot reach the daemon at unix://${path}: ` +
                "no such socket; start the daemon, or give the provider its socket",
            ),
          );
          assert.equal(
            (error as ConnectionError).reason,
            `Cannot start container "web": cannot reach the daemon at unix://${path}: no such socket`,
          );
          return true;
        });
      });

      await t.step("a path nobody listens on", async () => {
        const path = `${dir}/stale.sock`;
        await Deno.writeTextFile(path, ""); // Like a socket file left behind by a dead daemon.
        using provider = newDockerProvider(
          { socketPath: path, logger: new RecordingLogger() },
          "web",
        );
        await assert.rejects(
          provider.containerStatus(),
          (error: Error) =>
            error instanceof ConnectionError &&
            error.message.includes(
              `unix://${path}: nothing listens on the socket; start the daemon`,
            ),
        );
      });

      await t.step("a TCP port nobody listens on", async () => {
        using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const { port } = listener.addr;
        listener.close();
        using provider = newDockerProvider(
          { url: `tcp://127.0.0.1:${port}`, logger: new RecordingLogger() },
          "web",
        );
        await assert.rejects(
          provider.containerStatus(),
          (error: Error) =>
            error instanceof ConnectionError &&
            error.message.includes(
              `connection refused; check that the daemon listens on 127.0.0.1:${port}`,
            ),
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...unix,
  name: "newDockerProvider() names the permissions a socket needs",
  permissions: { read: false, write: false, net: false, env: false },
  async fn() {
    const path = "/nonexistent/idlewatcher/docker.sock";
    using provider = newDockerProvider({ socketPath: path, logger: new RecordingLogger() }, "web");
    await assert.rejects(
      provider.containerStatus(),
      (error: Error) =>
        error instanceof ConnectionError &&
        error.message.includes(
          `missing permission; run with --allow-read=${path} --allow-write=${path} --allow-net=unix:${path}`,
        ),
    );
  },
});

Deno.test({
  ...unix,
  name: "Transport.request() streams a versioned answer",
  async fn() {
    const encoder = new TextEncoder();
    await using fake = await startFakeEngine({
      apiVersion: "1.41",
      route(_request, target) {
        if (!target.startsWith("/v1.41/events")) return undefined;
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(encoder.encode('{"Action":"start"}\n'));
            await new Promise((resolve) => setTimeout(resolve, 20));
            controller.enqueue(encoder.encode('{"Action":"die"}\n'));
            controller.close();
          },
        });
        return new Response(body, { headers: { "content-type": "application/json" } });
      },
    });
    const host = resolveDockerHost({ socketPath: fake.path }, () => undefined);
    const client = new Transport(host, loadDialTarget(host, () => ""), new RecordingLogger());
    try {
      const context = { action: "watch", container: "web", logger: new RecordingLogger() };
      const response = await client.request({ method: "GET", path: "/events?since=0", context });
      assert.equal(response.status, 200);
      let text = "";
      for (let piece; (piece = await response.read()) !== null;) {
        text += new TextDecoder().decode(piece);
      }
      assert.equal(text, '{"Action":"start"}\n{"Action":"die"}\n');
      assert.deepEqual(fake.requests.map((r) => r.target), ["/_ping", "/v1.41/events?since=0"]);
    } finally {
      client.close();
    }
  },
});

Deno.test("responseError() keeps the daemon's message", async (t) => {
  const context = { action: "pause", container: "web" };
  const bytes = (value: unknown) =>
    new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

  await t.step("Docker's message", () => {
    const error = responseError(
      409,
      bytes({ message: "Container web is already paused" }),
      context,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 409);
    assert.equal(error.serverMessage, "Container web is already paused");
    assert.equal(
      error.message,
      'Cannot pause container "web": daemon returned 409: Container web is already paused',
    );
    assert.equal(error.runtime, "docker");
    assert.equal(error.action, "pause");
    assert.equal(error.container, "web");
  });

  await t.step("Podman's message and cause", () => {
    const body = {
      cause: "container state improper",
      message: '"exited" is not running, can\'t pause: container state improper',
      response: 500,
    };
    const error = responseError(500, bytes(body), context);
    assert.ok(error instanceof ApiError);
    assert.equal(error.serverMessage, body.message);
    const other = responseError(
      500,
      bytes({ cause: "no such pod", message: "lookup failed" }),
      context,
    );
    assert.equal((other as ApiError).serverMessage, "lookup failed (no such pod)");
  });

  await t.step("a 404 is a NotFoundError", () => {
    const error = responseError(404, bytes({ message: "No such container: web" }), context);
    assert.ok(error instanceof NotFoundError);
    assert.match(error.message, /daemon returned 404: No such container: web$/);
  });

  await t.step("a body that is not JSON", () => {
    const error = responseError(502, bytes("<html>Bad Gateway</html>\n"), context);
    assert.ok(error instanceof ApiError);
    assert.equal(error.serverMessage, "<html>Bad Gateway</html>");
  });
});
