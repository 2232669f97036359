import assert from "node:assert/strict";
import { dockerTls, type Engine, EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { runCli, RunningCli, settledWithin } from "./_cli.ts";

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Creates a `sleep` container (stopped) that the API removes when disposed. */
async function sleeper(api: EngineApi, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await api.createContainer({ name, cmd: ["sleep", "600"] });
  return name;
}

function dockerCli(engine: Engine, name: string, args: string[]) {
  return runCli(["docker", name, ...args, "--socket", engine.socketPath]);
}

/** Asserts a failure printed exactly one `idlewatcher:` line on stderr and nothing on stdout. */
function assertOneErrorLine(result: { stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], /^idlewatcher: /);
  assert.match(lines[0], pattern);
}

/**
 * Reads watch output until a line arrives, nudging the container (pause, then
 * unpause) until the watch, which subscribes in the background, reports it.
 */
async function firstWatchLine(cli: RunningCli, api: EngineApi, name: string): Promise<string> {
  const line = cli.nextLine();
  let settled = false;
  line.then(() => settled = true, () => settled = true);
  for (let attempt = 0; attempt < 40 && !settled; attempt++) {
    await api.pause(name);
    await api.unpause(name);
    await settledWithin(line, 250);
  }
  const text = await line;
  assert.ok(text !== undefined, "watch printed an event");
  return text;
}

Deno.test("idlewatcher docker runs every command against the engine", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async (t) => {
      await using api = new EngineApi(engine);
      const name = await sleeper(api, "cli-commands");
      const state = async () => (await api.inspect(name)).State.Status;

      await t.step("status of a created container is stopped", async () => {
        const result = await dockerCli(engine, name, ["status"]);
        assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
      });
      await t.step("start", async () => {
        const result = await dockerCli(engine, name, ["start"]);
        assert.deepEqual(result, { code: 0, stdout: `started ${name}\n`, stderr: "" });
        assert.equal(await state(), "running");
      });
      await t.step("status --json", async () => {
        const result = await dockerCli(engine, name, ["status", "--json"]);
        assert.equal(result.code, 0);
        assert.deepEqual(JSON.parse(result.stdout), { container: name, status: "running" });
      });
      await t.step("pause and unpause", async () => {
        assert.equal((await dockerCli(engine, name, ["pause"])).code, 0);
        assert.equal(await state(), "paused");
        assert.equal((await dockerCli(engine, name, ["status"])).stdout, "paused\n");
        const result = await dockerCli(engine, name, ["unpause", "--json"]);
        assert.equal(result.code, 0);
        assert.deepEqual(JSON.parse(result.stdout), {
          container: name,
          command: "unpause",
          ok: true,
        });
        assert.equal(await state(), "running");
      });
      await t.step("stop --signal --timeout", async () => {
        // `sleep` as pid 1 ignores SIGTERM, so this stop ends in the kill after 1 s.
        const result = await dockerCli(engine, name, [
          "stop",
          "--signal",
          "SIGTERM",
          "--timeout",
          "1",
        ]);
        assert.deepEqual(result, { code: 0, stdout: `stopped ${name}\n`, stderr: "" });
        assert.equal(await state(), "exited");
      });
      await t.step("kill --signal", async () => {
        await api.start(name);
        const result = await dockerCli(engine, name, ["kill", "--signal", "KILL"]);
        assert.deepEqual(result, { code: 0, stdout: `killed ${name}\n`, stderr: "" });
        assert.equal(await state(), "exited");
      });
      await t.step("exit 1 when the engine refuses: pause a stopped container", async () => {
        const result = await dockerCli(engine, name, ["pause"]);
        assert.equal(result.code, 1);
        assertOneErrorLine(result, new RegExp(name));
      });
    });
  }
});

