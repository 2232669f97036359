import assert from "node:assert/strict";
import { newDockerProvider } from "../../docker/mod.ts";
import { ApiError, InvalidArgumentError, NotFoundError, ProviderError } from "../../errors.ts";
import type { ContainerSignal } from "../../provider.ts";
import { RecordingLogger } from "./_containers.ts";
import { type FakeRoute, startFakeEngine } from "../_fakes/docker_engine.ts";

const unix = { ignore: Deno.build.os === "windows" };

/** The requests after the version negotiation, as `"<METHOD> <target>"`. */
function calls(requests: { method: string; target: string }[]): string[] {
  return requests.filter((r) => r.target !== "/_ping").map((r) => `${r.method} ${r.target}`);
}

Deno.test({
  ...unix,
  name: "containerStop() passes the signal to the daemon from API 1.42 on",
  async fn(t) {
    await using fake = await startFakeEngine({ apiVersion: "1.43" });
    using provider = newDockerProvider(
      { socketPath: fake.path, logger: new RecordingLogger() },
      "web",
    );

    await t.step("with a signal", async () => {
      fake.requests.length = 0;
      await provider.containerStop("SIGHUP", 2);
      assert.deepEqual(calls(fake.requests), ["POST /v1.43/containers/web/stop?t=2&signal=SIGHUP"]);
    });

    await t.step("without one", async () => {
      fake.requests.length = 0;
      await provider.containerStop("", 0);
      assert.deepEqual(calls(fake.requests), ["POST /v1.43/containers/web/stop?t=0"]);
    });
  },
});

Deno.test({
  ...unix,
  name: "containerStop() on API 1.41 sends the signal with kill, waits, then kills",
  async fn(t) {
    let waits = 0;
    let waitForever = false;
    let killAnswer: Response | undefined;
    const route: FakeRoute = (_request, target) => {
      if (target.includes("/kill") && killAnswer !== undefined) return killAnswer;
      if (!target.includes("/wait")) return undefined;
      waits++;
      return waitForever && waits === 1 ? fake.hang() : Response.json({ StatusCode: 0 });
    };
    await using fake = await startFakeEngine({ apiVersion: "1.41", route });
    using provider = newDockerProvider(
      { socketPath: fake.path, logger: new RecordingLogger() },
      "web",
    );
    const reset = () => {
      fake.requests.length = 0;
      waits = 0;
    };

    await t.step("the container exits on the signal", async () => {
      reset();
      await provider.containerStop("SIGHUP", 5);
      assert.deepEqual(calls(fake.requests), [
        "POST /v1.41/containers/web/kill?signal=SIGHUP",
        "GET /v1.41/containers/web/json",
        "POST /v1.41/containers/web/wait?condition=not-running",
      ]);
    });

    await t.step("the container outlives the timeout", async () => {
      reset();
      waitForever = true;
      await provider.containerStop("INT", 1);
      waitForever = false;
      assert.deepEqual(calls(fake.requests), [
        "POST /v1.41/containers/web/kill?signal=INT",
        "GET /v1.41/containers/web/json",
        "POST /v1.41/containers/web/wait?condition=not-running",
        "POST /v1.41/containers/web/kill?signal=SIGKILL",
        "POST /v1.41/containers/web/wait?condition=not-running",
      ]);
    });

    await t.step("a zero timeout kills at once", async () => {
      reset();
      await provider.containerStop("QUIT", 0);
      assert.deepEqual(calls(fake.requests), [
        "POST /v1.41/containers/web/kill?signal=QUIT",
        "GET /v1.41/containers/web/json",
        "POST /v1.41/containers/web/kill?signal=SIGKILL",
        "POST /v1.41/containers/web/wait?condition=not-running",
      ]);
    });

    await t.step("an already stopped container", async () => {
      reset();
      fake.state = "exited";
      killAnswer = Response.json({ message: "Container web is not running" }, { status: 409 });
      await provider.containerStop("SIGTERM", 5);
      killAnswer = undefined;
      assert.deepEqual(calls(fake.requests), [
        "POST /v1.41/containers/web/kill?signal=SIGTERM",
        "GET /v1.41/containers/web/json",
      ]);
    });

    await t.step("no signal leaves the stop to the daemon", async () => {
      reset();
      await provider.containerStop("", 3);
      assert.deepEqual(calls(fake.requests), ["POST /v1.41/containers/web/stop?t=3"]);
    });
  },
});

