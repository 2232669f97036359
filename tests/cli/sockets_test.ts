import assert from "node:assert/strict";
import { EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { runTask } from "./_cli.ts";
import { requireUnshare, withSocketAt } from "../_mount_ns.ts";

Deno.test("deno task cli reaches the engines at the usual socket paths", async (t) => {
  const found = requireEngines(t);
  const docker = found.find((engine) => engine.name === "docker");
  const podman = found.find((engine) => engine.name === "podman");
  if (!(await requireUnshare(t))) return;
  const cases: { engine: typeof docker; at: string; env: Record<string, string> }[] = [
    { engine: docker, at: "/var/run/docker.sock", env: {} },
    { engine: docker, at: "/run/docker.sock", env: { DOCKER_HOST: "unix:///run/docker.sock" } },
    {
      engine: podman,
      at: "/run/podman/podman.sock",
      env: { DOCKER_HOST: "unix:///run/podman/podman.sock" },
    },
  ];
  for (const { engine, at, env } of cases) {
    if (engine === undefined) continue;
    await t.step(`${engine.name} at ${at}`, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("socket");
      await api.createContainer({ name, cmd: ["sleep", "600"] });
      const result = await runTask(["docker", name, "status"], {
        env,
        wrap: withSocketAt(engine.socketPath, at),
      });
      assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
    });
  }
});

Deno.test("deno task cli reaches rootless sockets under XDG_RUNTIME_DIR", async (t) => {
  for (const engine of requireEngines(t)) {
    const relative = engine.name === "docker" ? "docker.sock" : "podman/podman.sock";
    await t.step(`${engine.name} at $XDG_RUNTIME_DIR/${relative}`, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("xdg");
      await api.createContainer({ name, cmd: ["sleep", "600"] });
      const runtimeDir = await Deno.makeTempDir({ prefix: "idlewatcher-xdg-" });
      try {
        await Deno.mkdir(`${runtimeDir}/podman`);
        await Deno.symlink(engine.socketPath, `${runtimeDir}/${relative}`);
        const result = await runTask(["docker", name, "status"], {
          env: { XDG_RUNTIME_DIR: runtimeDir, DOCKER_HOST: `unix://${runtimeDir}/${relative}` },
        });
        assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
      } finally {
        await Deno.remove(runtimeDir, { recursive: true });
      }
    });
  }
});

Deno.test("deno task cli reaches a socket anywhere else with --socket or DOCKER_HOST", async (t) => {
  for (const engine of requireEngines(t)) {
    await using api = new EngineApi(engine);
    const name = uniqueName("elsewhere");
    await api.createContainer({ name, cmd: ["sleep", "600"] });
    await t.step(`${engine.name}: --socket ${engine.socketPath}`, async () => {
      const result = await runTask(["docker", name, "status", "--socket", engine.socketPath]);
      assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
    });
    await t.step(`${engine.name}: --host=unix://${engine.socketPath}`, async () => {
      const result = await runTask([
        "docker",
        name,
        "status",
        `--host=unix://${engine.socketPath}`,
      ]);
      assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
    });
    await t.step(`${engine.name}: DOCKER_HOST=unix://${engine.socketPath}`, async () => {
      const result = await runTask(["docker", name, "status"], {
        env: { DOCKER_HOST: `unix://${engine.socketPath}` },
      });
      assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
    });
  }
});

Deno.test("scripts/cli.sh grants exactly the files the command line and environment name", async (t) => {
  // A stand-in `deno` first on PATH prints the arguments the launcher passes.
  const bin = await Deno.makeTempDir({ prefix: "idlewatcher-fake-deno-" });
  await Deno.writeTextFile(`${bin}/deno`, '#!/bin/sh\nprintf "%s\\n" "$@"\n');
  await Deno.chmod(`${bin}/deno`, 0o755);
  const launch = async (args: string[], env: Record<string, string>) => {
    const output = await new Deno.Command("sh", {
      args: [new URL("../../scripts/cli.sh", import.meta.url).pathname, ...args],
      clearEnv: true,
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: "/home/u", ...env },
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(output.stdout).trimEnd().split("\n");
  };
  const usual = "/var/run/docker.sock,/run/docker.sock,/run/podman/podman.sock";
  try {
    await t.step("the usual sockets, the docker config, and nothing else", async () => {
      const argv = await launch(["docker", "web", "status"], { INIT_CWD: "/srv" });
      assert.equal(argv[0], "run");
      assert.equal(
        argv[1],
        `--allow-read=${usual},/home/u/.docker/config.json,/home/u/.docker/contexts`,
      );
      assert.equal(argv[2], `--allow-write=${usual}`);
      assert.equal(argv[3], "--allow-net");
      assert.match(argv[4], /^--allow-env=DOCKER_HOST,.*PROXMOX_CA_FILE,XDG_STATE_HOME$/);
      assert.deepEqual(argv.slice(-3), ["docker", "web", "status"]);
    });
    await t.step("XDG_RUNTIME_DIR's rootless sockets", async () => {
      const argv = await launch(["docker", "web", "status"], { XDG_RUNTIME_DIR: "/run/user/1000" });
      assert.equal(
        argv[2],
        `--allow-write=${usual},/run/user/1000/docker.sock,/run/user/1000/podman/podman.sock`,
      );
    });
    await t.step("--socket, relative to the caller's folder, and TLS files", async () => {
      const argv = await launch(
        ["docker", "web", "status", "--socket", "d.sock", "--tls-ca=/c/ca.pem", "--ca-file", "x"],
        { INIT_CWD: "/srv" },
      );
      assert.equal(argv[2], `--allow-write=${usual},/srv/d.sock`);
      assert.match(argv[1], /,\/c\/ca\.pem,\/srv\/x,/);
    });
    await t.step("DOCKER_HOST's socket and DOCKER_CERT_PATH's files", async () => {
      const argv = await launch(["docker", "web", "status"], {
        DOCKER_HOST: "unix:///opt/e.sock",
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: "/certs",
      });
      assert.equal(argv[2], `--allow-write=${usual},/opt/e.sock`);
      assert.match(argv[1], /,\/certs\/ca\.pem,\/certs\/cert\.pem,\/certs\/key\.pem,/);
    });
    await t.step("serve: its --docker sockets and its state folder", async () => {
      const argv = await launch(
        ["serve", "--docker", "unix:///opt/e.sock", "--docker=tcp://h:2375", "--state-dir", "st"],
        { INIT_CWD: "/srv" },
      );
      assert.equal(argv[2], `--allow-write=${usual},/opt/e.sock,/srv/st`);
      const byDefault = await launch(["serve"], { XDG_STATE_HOME: "/home/u/.state" });
      assert.equal(byDefault[2], `--allow-write=${usual},/home/u/.state/idlewatcher`);
    });
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
