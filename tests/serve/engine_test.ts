import assert from "node:assert/strict";
import { IdleEngine } from "../../serve/_engine.ts";
import {
  AmbiguousInstanceError,
  UnknownGroupError,
  UnknownInstanceError,
} from "../../serve/_errors.ts";
import type { Runtime } from "../../serve/_model.ts";
import { fakeInfo, FakeRuntime, memoryLogger, until } from "./_fake_runtime.ts";

async function withEngine(
  runtimes: Runtime[],
  body: (engine: IdleEngine, logger: ReturnType<typeof memoryLogger>) => Promise<void>,
  options: { stateDir?: string; defaultSessionMs?: number } = {},
): Promise<void> {
  const logger = memoryLogger();
  const engine = new IdleEngine({
    runtimes,
    logger,
    stateDir: options.stateDir,
    defaultSessionMs: options.defaultSessionMs ?? 60_000,
  });
  await engine.start();
  try {
    await body(engine, logger);
  } finally {
    await engine.close();
  }
}

Deno.test("IdleEngine.request() makes exactly one start call for 1,000 concurrent requests", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  runtime.powerDelayMs = 20;
  await withEngine([runtime], async (engine) => {
    const requests = Array.from({ length: 1000 }, () => {
      const targets = engine.resolveNames(["web"]);
      return engine.request(targets, 60_000).then(() =>
        engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) })
      );
    });
    await Promise.all(requests);
    assert.equal(runtime.count("start", "web"), 1);
    assert.equal(runtime.containers.get("id-web")!.status, "running");
  });
});

Deno.test("IdleEngine.request() extends a session and never shortens it", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveNames(["web"]);
    const before = Date.now();
    await engine.request(targets, 600_000);
    const long = targets[0].instance.sessionUntil;
    assert.ok(long >= before + 600_000);
    await engine.request(targets, 1_000);
    assert.equal(targets[0].instance.sessionUntil, long, "a shorter request left the end alone");
    await new Promise((r) => setTimeout(r, 5));
    await engine.request(targets, 600_000);
    assert.ok(targets[0].instance.sessionUntil > long, "a later request moved the end forward");
  });
});

Deno.test("A session's end puts the instance to sleep by its method", async (t) => {
  for (const method of ["stop", "pause"] as const) {
    await t.step(method, async () => {
      const info = fakeInfo("web", { sleep: { method, signal: "SIGTERM", timeoutSeconds: 3 } });
      const runtime = new FakeRuntime("docker", [info]);
      await withEngine([runtime], async (engine, logger) => {
        const targets = engine.resolveNames(["web"]);
        await engine.request(targets, 100);
        await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
        await until(() => runtime.count(method, "web") === 1);
        const status = runtime.containers.get("id-web")!.status;
        assert.equal(status, method === "stop" ? "stopped" : "paused");
        assert.ok(
          logger.lines.some((line) =>
            line.includes(method === "stop" ? "Stopped web" : "Paused web")
          ),
        );
        if (method === "pause") {
          await engine.request(targets, 60_000);
          await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
          assert.equal(runtime.count("unpause", "web"), 1, "a paused instance wakes by unpause");
          assert.equal(runtime.count("start", "web"), 1);
        }
      });
    });
  }
});

Deno.test("A wake that races a sleep ends awake", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveNames(["web"]);
    await engine.request(targets, 50);
    await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
    runtime.powerDelayMs = 200; // The stop is under way while the next request comes.
    await until(() => runtime.count("stop", "web") === 1);
    assert.equal(targets[0].instance.ready, false, "not ready while it goes to sleep");
    await engine.request(targets, 60_000);
    await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
    assert.deepEqual(runtime.calls.filter((c) => c.endsWith(" web") && !c.startsWith("inspect")), [
      "start web",
      "stop web",
      "start web",
    ]);
    assert.equal(runtime.containers.get("id-web")!.status, "running");
  });
});

Deno.test("A failed sleep is retried with backoff and reported, then succeeds", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  let failures = 1;
  runtime.beforePower = (action) => {
    if (action === "stop" && failures-- > 0) throw new Error("daemon said no");
  };
  await withEngine([runtime], async (engine, logger) => {
    const targets = engine.resolveNames(["web"]);
    await engine.request(targets, 30);
    await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
    await until(() =>
      logger.lines.some((line) => line.startsWith("error Cannot put web to sleep"))
    );
    assert.equal(runtime.containers.get("id-web")!.status, "running");
    assert.match(
      engine.metrics.render(),
      /idlewatcher_runtime_errors_total\{instance="docker\/id-web"\} 1/,
    );
    await until(() => runtime.containers.get("id-web")!.status === "stopped", 5_000);
    assert.equal(runtime.count("stop", "web"), 2);
  });
});

