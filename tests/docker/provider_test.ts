import assert from "node:assert/strict";
import { newDockerProvider } from "../../docker/mod.ts";
import { ApiError, NotFoundError } from "../../errors.ts";
import type { Provider } from "../../provider.ts";
import { EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { FaultProxy } from "../_fakes/fault_proxy.ts";
import { eventually, RecordingLogger, SCRIPTS, waitUntilReady } from "./_containers.ts";

Deno.test("DockerProvider runs a container through start, pause, unpause, stop and kill", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("round-trip");
      await api.createContainer({ name, cmd: ["sh", "-c", SCRIPTS.exitsOnTerm] });
      const logger = new RecordingLogger();
      using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, name);
      const observed =
        async () => [await provider.containerStatus(), (await api.inspect(name)).State.Status];

      assert.deepEqual(await observed(), ["stopped", "created"]);
      await provider.containerStart();
      assert.deepEqual(await observed(), ["running", "running"]);
      await provider.containerPause();
      assert.deepEqual(await observed(), ["paused", "paused"]);
      await provider.containerUnpause();
      assert.deepEqual(await observed(), ["running", "running"]);
      await provider.containerStop("", 2);
      assert.deepEqual(await observed(), ["stopped", "exited"]);
      await provider.containerStart();
      assert.deepEqual(await observed(), ["running", "running"]);
      await provider.containerKill("");
      assert.equal(await eventually(() => provider.containerStatus(), "stopped"), "stopped");
      assert.equal((await api.inspect(name)).State.ExitCode, 137);

      assert.ok(
        logger.calls.every((call) => call.startsWith("GET /_ping") || call.includes(" /v1.41/")),
      );
      assert.equal(logger.lines.filter((line) => line.level === "error").length, 0);
    });
  }
});

Deno.test("DockerProvider calls succeed when the container already is in that state", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const id = await api.createContainer({
        name: uniqueName("idempotent"),
        cmd: ["sh", "-c", SCRIPTS.exitsOnTerm],
      });
      const logger = new RecordingLogger();
      using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, id);
      const lastCall = (verb: string) =>
        logger.calls.findLast((call) => call.includes(`/${verb} `));

      await provider.containerStart();
      await provider.containerStart();
      assert.match(lastCall("start") ?? "", / 304$/);
      assert.equal(await provider.containerStatus(), "running");

      await provider.containerUnpause();
      assert.match(lastCall("unpause") ?? "", / (409|500)$/, "a conflict, decided by inspecting");
      assert.equal(await provider.containerStatus(), "running");

      await provider.containerPause();
      await provider.containerPause();
      assert.match(lastCall("pause") ?? "", / (409|500)$/);
      assert.equal(await provider.containerStatus(), "paused");
      await provider.containerUnpause();

      await provider.containerStop("", 2);
      await provider.containerStop("", 2);
      assert.match(lastCall("stop?t=2") ?? "", / 304$/);
      assert.equal(await provider.containerStatus(), "stopped");

      await provider.containerKill("");
      assert.match(lastCall("kill") ?? "", / (409|500)$/);
      await provider.containerStop("SIGHUP", 2);
      assert.equal(await provider.containerStatus(), "stopped");
      assert.equal(logger.lines.filter((line) => line.level === "error").length, 0);
    });
  }
});

Deno.test("containerStop() and containerKill() end a paused container", async (t) => {
  for (const engine of requireEngines(t)) {
    // The container exits 0 on SIGHUP only. dockerd thaws a paused container after a kill with
    // its stop signal (SIGTERM here), not after other signals; Podman after none.
    const cases: [string, (provider: Provider) => Promise<void>, number][] = [
      ["containerStop() with the container's own signal", (p) => p.containerStop("", 1), 137],
      ["containerStop() with a signal", (p) => p.containerStop("SIGHUP", 30), 0],
      ["containerKill() with SIGKILL", (p) => p.containerKill(""), 137],
      ["containerKill() with a signal", (p) => p.containerKill("SIGHUP"), 0],
    ];
    for (const [name, end, exitCode] of cases) {
      await t.step(`${engine.name}, ${name}`, async () => {
        await using api = new EngineApi(engine);
        const id = await api.createContainer({
          name: uniqueName("paused"),
          cmd: ["sh", "-c", SCRIPTS.exitsOnHup],
          stopSignal: "SIGTERM",
        });
        const logger = new RecordingLogger();
        using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, id);
        await provider.containerStart();
        await waitUntilReady(engine, id);
        await provider.containerPause();
        assert.equal(await provider.containerStatus(), "paused");

        await end(provider);
        assert.equal(await eventually(() => provider.containerStatus(), "stopped"), "stopped");
        assert.equal((await api.inspect(id)).State.ExitCode, exitCode);
        assert.equal(logger.lines.filter((line) => line.level === "error").length, 0);
      });
    }
  }
});

Deno.test("DockerProvider calls reject with an ApiError when the state forbids them", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("forbidden");
      await api.createContainer({ name, cmd: ["sh", "-c", SCRIPTS.exitsOnTerm] });
      const logger = new RecordingLogger();
      using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, name);
      const conflict = (action: string) => (error: Error) => {
        assert.ok(error instanceof ApiError, String(error));
        assert.equal(error.status, engine.name === "docker" && action !== "unpause" ? 409 : 500);
        assert.equal(error.action, action);
        assert.equal(error.container, name);
        assert.notEqual(error.serverMessage, "");
        assert.ok(
          error.message.startsWith(
            `Cannot ${action} container "${name}": daemon returned ${error.status}: `,
          ),
          error.message,
        );
        return true;
      };

      await assert.rejects(provider.containerPause(), conflict("pause"));
      await assert.rejects(provider.containerUnpause(), conflict("unpause"));
      await provider.containerStart();
      await provider.containerPause();
      await assert.rejects(provider.containerStart(), conflict("start"));
      assert.equal(await provider.containerStatus(), "paused");
      assert.equal(logger.lines.filter((line) => line.level === "error").length, 3);
    });
  }
});

