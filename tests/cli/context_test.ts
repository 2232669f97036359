import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { runTask } from "./_cli.ts";

/** A home folder whose docker CLI has a context `name` pointing at `socket`. */
async function dockerHome(name: string, socket: string, current?: string): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "idlewatcher-home-" });
  const digest = createHash("sha256").update(name).digest("hex");
  const meta = `${home}/.docker/contexts/meta/${digest}`;
  await Deno.mkdir(meta, { recursive: true });
  await Deno.writeTextFile(
    `${meta}/meta.json`,
    JSON.stringify({
      Name: name,
      Metadata: {},
      Endpoints: { docker: { Host: `unix://${socket}` } },
    }),
  );
  if (current !== undefined) {
    await Deno.writeTextFile(
      `${home}/.docker/config.json`,
      JSON.stringify({ currentContext: current }),
    );
  }
  return home;
}

Deno.test("deno task cli follows the docker context, as the docker CLI does", async (t) => {
  for (const engine of requireEngines(t)) {
    await using api = new EngineApi(engine);
    const name = uniqueName("context");
    await api.createContainer({ name, cmd: ["sleep", "600"] });
    await t.step(`${engine.name}: the current context in ~/.docker/config.json`, async () => {
      const home = await dockerHome(engine.name, engine.socketPath, engine.name);
      try {
        const result = await runTask(["docker", name, "status"], { env: { HOME: home } });
        assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });
    await t.step(`${engine.name}: DOCKER_CONTEXT`, async () => {
      const home = await dockerHome(engine.name, engine.socketPath);
      try {
        const result = await runTask(["docker", name, "status"], {
          env: { HOME: home, DOCKER_CONTEXT: engine.name },
        });
        assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });
  }
  await t.step("a context that does not exist", async () => {
    const home = await Deno.makeTempDir({ prefix: "idlewatcher-home-" });
    try {
      const result = await runTask(["docker", "web", "status"], {
        env: { HOME: home, DOCKER_CONTEXT: "nope" },
      });
      assert.deepEqual(result, {
        code: 2,
        stdout: "",
        stderr: 'idlewatcher: Cannot use docker context "nope" (from DOCKER_CONTEXT): it does ' +
          "not exist (fix: list the contexts with `docker context ls`, or unset DOCKER_CONTEXT)\n" +
          "usage: idlewatcher docker <container> <command> [flags] | idlewatcher proxmox " +
          "[<node>/]<vmid> <command> [flags] (idlewatcher help for more)\n",
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
});
