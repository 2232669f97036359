import assert from "node:assert/strict";
import { main } from "../../cli.ts";
import { type Engine, EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { QUICK_STOP_CMD, waitForState } from "./_containers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

function capture(): { text: () => string; writer: { write(b: Uint8Array): Promise<number> } } {
  let text = "";
  return {
    text: () => text,
    writer: {
      write(bytes) {
        text += new TextDecoder().decode(bytes);
        return Promise.resolve(bytes.length);
      },
    },
  };
}

/** A `deno run cli.ts serve` child process, its log, and its address once it listens. */
class ServeProcess {
  readonly child: Deno.ChildProcess;
  log = "";
  #reading: Promise<void>;

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "serve", "--listen", "127.0.0.1:0", ...args],
      stdout: "null",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.#reading = this.child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (this.log += chunk) }),
    );
  }

  async base(): Promise<string> {
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(this.log);
      if (match) return match[1];
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the server did not listen:\n${this.log}`);
  }

  async end(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    this.child.kill(signal);
    const status = await this.child.status;
    await this.#reading;
    return status;
  }
}

Deno.test("idlewatcher serve --help lists its flags, and --help mentions serve", async () => {
  const out = capture();
  assert.equal(await main(["serve", "--help"], { stdout: out.writer }), 0);
  for (
    const flag of [
      "--listen",
      "--docker",
      "--proxmox",
      "--state-dir",
      "--themes-dir",
      "--session-duration",
      "--log-level",
    ]
  ) {
    assert.ok(out.text().includes(flag), flag);
  }
  const help = capture();
  assert.equal(await main(["--help"], { stdout: help.writer }), 0);
  assert.match(help.text(), /idlewatcher serve/);
});

Deno.test("idlewatcher serve refuses bad flags with exit code 2", async (t) => {
  for (
    const args of [["--listen", "nope"], ["--session-duration", "5 minutes"], [
      "--log-level",
      "loud",
    ], ["--bogus"]]
  ) {
    await t.step(args.join(" "), async () => {
      const err = capture();
      assert.equal(await main(["serve", ...args], { stderr: err.writer }), 2);
      assert.match(err.text(), /idlewatcher: /);
    });
  }
});

Deno.test("idlewatcher serve with an unreachable engine exits 4 and names --docker", async () => {
  const err = capture();
  const code = await main([
    "serve",
    "--docker",
    "unix:///nonexistent/docker.sock",
    "--listen",
    "127.0.0.1:0",
  ], {
    stderr: err.writer,
  });
  assert.equal(code, 4);
  assert.equal(
    err.text(),
    "idlewatcher: Cannot GET /version: cannot reach the engine at unix:///nonexistent/docker.sock: " +
      "no such socket (fix: start the engine, or check --docker)\n",
  );
});

function dockerEngine(t: Deno.TestContext): Engine | undefined {
  return requireEngines(t).find((engine) => engine.name === "docker");
}

Deno.test("idlewatcher serve drains on SIGTERM: exit 0, sessions saved", async (t) => {
  const engine = dockerEngine(t);
  if (engine === undefined) return;
  await using api = new EngineApi(engine);
  const name = uniqueName("cli-drain");
  await api.createContainer({ name, cmd: QUICK_STOP_CMD, labels: { "sablier.enable": "true" } });
  const stateDir = await Deno.makeTempDir({ prefix: "iw-cli-" });
  const server = new ServeProcess([
    "--docker",
    `unix://${engine.socketPath}`,
    "--state-dir",
    stateDir,
  ]);
  try {
    const base = await server.base();
    const ready = await fetch(
      `${base}/api/strategies/blocking?names=${name}&session_duration=1h&timeout=30s`,
    );
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const status = await server.end("SIGTERM");
    assert.equal(status.code, 0, server.log);
    assert.match(server.log, /Draining/);
    const saved = JSON.parse(await Deno.readTextFile(`${stateDir}/sessions.json`));
    const sessions = Object.values(saved.sessions) as { name: string; until: number }[];
    assert.ok(sessions.some((s) => s.name === name && s.until > Date.now() + 3_000_000));
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("idlewatcher serve after kill -9: the instance in use stays up until its session ends, the idle one stops on time", async (t) => {
  const engine = dockerEngine(t);
  if (engine === undefined) return;
  await using api = new EngineApi(engine);
  const labels = { "sablier.enable": "true", "idlewatcher.stop-timeout": "2" };
  const inUse = uniqueName("cli-inuse");
  const idle = uniqueName("cli-idle");
  const inUseId = await api.createContainer({ name: inUse, cmd: QUICK_STOP_CMD, labels });
  const idleId = await api.createContainer({ name: idle, cmd: QUICK_STOP_CMD, labels });
  const stateDir = await Deno.makeTempDir({ prefix: "iw-cli-" });
  const docker = ["--docker", `unix://${engine.socketPath}`, "--state-dir", stateDir];
  try {
    const first = new ServeProcess(docker);
    const base = await first.base();
    const started = Date.now();
    for (const [name, duration] of [[inUse, "10s"], [idle, "2s"]]) {
      const response = await fetch(
        `${base}/api/strategies/blocking?names=${name}&session_duration=${duration}&timeout=30s`,
      );
      assert.equal(response.status, 200);
      await response.body?.cancel();
    }
    assert.equal((await first.end("SIGKILL")).signal, "SIGKILL");
    // Restarted with a 1 s default: a lost session would stop the running instance at once.
    const second = new ServeProcess([...docker, "--session-duration", "1s"]);
    try {
      await second.base();
      await waitForState(api, idleId, (state) => !state.Running, 15_000);
      const idleStopped = Date.now() - started;
      assert.ok(idleStopped < 8_000, `the idle one stopped on time (${idleStopped} ms)`);
      assert.equal((await api.inspect(inUseId)).State.Running, true, "the one in use is still up");
      while (Date.now() - started < 9_000) {
        assert.equal(
          (await api.inspect(inUseId)).State.Running,
          true,
          "not stopped before its session ends",
        );
        await new Promise((r) => setTimeout(r, 250));
      }
      await waitForState(api, inUseId, (state) => !state.Running, 20_000);
    } finally {
      assert.equal((await second.end("SIGTERM")).code, 0, second.log);
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