Deno.test("idlewatcher docker exit codes for missing things", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(`${engine.name}: 3 for a container that does not exist`, async () => {
      const result = await dockerCli(engine, uniqueName("absent"), ["status"]);
      assert.equal(result.code, 3);
      assertOneErrorLine(result, /docker ps -a/);
    });
    await t.step(`${engine.name}: --json puts the error on stderr as JSON`, async () => {
      const result = await dockerCli(engine, uniqueName("absent"), ["start", "--json"]);
      assert.equal(result.code, 3);
      assert.equal(result.stdout, "");
      const error = JSON.parse(result.stderr);
      assert.equal(error.kind, "NotFoundError");
      assert.equal(error.exitCode, 3);
      assert.equal(typeof error.error, "string");
    });
  }
  await t.step("4 for a socket that does not exist", async () => {
    const socket = `${await Deno.makeTempDir()}/docker.sock`;
    const result = await runCli(["docker", "web", "status", "--socket", socket]);
    await Deno.remove(socket.slice(0, -"/docker.sock".length));
    assert.equal(result.code, 4);
    assertOneErrorLine(result, new RegExp(`${socket}.*--socket`));
  });
  await t.step("4 for DOCKER_HOST naming a closed port", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const result = await runCli(["docker", "web", "status"], {
      env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` },
    });
    assert.equal(result.code, 4);
    assertOneErrorLine(result, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
});

Deno.test("idlewatcher docker names the exact --allow-* flags it lacks", async (t) => {
  const [engine] = requireEngines(t);
  if (engine === undefined) return;
  const socket = engine.socketPath;
  const all = `--allow-read=${socket} --allow-write=${socket} --allow-net=unix:${socket}`;
  const cases: [string, string[]][] = [
    ["no permission at all", []],
    ["read only", [`--allow-read=${socket}`]],
    ["read and write, no net", [`--allow-read=${socket}`, `--allow-write=${socket}`]],
    ["net only", [`--allow-net=unix:${socket}`]],
  ];
  for (const [label, permissions] of cases) {
    await t.step(label, async () => {
      const result = await runCli(["docker", "web", "status", "--socket", socket], { permissions });
      assert.equal(result.code, 4);
      assert.ok(result.stderr.includes(all), result.stderr);
      assertOneErrorLine(result, /--allow-/);
    });
  }
  await t.step("the three flags are enough", async () => {
    const result = await runCli(
      ["docker", uniqueName("absent"), "status", "--socket", socket],
      { permissions: all.split(" ") },
    );
    assert.equal(result.code, 3, result.stderr);
  });
  await t.step("an environment variable", async () => {
    const result = await runCli(["docker", "web", "status"], {
      permissions: [all.split(" ")[0]],
      env: { DOCKER_HOST: `unix://${socket}` },
    });
    assert.equal(result.code, 4);
    assertOneErrorLine(result, /--allow-env=DOCKER_HOST/);
  });
});

Deno.test("idlewatcher docker reaches the engine over TLS", async (t) => {
  const tls = dockerTls();
  const [engine] = requireEngines(t).filter((found) => found.name === "docker");
  if (tls === undefined || engine === undefined) {
    console.error("SKIPPED: no TLS listener; run: bash scripts/engines.sh start");
    return;
  }
  await using api = new EngineApi(engine);
  const name = await sleeper(api, "cli-tls");
  await t.step("with --host and --tls-* flags", async () => {
    const result = await runCli([
      "docker",
      name,
      "status",
      "--host",
      tls.host,
      "--tls-ca",
      `${tls.certDir}/ca.pem`,
      "--tls-cert",
      `${tls.certDir}/cert.pem`,
      "--tls-key",
      `${tls.certDir}/key.pem`,
    ]);
    assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
  });
  await t.step("with DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", async () => {
    const result = await runCli(["docker", name, "status"], {
      env: { DOCKER_HOST: tls.host, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: tls.certDir },
    });
    assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
  });
  await t.step("4 with a hint when the CA is not given", async () => {
    const result = await runCli([
      "docker",
      name,
      "status",
      "--host",
      tls.host.replace("tcp:", "https:"),
    ]);
    assert.equal(result.code, 4);
    assertOneErrorLine(result, /--tls-ca/);
  });
});

