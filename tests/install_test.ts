import assert from "node:assert/strict";
import { EngineApi, requireEngines, uniqueName } from "./_engines.ts";
import { requireUnshare, withSocketAt } from "./_mount_ns.ts";

const REPO = new URL("../", import.meta.url).pathname;

Deno.test("the README's install paths work as written on a machine with Docker", async (t) => {
  const docker = requireEngines(t).find((engine) => engine.name === "docker");
  if (docker === undefined || !(await requireUnshare(t))) return;
  await using api = new EngineApi(docker);
  const name = uniqueName("install");
  await api.createContainer({ name, cmd: ["sleep", "600"] });
  const home = await Deno.makeTempDir({ prefix: "idlewatcher-home-" });
  try {
    // A fresh user: Docker at /var/run/docker.sock, an empty home, no DOCKER_* variables.
    const env: Record<string, string> = { HOME: home, NO_COLOR: "1" };
    for (const key of ["PATH", "DENO_DIR"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) env[key] = value;
    }
    const output = await new Deno.Command(
      withSocketAt(docker.socketPath, "/var/run/docker.sock")[0],
      {
        args: [
          ...withSocketAt(docker.socketPath, "/var/run/docker.sock").slice(1),
          "bash",
          `${REPO}scripts/try_install.sh`,
          "idlewatcher",
          "docker",
          name,
          "status",
        ],
        clearEnv: true,
        env,
        stdout: "piped",
        stderr: "piped",
      },
    ).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const lines = stdout.trimEnd().split("\n");
    // status.ts, run through the workspace member, asks about "web", which does not exist.
    assert.match(lines[0], /^unknown \(Cannot read the status of container "web": .*404/);
    // The installed command: its version, then the container's status.
    assert.deepEqual(lines.slice(1), ["idlewatcher 0.1.0", "stopped"]);
    assert.match(stderr, /Successfully installed idlewatcher/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