Deno.test({
  ...unix,
  name: "containerKill() sends signal= only when a signal is given",
  async fn() {
    await using fake = await startFakeEngine();
    using provider = newDockerProvider(
      { socketPath: fake.path, logger: new RecordingLogger() },
      "web",
    );
    await provider.containerKill("");
    await provider.containerKill("SIGINT");
    assert.deepEqual(calls(fake.requests), [
      "POST /v1.43/containers/web/kill",
      "POST /v1.43/containers/web/kill?signal=SIGINT",
      "GET /v1.43/containers/web/json",
    ]);
  },
});

Deno.test({
  ...unix,
  name: "containerStop() and containerKill() unpause a paused container to end it",
  async fn(t) {
    // Podman's answers: stop of a paused container is refused, a signal other than SIGKILL waits.
    // A stuck container stays paused through an unpause.
    let stuck = false;
    const route: FakeRoute = (request, target) => {
      if (request.method !== "POST") return undefined;
      if (target.includes("/unpause")) fake.state = stuck ? "paused" : "running";
      else if (target.includes("/stop") && fake.state === "paused") {
        return Response.json({ message: "container state improper" }, { status: 500 });
      } else if (target.includes("/stop") || target.endsWith("/kill")) fake.state = "exited";
      return undefined;
    };
    await using fake = await startFakeEngine({ apiVersion: "1.41", route });
    const logger = new RecordingLogger();
    using provider = newDockerProvider({ socketPath: fake.path, logger }, "web");
    const pausedRun = async (call: () => Promise<void>) => {
      fake.state = "paused";
      fake.requests.length = 0;
      await call();
      return calls(fake.requests);
    };

    await t.step("a stop refused while paused is sent again after an unpause", async () => {
      assert.deepEqual(await pausedRun(() => provider.containerStop("", 1)), [
        "POST /v1.41/containers/web/stop?t=1",
        "GET /v1.41/containers/web/json",
        "POST /v1.41/containers/web/unpause",
        "POST /v1.41/containers/web/stop?t=1",
      ]);
      assert.equal(fake.state, "exited");
    });

    await t.step("a signal is followed by an unpause", async () => {
      assert.deepEqual(await pausedRun(() => provider.containerKill("SIGTERM")), [
        "POST /v1.41/containers/web/kill?signal=SIGTERM",
        "GET /v1.41/containers/web/json",
        "POST /v1.41/containers/web/unpause",
      ]);
      assert.equal(fake.state, "running");
    });

    await t.step("SIGKILL needs no unpause", async () => {
      assert.deepEqual(await pausedRun(() => provider.containerKill("")), [
        "POST /v1.41/containers/web/kill",
      ]);
      assert.equal(fake.state, "exited");
    });

    await t.step("a stop refused once more is an ApiError", async () => {
      stuck = true;
      const requests = await pausedRun(() =>
        assert.rejects(
          provider.containerStop("", 1),
          (error) => error instanceof ApiError && error.status === 500 && error.action === "stop",
        )
      );
      stuck = false;
      assert.deepEqual(requests, [
        "POST /v1.41/containers/web/stop?t=1",
        "GET /v1.41/containers/web/json",
        "POST /v1.41/containers/web/unpause",
        "POST /v1.41/containers/web/stop?t=1",
        "GET /v1.41/containers/web/json",
      ]);
    });
  },
});