Deno.test("containerStop() delivers a custom signal on API 1.41", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const id = await api.createContainer({
        name: uniqueName("hup"),
        cmd: ["sh", "-c", SCRIPTS.exitsOnHup],
      });
      const logger = new RecordingLogger();
      using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, id);
      await provider.containerStart();
      await waitUntilReady(engine, id);

      await provider.containerStop("SIGHUP", 30);
      assert.equal(await provider.containerStatus(), "stopped");
      // 0 is the HUP handler's exit; without the signal it would be SIGKILL's 137 after 30 s.
      assert.equal((await api.inspect(id)).State.ExitCode, 0);
      assert.ok(
        logger.calls.some((call) =>
          call.endsWith(`/v1.41/containers/${id}/kill?signal=SIGHUP 204`)
        ),
      );
      assert.ok(!logger.calls.some((call) => call.includes("signal=SIGKILL")));
    });
  }
});

Deno.test("containerStop() kills a container that ignores the signal once the timeout passes", async (t) => {
  for (const engine of requireEngines(t)) {
    for (const signal of ["SIGTERM", ""] as const) {
      await t.step(`${engine.name}, signal ${JSON.stringify(signal)}`, async () => {
        await using api = new EngineApi(engine);
        const id = await api.createContainer({
          name: uniqueName("stubborn"),
          cmd: ["sh", "-c", SCRIPTS.ignoresTerm],
        });
        using provider = newDockerProvider({
          socketPath: engine.socketPath,
          logger: new RecordingLogger(),
        }, id);
        await provider.containerStart();
        await waitUntilReady(engine, id);

        await provider.containerStop(signal, 1);
        assert.equal(await provider.containerStatus(), "stopped");
        assert.equal((await api.inspect(id)).State.ExitCode, 137);
      });
    }
  }
});

Deno.test("DockerProvider calls on a missing container reject with a NotFoundError", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      const name = uniqueName("missing");
      const logger = new RecordingLogger();
      using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, name);
      const calls: [string, () => Promise<unknown>][] = [
        ["status", () => provider.containerStatus()],
        ["start", () => provider.containerStart()],
        ["pause", () => provider.containerPause()],
        ["unpause", () => provider.containerUnpause()],
        ["stop", () => provider.containerStop("", 1)],
        ["stop", () => provider.containerStop("SIGHUP", 1)],
        ["kill", () => provider.containerKill("")],
      ];
      for (const [action, call] of calls) {
        await assert.rejects(
          call(),
          (error: Error) =>
            error instanceof NotFoundError && error.action === action && error.container === name &&
            error.message.includes(name),
        );
      }
      // A missing container's status is an answer; the failed power calls are errors.
      const logged = logger.lines.filter((line) => line.level === "error");
      assert.deepEqual(logged.map((line) => line.context.action), calls.slice(1).map(([a]) => a));
    });
  }
});

Deno.test("containerStop() rejects with the caller's reason when the caller aborts", async (t) => {
  for (const engine of requireEngines(t)) {
    // A stop of a container that ignores the signal, with an hour to go: only the abort can end it.
    for (const signal of ["", "SIGTERM"] as const) {
      await t.step(`${engine.name}, signal ${JSON.stringify(signal)}`, async () => {
        await using api = new EngineApi(engine);
        const id = await api.createContainer({
          name: uniqueName("abort"),
          cmd: ["sh", "-c", SCRIPTS.ignoresTerm],
        });
        const logger = new RecordingLogger();
        using provider = newDockerProvider({ socketPath: engine.socketPath, logger }, id);
        await provider.containerStart();
        await waitUntilReady(engine, id);

        const controller = new AbortController();
        const reason = new Error("the caller gave up");
        const timer = setTimeout(() => controller.abort(reason), 300);
        try {
          await assert.rejects(
            provider.containerStop(signal, 3600, { signal: controller.signal }),
            (error) => error === reason,
          );
        } finally {
          clearTimeout(timer);
          // The engine may still be stopping it. Podman 4.3 force-removes a container in its
          // "stopping" state but leaves its processes running, so kill it before the removal.
          await api.kill(id).catch(() => {});
        }
        assert.equal(logger.lines.filter((line) => line.level === "error").length, 0);
      });
    }
  }
});

Deno.test("newDockerProvider() shares one connection with a real engine", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("shared");
      await api.createContainer({ name, cmd: ["sh", "-c", SCRIPTS.exitsOnTerm] });
      await using proxy = await FaultProxy.start(engine.socketPath);
      const logger = new RecordingLogger();
      const first = newDockerProvider({ socketPath: proxy.socketPath, logger }, name);
      const second = newDockerProvider({ socketPath: proxy.socketPath, logger }, name);
      await first.containerStart();
      assert.equal(await second.containerStatus(), "running");
      first.close();
      await second.containerStop("", 1);
      assert.equal(await second.containerStatus(), "stopped");
      assert.equal(proxy.accepted, 1);
      second.close();
      await proxy.drained();
    });
  }
});