Deno.test("idlewatcher docker wait", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(`${engine.name}: returns once the container runs`, async () => {
      await using api = new EngineApi(engine);
      const name = await sleeper(api, "cli-wait");
      await using cli = new RunningCli([
        "docker",
        name,
        "wait",
        "running",
        "--socket",
        engine.socketPath,
      ]);
      await api.start(name);
      assert.deepEqual(await cli.finished(), { code: 0, stdout: "running\n", stderr: "" });
    });
    await t.step(`${engine.name}: returns at once when it already is`, async () => {
      await using api = new EngineApi(engine);
      const name = await sleeper(api, "cli-wait-now");
      const result = await dockerCli(engine, name, ["wait", "stopped", "--json"]);
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), { container: name, status: "stopped" });
    });
    await t.step(`${engine.name}: exits 124 after --timeout`, async () => {
      await using api = new EngineApi(engine);
      const name = await sleeper(api, "cli-wait-timeout");
      const result = await dockerCli(engine, name, ["wait", "running", "--timeout", "1"]);
      assert.equal(result.code, 124);
      assertOneErrorLine(result, /did not become running within 1 s \(it is stopped\)/);
    });
    await t.step(`${engine.name}: exits 3 when the container is removed`, async () => {
      await using api = new EngineApi(engine);
      const name = await sleeper(api, "cli-wait-gone");
      await using cli = new RunningCli([
        "docker",
        name,
        "wait",
        "running",
        "--verbose",
        "--socket",
        engine.socketPath,
      ]);
      // --verbose logs each API call: once the status was read twice, the wait is under way.
      let reads = 0;
      while (reads < 2) {
        const line = await cli.nextErrorLine();
        assert.ok(line !== undefined, "the CLI logs its calls");
        if (line.includes(`/containers/${name}/json 200`)) reads++;
      }
      await api.remove(name);
      const result = await cli.finished();
      assert.equal(result.code, 3, result.stderr);
      assert.equal(result.stdout, "");
      // After the --verbose log: one plain sentence (then, as --verbose asks, its causes).
      assert.match(result.stderr, new RegExp(`\nidlewatcher: container ${name} was removed\n`));
      assert.doesNotMatch(result.stderr, /docker ps -a/);
    });
  }
});

Deno.test("idlewatcher docker watch", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(
      `${engine.name}: --json prints one event per line; Ctrl-C exits 0 quietly`,
      async () => {
        await using api = new EngineApi(engine);
        const name = await sleeper(api, "cli-watch");
        await api.start(name);
        await using cli = new RunningCli([
          "docker",
          name,
          "watch",
          "--json",
          "--socket",
          engine.socketPath,
        ]);
        const first = JSON.parse(await firstWatchLine(cli, api, name));
        assert.deepEqual(Object.keys(first).sort(), [
          "action",
          "actorAttributes",
          "actorId",
          "actorName",
          "time",
          "type",
        ]);
        assert.match(first.time, ISO_TIME);
        assert.equal(first.type, "docker");
        assert.equal(first.actorName, name);
        assert.match(first.actorId, /^[0-9a-f]{64}$/);
        assert.ok(["paused", "unpaused"].includes(first.action), first.action);

        cli.kill("SIGINT");
        const result = await cli.finished();
        assert.equal(result.code, 0);
        assert.equal(result.stderr, "");
        for (const line of result.stdout.split("\n").filter(Boolean)) {
          assert.ok(["paused", "unpaused"].includes(JSON.parse(line).action), line);
        }
      },
    );
  }
  for (const engine of requireEngines(t)) {
    await t.step(`${engine.name}: exits 3 once the container is removed`, async () => {
      await using api = new EngineApi(engine);
      const name = await sleeper(api, "cli-watch-gone");
      await api.start(name);
      await using cli = new RunningCli(["docker", name, "watch", "--socket", engine.socketPath]);
      await firstWatchLine(cli, api, name);
      await api.remove(name);
      const result = await cli.finished();
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stdout, new RegExp(`destroyed ${name}\n$`));
      assert.equal(result.stderr, `idlewatcher: container ${name} was removed\n`);
    });
  }
  await t.step("text lines: time, action, name", async () => {
    const [engine] = requireEngines(t);
    if (engine === undefined) return;
    await using api = new EngineApi(engine);
    const name = await sleeper(api, "cli-watch-text");
    await api.start(name);
    await using cli = new RunningCli(["docker", name, "watch", "--socket", engine.socketPath]);
    const [time, action, actor] = (await firstWatchLine(cli, api, name)).split(" ");
    assert.match(time, ISO_TIME);
    assert.ok(["paused", "unpaused"].includes(action), action);
    assert.equal(actor, name);
    cli.kill("SIGINT");
    const result = await cli.finished();
    assert.equal(result.code, 0);
    assert.equal(result.stderr, "");
  });
  await t.step("exits 3 for a container that does not exist", async () => {
    const [engine] = requireEngines(t);
    if (engine === undefined) return;
    const result = await dockerCli(engine, uniqueName("absent"), ["watch"]);
    assert.equal(result.code, 3);
  });
});