Deno.test({
  ...unix,
  name: "newDockerProvider() refuses bad ids before any request",
  async fn(t) {
    await using fake = await startFakeEngine();
    const bad = [
      "",
      ".",
      "..",
      "../../images",
      "a/b",
      "a?b",
      "a#b",
      "x/../../images",
      "a\nb",
      "a\u0000b",
    ];
    for (const id of bad) {
      await t.step(JSON.stringify(id), () => {
        assert.throws(
          () => newDockerProvider({ socketPath: fake.path, logger: new RecordingLogger() }, id),
          InvalidArgumentError,
        );
      });
    }
    assert.equal(fake.requests.length, 0);

    await t.step("an encoded-looking id stays one literal path segment", async () => {
      using provider = newDockerProvider(
        { socketPath: fake.path, logger: new RecordingLogger() },
        "%2e%2e",
      );
      await provider.containerStatus();
      assert.deepEqual(calls(fake.requests), ["GET /v1.43/containers/%252e%252e/json"]);
    });
  },
});

Deno.test({
  ...unix,
  name: "containerStop() and containerKill() refuse bad timeouts and signals before any request",
  async fn(t) {
    await using fake = await startFakeEngine();
    const logger = new RecordingLogger();
    using provider = newDockerProvider({ socketPath: fake.path, logger }, "web");
    const bad: [string, () => Promise<void>][] = [
      ["a negative timeout", () => provider.containerStop("SIGTERM", -1)],
      ["a fractional timeout", () => provider.containerStop("SIGTERM", 1.5)],
      ["NaN", () => provider.containerStop("SIGTERM", NaN)],
      ["a string timeout", () => provider.containerStop("SIGTERM", "10" as unknown as number)],
      ["an unknown stop signal", () => provider.containerStop("SIGUSR1" as ContainerSignal, 1)],
      ["a lowercase kill signal", () => provider.containerKill("sigkill" as ContainerSignal)],
    ];
    for (const [what, call] of bad) {
      await t.step(what, async () => {
        await assert.rejects(call(), InvalidArgumentError);
      });
    }
    assert.equal(fake.requests.length, 0);
    // The caller gets the error; it is not a failure to report.
    assert.equal(logger.lines.filter((line) => line.level === "error").length, 0);
  },
});

Deno.test({
  ...unix,
  name:
    "container calls succeed on a conflict only when the container already is in the target state",
  async fn(t) {
    let conflict: Response | undefined;
    const route: FakeRoute = (request) => request.method === "POST" ? conflict : undefined;
    await using fake = await startFakeEngine({ apiVersion: "1.41", route });
    using provider = newDockerProvider(
      { socketPath: fake.path, logger: new RecordingLogger() },
      "web",
    );
    const docker409 = (message: string) => Response.json({ message }, { status: 409 });
    const podman500 = (message: string) =>
      Response.json({
        cause: "container state improper",
        message: `${message}: container state improper`,
        response: 500,
      }, { status: 500 });

    const cases: [string, () => Promise<void>, () => Response, string, "ok" | number][] = [
      [
        "pause a paused one (Docker)",
        () => provider.containerPause(),
        () => docker409("already paused"),
        "paused",
        "ok",
      ],
      [
        "pause a paused one (Podman)",
        () => provider.containerPause(),
        () => podman500("already paused"),
        "paused",
        "ok",
      ],
      [
        "pause a stopped one",
        () => provider.containerPause(),
        () => docker409("is not running"),
        "exited",
        409,
      ],
      [
        "unpause a running one",
        () => provider.containerUnpause(),
        () => podman500("is not paused"),
        "running",
        "ok",
      ],
      [
        "unpause a stopped one",
        () => provider.containerUnpause(),
        () => podman500("is not paused"),
        "exited",
        500,
      ],
      [
        "start a paused one",
        () => provider.containerStart(),
        () => docker409("cannot start a paused container"),
        "paused",
        409,
      ],
      [
        "kill a stopped one",
        () => provider.containerKill("SIGKILL"),
        () => docker409("is not running"),
        "exited",
        "ok",
      ],
      [
        "stop a paused one (Podman)",
        () => provider.containerStop("", 1),
        () => podman500("is running or paused"),
        "paused",
        500,
      ],
    ];
    for (const [what, call, answer, state, expected] of cases) {
      await t.step(what, async () => {
        conflict = answer();
        fake.state = state;
        fake.requests.length = 0;
        if (expected === "ok") {
          await call();
        } else {
          await assert.rejects(call(), (error: Error) => {
            assert.ok(error instanceof ApiError);
            assert.equal(error.status, expected);
            assert.match(error.serverMessage, /./);
            assert.match(
              error.message,
              new RegExp(`^Cannot \\w+ container "web": daemon returned ${expected}: `),
            );
            return true;
          });
        }
        assert.equal(
          calls(fake.requests)[1],
          "GET /v1.41/containers/web/json",
          "decided by inspecting",
        );
      });
    }
  },
});

