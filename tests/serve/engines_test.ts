import assert from "node:assert/strict";
import { EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import {
  countStarts,
  createWithHealthcheck,
  healthyAfter,
  QUICK_STOP_CMD,
  serverOn,
  waitForState,
} from "./_containers.ts";
import { until } from "./_fake_runtime.ts";

const ENABLED = { "sablier.enable": "true" };

Deno.test("serve on a real engine: opt-in, wake on request, sleep when the session ends", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const web = uniqueName("serve-web");
      const hidden = uniqueName("serve-hidden");
      const webId = await api.createContainer({ name: web, cmd: QUICK_STOP_CMD, labels: ENABLED });
      const hiddenId = await api.createContainer({
        name: hidden,
        cmd: QUICK_STOP_CMD,
        labels: { "sablier.enable": "false" },
      });
      const { server, base } = await serverOn([engine]);
      try {
        const before = server.engine.metrics.runtimeRequests;
        const refused = await fetch(`${base}/api/strategies/blocking?names=${hidden}&timeout=5s`);
        assert.equal(refused.status, 404, "not opted in: answered as unknown");
        await refused.body?.cancel();
        assert.equal(server.engine.metrics.runtimeRequests, before, "and no runtime request");
        assert.equal((await api.inspect(hiddenId)).State.Running, false, "never started");

        const first = await fetch(
          `${base}/api/strategies/dynamic?names=${web}&session_duration=2s`,
        );
        await first.body?.cancel();
        assert.equal(first.headers.get("x-sablier-session-status"), "not-ready");
        const ready = await fetch(
          `${base}/api/strategies/blocking?names=${web}&session_duration=2s&timeout=30s`,
        );
        assert.equal(ready.status, 200);
        assert.equal((await ready.json()).session.status, "ready");
        assert.equal((await api.inspect(webId)).State.Running, true);

        const readyRequests = server.engine.metrics.runtimeRequests;
        for (let i = 0; i < 20; i++) {
          const again = await fetch(
            `${base}/api/strategies/dynamic?names=${web}&session_duration=2s`,
          );
          await again.body?.cancel();
          assert.equal(again.headers.get("x-sablier-session-status"), "ready");
        }
        assert.equal(
          server.engine.metrics.runtimeRequests,
          readyRequests,
          "the ready path asks nothing",
        );

        await waitForState(api, webId, (state) => !state.Running, 30_000);
      } finally {
        await server.close();
      }
    });
  }
});

Deno.test("serve on a real engine: idlewatcher.sleep=pause pauses, and a request unpauses", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("serve-pause");
      const id = await api.createContainer({
        name,
        cmd: QUICK_STOP_CMD,
        labels: { ...ENABLED, "idlewatcher.sleep": "pause" },
      });
      const { server, base } = await serverOn([engine]);
      try {
        const woke = await fetch(
          `${base}/api/strategies/blocking?names=${name}&session_duration=1s`,
        );
        assert.equal(woke.status, 200);
        await woke.body?.cancel();
        await waitForState(api, id, (state) => state.Paused, 20_000);
        const again = await fetch(
          `${base}/api/strategies/blocking?names=${name}&session_duration=1m`,
        );
        assert.equal((await again.json()).session.status, "ready");
        const state = (await api.inspect(id)).State;
        assert.equal(state.Running && !state.Paused, true);
      } finally {
        await server.close();
      }
    });
  }
});

Deno.test("serve on a real engine: a container with a healthcheck is ready only when healthy", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("serve-health");
      const id = await createWithHealthcheck(engine, {
        name,
        cmd: healthyAfter(2),
        labels: ENABLED,
      });
      const { server, base } = await serverOn([engine]);
      try {
        const first = await fetch(`${base}/api/strategies/dynamic?names=${name}`);
        await first.body?.cancel();
        assert.equal(first.headers.get("x-sablier-session-status"), "not-ready");
        await waitForState(api, id, (state) => state.Running, 20_000);
        const early = await fetch(`${base}/api/strategies/dynamic?names=${name}`);
        await early.body?.cancel();
        assert.equal(
          early.headers.get("x-sablier-session-status"),
          "not-ready",
          "running, not yet healthy",
        );
        const ready = await fetch(`${base}/api/strategies/blocking?names=${name}&timeout=30s`);
        assert.equal(ready.status, 200);
        assert.equal((await ready.json()).session.status, "ready");
        if (engine.name === "docker") {
          const state = (await api.inspect(id)).State as { Health?: { Status: string } };
          assert.equal(state.Health?.Status, "healthy");
        }
      } finally {
        await server.close();
        await api.remove(id);
      }
    });
  }
});

Deno.test("serve on a real engine: 1,000 concurrent requests make exactly one start", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("serve-herd");
      const id = await api.createContainer({ name, cmd: QUICK_STOP_CMD, labels: ENABLED });
      const { server, base } = await serverOn([engine]);
      const since = Date.now() / 1000 - 1;
      try {
        const statuses = await Promise.all(Array.from({ length: 1000 }, async () => {
          const response = await fetch(`${base}/api/strategies/dynamic?names=${name}`);
          await response.body?.cancel();
          return response.status;
        }));
        assert.deepEqual(new Set(statuses), new Set([200]));
        await waitForState(api, id, (state) => state.Running, 20_000);
        assert.equal(await countStarts(engine, id, since), 1);
      } finally {
        await server.close();
      }
    });
  }
});

Deno.test("serve on a real engine: containers created, started or stopped by others are seen through events", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const { server, base } = await serverOn([engine], { sessionMs: 60_000 });
      try {
        const name = uniqueName("serve-late");
        const id = await api.createContainer({ name, cmd: QUICK_STOP_CMD, labels: ENABLED });
        const deadline = Date.now() + 10_000;
        while (server.engine.instances().every((i) => i.name !== name)) {
          assert.ok(Date.now() < deadline, "discovered from its create event");
          await new Promise((r) => setTimeout(r, 50));
        }
        const [instance] = server.engine.instances().filter((i) => i.name === name);
        await api.start(id);
        await until(() => instance.status === "running", 20_000);
        assert.ok(
          instance.sessionUntil > Date.now() + 30_000,
          "found running: the default session",
        );
        await api.stop(id, 5);
        await until(() => (instance.status as string) === "stopped", 20_000);
        const page = await fetch(`${base}/api/strategies/dynamic?names=${name}`);
        await page.body?.cancel();
        assert.equal(page.status, 200);
      } finally {
        await server.close();
      }
    });
  }
});

Deno.test("serve on Docker and Podman at once: a name on both is 409, ENGINE/name picks one", async (t) => {
  const both = requireEngines(t);
  if (both.length < 2) return;
  const name = uniqueName("serve-twin");
  await using docker = new EngineApi(both[0]);
  await using podman = new EngineApi(both[1]);
  await docker.createContainer({ name, cmd: QUICK_STOP_CMD, labels: ENABLED });
  const podmanId = await podman.createContainer({ name, cmd: QUICK_STOP_CMD, labels: ENABLED });
  const { server, base } = await serverOn(both);
  try {
    const conflict = await fetch(`${base}/api/strategies/dynamic?names=${name}`);
    assert.equal(conflict.status, 409);
    const problem = await conflict.json();
    assert.deepEqual(problem.candidates, [`docker/${name}`, `podman/${name}`]);
    const picked = await fetch(`${base}/api/strategies/blocking?names=podman/${name}&timeout=30s`);
    assert.equal(picked.status, 200);
    await picked.body?.cancel();
    assert.equal((await podman.inspect(podmanId)).State.Running, true);
  } finally {
    await server.close();
  }
});
