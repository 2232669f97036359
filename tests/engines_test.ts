import assert from "node:assert/strict";
import { EngineApi, engines, requireEngines, uniqueName } from "./_engines.ts";
import { withEnv } from "./_env.ts";

Deno.test("EngineApi runs a container on every engine", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const id = await api.createContainer({
        name: uniqueName("engines"),
        cmd: ["sleep", "300"],
        labels: { "idlewatcher.test": "engines" },
      });
      assert.match(id, /^[0-9a-f]{64}$/);

      await api.start(id);
      const running = await api.inspect(id);
      assert.equal(running.Id, id);
      assert.equal(running.State.Status, "running");
      assert.equal(running.Config.Labels?.["idlewatcher.test"], "engines");

      await api.pause(id);
      assert.equal((await api.inspect(id)).State.Status, "paused");
      await api.unpause(id);

      await api.remove(id);
      await assert.rejects(api.inspect(id), /returned 404/);
    });
  }
});

Deno.test("requireEngines() names a missing engine", async (t) => {
  const bogus = "/nonexistent/idlewatcher/docker.sock";

  await t.step("throws in CI", () => {
    withEnv({ CI: "1", IDLEWATCHER_DOCKER_SOCK: bogus }, () => {
      assert.throws(
        () => requireEngines(),
        (error: Error) =>
          error.message.includes(`docker engine not found (IDLEWATCHER_DOCKER_SOCK=${bogus}`) &&
          error.message.includes("bash scripts/engines.sh start"),
      );
    });
  });

  await t.step("leaves it out elsewhere", () => {
    withEnv({ CI: undefined, IDLEWATCHER_DOCKER_SOCK: bogus }, () => {
      assert.ok(engines().every((engine) => engine.name !== "docker"));
      assert.ok(requireEngines().every((engine) => engine.name !== "docker"));
    });
  });
});
