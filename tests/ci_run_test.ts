import assert from "node:assert/strict";

const REPO = new URL("../", import.meta.url).pathname;

/**
 * Runs `.ci/run` with stand-ins: an engines script that says which engines are
 * up and logs each call, and a `deno` that passes every step. Returns the
 * engines script's calls.
 */
async function ciRun(up: string[]): Promise<{ code: number; calls: string[]; stdout: string }> {
  const dir = await Deno.makeTempDir({ prefix: "idlewatcher-ci-run-" });
  try {
    const log = `${dir}/calls`;
    await Deno.writeTextFile(
      `${dir}/engines.sh`,
      [
        `echo "$*" >> '${log}'`,
        'case "$1" in',
        `status) for e in docker podman; do case " ${
          up.join(" ")
        } " in *" $e "*) echo "$e: up";; *) echo "$e: down";; esac; done ;;`,
        "env) echo 'export IDLEWATCHER_FAKE=1' ;;",
        "esac",
        "",
      ].join("\n"),
    );
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/deno`,
      '#!/bin/sh\necho "ok | 1 passed (0 steps) | 0 failed"\n',
    );
    await Deno.chmod(`${dir}/bin/deno`, 0o755);
    const output = await new Deno.Command("bash", {
      args: [".ci/run"],
      cwd: REPO,
      clearEnv: true,
      env: {
        PATH: `${dir}/bin:/usr/bin:/bin`,
        IDLEWATCHER_ENGINES_SCRIPT: `${dir}/engines.sh`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const calls = (await Deno.readTextFile(log)).trimEnd().split("\n");
    return { code: output.code, calls, stdout: new TextDecoder().decode(output.stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(".ci/run stops on exit only the engines it started", async (t) => {
  await t.step("both already up: both left running", async () => {
    const { code, calls, stdout } = await ciRun(["docker", "podman"]);
    assert.equal(code, 0, stdout);
    assert.deepEqual(calls, ["status", "start", "env", "status"]);
    assert.match(stdout, /no engine started by this run; leaving them up/);
  });
  await t.step("docker up, podman down: only podman stopped", async () => {
    const { code, calls } = await ciRun(["docker"]);
    assert.equal(code, 0);
    assert.deepEqual(calls, ["status", "start", "env", "status", "stop podman"]);
  });
  await t.step("none up: both stopped", async () => {
    const { code, calls } = await ciRun([]);
    assert.equal(code, 0);
    assert.deepEqual(calls, ["status", "start", "env", "status", "stop docker", "stop podman"]);
  });
});