Deno.test("A wake starts dependencies first, and independent ones concurrently", async () => {
  const compose = (name: string, dependsOn: string[] = []) =>
    fakeInfo(name, { composeProject: "shop", composeService: name, dependsOn, groups: ["shop"] });
  const runtime = new FakeRuntime("docker", [
    compose("web", ["api"]),
    compose("api", ["db", "cache"]),
    compose("db"),
    compose("cache"),
  ]);
  runtime.powerDelayMs = 30;
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveGroup("shop");
    await engine.request(targets, 60_000);
    await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
    const starts = runtime.calls.filter((call) => call.startsWith("start "));
    assert.equal(starts.length, 4);
    assert.ok(starts.indexOf("start api") > starts.indexOf("start db"));
    assert.ok(starts.indexOf("start api") > starts.indexOf("start cache"));
    assert.equal(starts.at(-1), "start web");
    assert.deepEqual(new Set(starts.slice(0, 2)), new Set(["start db", "start cache"]));
  });
});

Deno.test("A dependency cycle does not hold a wake back", async () => {
  const compose = (name: string, dependsOn: string[]) =>
    fakeInfo(name, { composeProject: "p", composeService: name, dependsOn });
  const runtime = new FakeRuntime("docker", [compose("a", ["b"]), compose("b", ["a"])]);
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveNames(["a", "b"]);
    await engine.request(targets, 60_000);
    await engine.waitReady(targets, { signal: AbortSignal.timeout(3_000) });
  });
});

Deno.test("IdleEngine.resolveNames() reads optional:, ENGINE/name and refuses what it does not manage", async (t) => {
  const docker = new FakeRuntime("docker", [fakeInfo("web"), fakeInfo("both")]);
  const podman = new FakeRuntime("podman", [fakeInfo("both"), fakeInfo("db")]);
  await withEngine([docker, podman], async (engine) => {
    await t.step("optional: marks the instance", () => {
      const [web, db] = engine.resolveNames(["web", "optional:db"]);
      assert.equal(web.optional, false);
      assert.equal(db.optional, true);
      assert.equal(db.instance.runtime.name, "podman");
    });
    await t.step("a name on two engines is ambiguous and names both", () => {
      assert.throws(() => engine.resolveNames(["both"]), (error: unknown) => {
        assert.ok(error instanceof AmbiguousInstanceError);
        assert.deepEqual(error.candidates, ["docker/both", "podman/both"]);
        return true;
      });
    });
    await t.step("ENGINE/name picks one", () => {
      const [target] = engine.resolveNames(["podman/both"]);
      assert.equal(target.instance.runtime, podman);
    });
    await t.step("unknown names and groups", () => {
      for (const name of ["nope", "../web", "docker/../web", "web/", "/web", "docker/nope"]) {
        assert.throws(() => engine.resolveNames([name]), UnknownInstanceError, name);
      }
      assert.throws(() => engine.resolveGroup("nope"), (error: unknown) => {
        assert.ok(error instanceof UnknownGroupError);
        assert.deepEqual(error.availableGroups, ["default"]);
        return true;
      });
    });
    assert.equal(docker.calls.filter((c) => !c.startsWith("list")).length, 0);
    assert.equal(podman.calls.filter((c) => !c.startsWith("list")).length, 0);
  });
});

Deno.test("The ready path makes no runtime request", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveNames(["web"]);
    await engine.request(targets, 60_000);
    await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
    const calls = runtime.calls.length;
    const runtimeRequests = engine.metrics.runtimeRequests;
    for (let i = 0; i < 100; i++) await engine.request(engine.resolveNames(["web"]), 60_000);
    assert.equal(runtime.calls.length, calls);
    assert.equal(engine.metrics.runtimeRequests, runtimeRequests);
  });
});

Deno.test("An instance with a healthcheck is ready only once healthy", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web", { healthcheck: true })]);
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveNames(["web"]);
    await engine.request(targets, 60_000);
    await until(() => targets[0].instance.status === "running");
    assert.equal(targets[0].instance.ready, false);
    assert.equal(targets[0].instance.apiStatus().status, "starting");
    runtime.health("web", "unhealthy");
    assert.equal(targets[0].instance.ready, false);
    runtime.health("web", "healthy");
    await engine.waitReady(targets, { signal: AbortSignal.timeout(1_000) });
  });
});