Deno.test({
  ...unix,
  name: "container calls carry the daemon's message, the action and the container",
  async fn(t) {
    await using fake = await startFakeEngine({
      route: (_request, target) =>
        target.includes("/gone/")
          ? Response.json({ message: "No such container: gone" }, { status: 404 })
          : target.includes("/broken/")
          ? new Response("upstream exploded\n", { status: 502 })
          : undefined,
    });
    const logger = new RecordingLogger();

    await t.step("404 is a NotFoundError", async () => {
      using provider = newDockerProvider({ socketPath: fake.path, logger }, "gone");
      await assert.rejects(provider.containerStart(), (error: Error) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(
          error.message,
          'Cannot start container "gone": daemon returned 404: No such container: gone',
        );
        assert.equal(error.runtime, "docker");
        assert.equal(error.action, "start");
        assert.equal(error.container, "gone");
        return true;
      });
      await assert.rejects(provider.containerStatus(), NotFoundError);
    });

    await t.step("another status is an ApiError", async () => {
      using provider = newDockerProvider({ socketPath: fake.path, logger }, "broken");
      await assert.rejects(
        provider.containerPause(),
        (error: Error) =>
          error instanceof ApiError && error.status === 502 &&
          error.serverMessage === "upstream exploded" &&
          error.action === "pause",
      );
    });
  },
});

Deno.test({
  ...unix,
  name: "containerStatus() maps each state and rejects only when it cannot read one",
  async fn(t) {
    let body: string | undefined;
    await using fake = await startFakeEngine({
      route: (request) =>
        request.method === "GET" && body !== undefined
          ? new Response(body, { status: 200 })
          : undefined,
    });
    using provider = newDockerProvider(
      { socketPath: fake.path, logger: new RecordingLogger() },
      "web",
    );
    const expected: Record<string, string> = {
      running: "running",
      restarting: "running",
      paused: "paused",
      exited: "stopped",
      created: "stopped",
      dead: "error",
      removing: "error",
      stopping: "error",
    };
    for (const [state, status] of Object.entries(expected)) {
      await t.step(`${state} -> ${status}`, async () => {
        fake.state = state;
        assert.equal(await provider.containerStatus(), status);
      });
    }
    for (const bad of ["not json", "{}", '{"State":{"Status":7}}']) {
      await t.step(`rejects ${bad}`, async () => {
        body = bad;
        await assert.rejects(
          provider.containerStatus(),
          (error: Error) => error instanceof ApiError && /has no State.Status/.test(error.message),
        );
        body = undefined;
      });
    }
  },
});

