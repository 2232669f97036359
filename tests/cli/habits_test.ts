import assert from "node:assert/strict";
import { EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { runCli, RunningCli, settledWithin } from "./_cli.ts";

const USAGE =
  "usage: idlewatcher docker <container> <command> [flags] | idlewatcher proxmox [<node>/]<vmid> <command> [flags] (idlewatcher help for more)\n";

Deno.test("idlewatcher takes docker's -t and -s, and signals by number or in lower case", async (t) => {
  for (const engine of requireEngines(t)) {
    await using api = new EngineApi(engine);
    const name = uniqueName("habits");
    await api.createContainer({ name, cmd: ["sleep", "600"] });
    const cli = (args: string[]) =>
      runCli(["docker", name, ...args, "--socket", engine.socketPath]);
    await t.step(`${engine.name}: stop -t 1 -s 15`, async () => {
      await api.start(name);
      assert.deepEqual(await cli(["stop", "-t", "1", "-s", "15"]), {
        code: 0,
        stdout: `stopped ${name}\n`,
        stderr: "",
      });
      assert.equal((await api.inspect(name)).State.Status, "exited");
    });
    await t.step(
      `${engine.name}: kill -s sigterm, then kill -s=9 of a stopped container`,
      async () => {
        await api.start(name);
        // `sleep` as pid 1 ignores SIGTERM: the container keeps running.
        assert.deepEqual(await cli(["kill", "-s", "sigterm"]), {
          code: 0,
          stdout: `killed ${name}\n`,
          stderr: "",
        });
        assert.deepEqual(await cli(["kill", "--signal", "kill"]), {
          code: 0,
          stdout: `killed ${name}\n`,
          stderr: "",
        });
        assert.deepEqual(await cli(["kill", "-s=9"]), {
          code: 0,
          stdout: `${name} was not running\n`,
          stderr: "",
        });
        const json = await cli(["kill", "--json"]);
        assert.equal(json.code, 0);
        assert.deepEqual(JSON.parse(json.stdout), {
          container: name,
          command: "kill",
          ok: true,
          wasRunning: false,
        });
      },
    );
  }
});

Deno.test({
  name: "idlewatcher help, help <command> and <command> --help",
  permissions: { read: true, run: true, env: true },
  async fn(t) {
    await t.step("help", async () => {
      const result = await runCli(["help"]);
      assert.equal(result.code, 0);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /^idlewatcher: status, start, stop/);
    });
    for (const args of [["help", "stop"], ["docker", "web", "stop", "--help"], ["stop", "-h"]]) {
      await t.step(args.join(" "), async () => {
        const result = await runCli(args);
        assert.equal(result.code, 0);
        assert.equal(result.stderr, "");
        assert.match(
          result.stdout,
          /^usage: idlewatcher <runtime> <container> stop \[-s SIGNAL\] \[-t SECONDS\] \[--json\]\n/,
        );
      });
    }
  },
});

Deno.test({
  name: "idlewatcher says what was meant: swapped words and typos",
  permissions: { read: true, run: true, env: true },
  async fn(t) {
    const cases: [string[], string][] = [
      [
        ["docker", "status", "web"],
        'idlewatcher: Unknown command "web": expected one of status, start, stop, kill, pause, unpause, watch, wait; did you mean idlewatcher docker web status?\n',
      ],
      [
        ["docker", "web", "stauts"],
        'idlewatcher: Unknown command "stauts": expected one of status, start, stop, kill, pause, unpause, watch, wait; did you mean status?\n',
      ],
      [
        ["dokcer", "web", "status"],
        'idlewatcher: Unknown runtime "dokcer": expected docker, proxmox or serve; did you mean docker?\n',
      ],
      [
        ["podman", "web", "status"],
        'idlewatcher: Unknown runtime "podman": expected docker, proxmox or serve; did you mean docker (Podman speaks Docker\'s API)?\n',
      ],
      [
        ["docker", "web", "status", "--sokcet", "/s"],
        "idlewatcher: Unknown flag --sokcet; did you mean --socket?\n",
      ],
      [
        ["docker", "web", "wait", "runing"],
        'idlewatcher: Unknown status "runing": expected one of running, stopped, paused, error; did you mean running?\n',
      ],
      [
        ["docker", "status"],
        "idlewatcher: Missing the container: the command comes after it, as in idlewatcher docker <container> status\n",
      ],
    ];
    for (const [args, line] of cases) {
      await t.step(args.join(" "), async () => {
        assert.deepEqual(await runCli(args), { code: 2, stdout: "", stderr: line + USAGE });
      });
    }
  },
});

Deno.test("idlewatcher watch shows the signal and the exit code in plain text", async (t) => {
  const [engine] = requireEngines(t);
  if (engine === undefined) return;
  await using api = new EngineApi(engine);
  const name = uniqueName("watch-details");
  await api.createContainer({ name, cmd: ["sleep", "600"] });
  await api.start(name);
  await using cli = new RunningCli(["docker", name, "watch", "--socket", engine.socketPath]);
  // The watch subscribes in the background: kill with a signal sleep ignores until it shows.
  let line: string | undefined;
  let settled = false;
  const next = cli.nextLine().then((text) => {
    settled = true;
    return line = text;
  });
  for (let attempt = 0; attempt < 40 && !settled; attempt++) {
    await runCli(["docker", name, "kill", "-s", "HUP", "--socket", engine.socketPath]);
    await settledWithin(next, 250);
  }
  await next;
  assert.match(line ?? "", new RegExp(`^\\S+ killed ${name} \\(signal (1|SIGHUP|HUP)\\)$`));
  await runCli(["docker", name, "kill", "--socket", engine.socketPath]);
  let died: string | undefined;
  for (let text = await cli.nextLine(); text !== undefined; text = await cli.nextLine()) {
    if (text.includes(" died ")) {
      died = text;
      break;
    }
  }
  assert.match(died ?? "", new RegExp(`^\\S+ died ${name} \\(exit code 137\\)$`));
  cli.kill("SIGINT");
  assert.equal((await cli.finished()).code, 0);
});

Deno.test({
  name: "idlewatcher serve follows the same conventions: help serve and did-you-mean",
  permissions: { read: true, run: true, env: true },
  async fn(t) {
    await t.step("help serve", async () => {
      const result = await runCli(["help", "serve"]);
      assert.equal(result.code, 0);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /^idlewatcher serve: stop what nobody uses/);
    });
    await t.step("serve --lisen", async () => {
      assert.deepEqual(await runCli(["serve", "--lisen", "127.0.0.1:0"]), {
        code: 2,
        stdout: "",
        stderr: 'idlewatcher: unknown argument "--lisen" for serve; did you mean --listen?\n' +
          "usage: idlewatcher serve [flags] (--help for more)\n",
      });
    });
    await t.step("serv", async () => {
      assert.deepEqual(await runCli(["serv"]), {
        code: 2,
        stdout: "",
        stderr:
          'idlewatcher: Unknown runtime "serv": expected docker, proxmox or serve; did you mean serve?\n' +
          USAGE,
      });
    });
  },
});