Deno.test("A runtime that does not run healthchecks has them run through its API, or falls back with a warning", async (t) => {
  await t.step("run through the API", async () => {
    const runtime = new FakeRuntime("podman", [fakeInfo("web", { healthcheck: true })]);
    let runs = 0;
    runtime.runHealthcheck = () => Promise.resolve(++runs >= 3 ? "healthy" : "starting");
    await withEngine([runtime], async (engine) => {
      const targets = engine.resolveNames(["web"]);
      await engine.request(targets, 60_000);
      await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
      assert.equal(runs, 3);
    });
  });
  await t.step("fallback: ready when running, with a warning", async () => {
    const runtime = new FakeRuntime("podman", [fakeInfo("web", { healthcheck: true })]);
    runtime.runHealthcheck = () => Promise.reject(new Error("no healthcheck endpoint"));
    await withEngine([runtime], async (engine, logger) => {
      const targets = engine.resolveNames(["web"]);
      await engine.request(targets, 60_000);
      await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
      assert.ok(
        logger.lines.some((line) => line.startsWith("warn Cannot run the healthcheck of web")),
      );
    });
  });
});

Deno.test("A readiness probe holds ready back until its port accepts", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close(); // Nothing listens yet.
  const runtime = new FakeRuntime("docker", [
    fakeInfo("web", { probe: { kind: "tcp", hostname: "127.0.0.1", port } }),
  ]);
  await withEngine([runtime], async (engine) => {
    const targets = engine.resolveNames(["web"]);
    await engine.request(targets, 60_000);
    await until(() => targets[0].instance.status === "running");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(targets[0].instance.ready, false, "running, but the port is closed");
    using listener = Deno.listen({ hostname: "127.0.0.1", port });
    const accepting = (async () => {
      for await (const connection of listener) connection.close();
    })().catch(() => {});
    await engine.waitReady(targets, { signal: AbortSignal.timeout(5_000) });
    listener.close();
    await accepting;
  });
});

Deno.test("State follows events: a stop by someone else is seen, a start by someone else gets the default session", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  await withEngine([runtime], async (engine) => {
    const [target] = engine.resolveNames(["web"]);
    runtime.external("web", "running");
    await until(() => target.instance.status === "running");
    assert.ok(target.instance.sessionUntil > Date.now() + 50_000, "the default session (60 s)");
    runtime.external("web", "stopped");
    await until(() => target.instance.status === "stopped");
    assert.equal(target.instance.ready, false);
    assert.equal(runtime.count("inspect"), 0, "events, not reads");
  }, { defaultSessionMs: 60_000 });
});

Deno.test("An instance created after start is discovered, a removed one is forgotten", async () => {
  const runtime = new FakeRuntime("docker", []);
  await withEngine([runtime], async (engine) => {
    assert.throws(() => engine.resolveNames(["late"]), UnknownInstanceError);
    runtime.add(fakeInfo("late"));
    const [late] = engine.resolveNames(["late"]);
    runtime.containers.delete("id-late");
    late.instance.onEvent({
      type: "docker",
      actorId: "id-late",
      actorName: "late",
      actorAttributes: {},
      action: "destroyed",
      time: new Date(),
    });
    await until(() => engine.instances().length === 0);
    assert.throws(() => engine.resolveNames(["late"]), UnknownInstanceError);
  });
});

Deno.test("Sessions survive a restart of the engine", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "iw-state-" });
  try {
    await t.step("an instance in use stays up until its session ends, then stops", async () => {
      const runtime = new FakeRuntime("docker", [fakeInfo("web"), fakeInfo("idle")]);
      await withEngine([runtime], async (engine) => {
        await engine.request(engine.resolveNames(["web"]), 1_500);
        await engine.request(engine.resolveNames(["idle"]), 300);
        await engine.waitReady(engine.resolveNames(["web", "idle"]), {
          signal: AbortSignal.timeout(5_000),
        });
      }, { stateDir });
      // The engine is gone (a crash keeps the same file: writes are atomic and done before answering).
      const text = await Deno.readTextFile(`${stateDir}/sessions.json`);
      assert.match(text, /"docker\/id-web"/);
      const started = Date.now();
      await withEngine([runtime], async () => {
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(runtime.count("stop", "web"), 0, "in use: not stopped");
        await until(() => runtime.count("stop", "idle") === 1, 3_000);
        await until(() => runtime.count("stop", "web") === 1, 5_000);
        assert.ok(Date.now() - started >= 1_000, "stopped at the end of its session, not before");
      }, { stateDir });
    });
    await t.step("a running instance without a session gets the default duration", async () => {
      const runtime = new FakeRuntime("docker", [
        fakeInfo("other", { state: { status: "running" } }),
      ]);
      await withEngine([runtime], async (engine) => {
        const [target] = engine.resolveNames(["other"]);
        assert.ok(target.instance.sessionUntil > Date.now() + 1_000);
        await until(() => runtime.count("stop", "other") === 1, 5_000);
      }, { stateDir, defaultSessionMs: 1_500 });
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