Deno.test({
  ...unix,
  name: "DockerProvider.close() ends the provider's calls and only those",
  async fn(t) {
    await using fake = await startFakeEngine({
      route: (_request, target) => target.includes("/slow/start") ? fake.hang() : undefined,
    });
    const logger = new RecordingLogger();

    await t.step("is idempotent and [Symbol.dispose] is close", () => {
      const provider = newDockerProvider({ socketPath: fake.path, logger }, "web");
      assert.equal(provider[Symbol.dispose], provider.close);
      provider.close();
      provider.close();
      provider[Symbol.dispose]();
    });

    await t.step("later calls reject with a ProviderError", async () => {
      const provider = newDockerProvider({ socketPath: fake.path, logger }, "web");
      provider.close();
      fake.requests.length = 0;
      await assert.rejects(
        provider.containerStart(),
        (error: Error) =>
          error instanceof ProviderError &&
          error.message === 'Cannot start container "web": the provider is closed',
      );
      await assert.rejects(provider.containerStatus(), /the provider is closed/);
      assert.equal(fake.requests.length, 0);
    });

    await t.step("a call in flight rejects; another provider of the client goes on", async () => {
      using other = newDockerProvider({ socketPath: fake.path, logger }, "web");
      const provider = newDockerProvider({ socketPath: fake.path, logger }, "slow");
      await other.containerStatus();
      const starting = provider.containerStart();
      while (!fake.requests.some((r) => r.target.endsWith("/slow/start"))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      provider.close();
      await assert.rejects(starting, /Cannot start container "slow": the provider is closed/);
      assert.equal(await other.containerStatus(), "stopped");
    });
  },
});

Deno.test({
  ...unix,
  name: "container calls reject with the reason of the caller's abort",
  async fn(t) {
    await using fake = await startFakeEngine({
      route: (_request, target) => target.includes("/start") ? fake.hang() : undefined,
    });
    const logger = new RecordingLogger();
    using provider = newDockerProvider({ socketPath: fake.path, logger }, "web");

    await t.step("while the daemon works on it", async () => {
      const controller = new AbortController();
      const reason = new Error("the user went away");
      const starting = provider.containerStart({ signal: controller.signal });
      while (!fake.requests.some((r) => r.target.endsWith("/start"))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      controller.abort(reason);
      await assert.rejects(starting, (error) => error === reason);
      assert.equal(
        logger.lines.filter((line) => line.level === "error").length,
        0,
        "not a failure",
      );
    });

    await t.step("before it starts", async () => {
      fake.requests.length = 0;
      const reason = new Error("never mind");
      await assert.rejects(
        provider.containerStatus({ signal: AbortSignal.abort(reason) }),
        (error) => error === reason,
      );
      assert.equal(fake.requests.length, 0);
    });

    await t.step("the provider still works afterwards", async () => {
      assert.equal(await provider.containerStatus(), "stopped");
    });
  },
});

Deno.test({
  ...unix,
  name: "container calls log each API call at DEBUG and each failure at ERROR",
  async fn() {
    await using fake = await startFakeEngine({
      route: (request) =>
        request.method === "POST" ? Response.json({ message: "nope" }, { status: 403 }) : undefined,
    });
    const logger = new RecordingLogger();
    using provider = newDockerProvider({ socketPath: fake.path, logger }, "web");
    await provider.containerStatus();
    await assert.rejects(provider.containerStart(), ApiError);

    assert.deepEqual(logger.calls, [
      "GET /_ping 200",
      "GET /v1.43/containers/web/json 200",
      "POST /v1.43/containers/web/start 403",
    ]);
    const call = logger.lines.find((line) => line.context.path === "/v1.43/containers/web/json");
    assert.equal(call?.context.action, "status");
    assert.equal(call?.context.container, "web");
    assert.equal(typeof call?.context.ms, "number");
    const errors = logger.lines.filter((line) => line.level === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].msg, 'Cannot start container "web": daemon returned 403: nope');
    assert.equal(errors[0].context.action, "start");
    assert.equal(errors[0].context.container, "web");
  },
});
