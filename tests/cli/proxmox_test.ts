import assert from "node:assert/strict";
import { type FakePve, startFakePve } from "../_fakes/pve/mod.ts";
import { type CliResult, runCli, RunningCli, settledWithin, tempFile } from "./_cli.ts";

const TOKEN_ID = "idle@pve!cli";
const SECRET = "8c2f4b1e-0d7a-4f7e-9a53-2b61c0de9f10";
const ENV_NAMES =
  "PROXMOX_URL,PROXMOX_TOKEN_ID,PROXMOX_SECRET,PROXMOX_USERNAME,PROXMOX_PASSWORD,PROXMOX_REALM,PROXMOX_CA_FILE";
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A fake PVE with node `pve` (with CRIU), CT 101 "web" (stopped) and a token; its CA in a file. */
async function setUp(): Promise<{ fake: FakePve; caFile: string } & AsyncDisposable> {
  const fake = await startFakePve({ authDelayMs: 0, statusBroadcastMs: 0, taskDurationMs: 20 });
  fake.addNode("pve", { criu: true });
  fake.addCt("pve", 101, { name: "web" });
  fake.addToken(TOKEN_ID, SECRET);
  const ca = await tempFile(fake.caCert);
  return {
    fake,
    caFile: ca.path,
    async [Symbol.asyncDispose]() {
      await ca[Symbol.asyncDispose]();
      await fake.close();
    },
  };
}

function tokenEnv(fake: FakePve, caFile: string): Record<string, string> {
  return {
    PROXMOX_URL: fake.url,
    PROXMOX_TOKEN_ID: TOKEN_ID,
    PROXMOX_SECRET: SECRET,
    PROXMOX_CA_FILE: caFile,
  };
}

function pveCli(fake: FakePve, caFile: string, args: string[]): Promise<CliResult> {
  return runCli(["proxmox", ...args], { env: tokenEnv(fake, caFile) });
}

function assertOneErrorLine(result: CliResult, pattern: RegExp): void {
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], /^idlewatcher: /);
  assert.match(lines[0], pattern);
}

/** Reads watch output until a line arrives, flipping the CT until the poller notices. */
async function firstWatchLine(cli: RunningCli, fake: FakePve): Promise<string> {
  const line = cli.nextLine();
  let settled = false;
  line.then(() => settled = true, () => settled = true);
  // Each flip stays long enough for a poll (1 s) to see it.
  for (let attempt = 0; attempt < 10 && !settled; attempt++) {
    fake.setCt(101, { status: fake.ct(101)?.status === "running" ? "stopped" : "running" });
    await settledWithin(line, 2500);
  }
  const text = await line;
  assert.ok(text !== undefined, "watch printed an event");
  return text;
}

Deno.test("idlewatcher proxmox runs every command against PVE", async (t) => {
  await using pve = await setUp();
  const { fake, caFile } = pve;
  const state = () => fake.ct(101)?.status;

  await t.step("status", async () => {
    const result = await pveCli(fake, caFile, ["pve/101", "status"]);
    assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
  });
  await t.step("start", async () => {
    const result = await pveCli(fake, caFile, ["pve/101", "start"]);
    assert.deepEqual(result, { code: 0, stdout: "started CT pve/101\n", stderr: "" });
    assert.equal(state(), "running");
  });
  await t.step("status --json", async () => {
    const result = await pveCli(fake, caFile, ["pve/101", "status", "--json"]);
    assert.equal(result.code, 0);
    assert.deepEqual(JSON.parse(result.stdout), {
      container: "pve/101",
      guest: "lxc",
      status: "running",
    });
  });
  await t.step("stop --timeout", async () => {
    const result = await pveCli(fake, caFile, ["pve/101", "stop", "--timeout", "5"]);
    assert.deepEqual(result, { code: 0, stdout: "stopped CT pve/101\n", stderr: "" });
    assert.equal(state(), "stopped");
  });
  await t.step("kill is a hard stop", async () => {
    fake.setCt(101, { status: "running", ignoreShutdown: true });
    const result = await pveCli(fake, caFile, ["pve/101", "kill"]);
    assert.deepEqual(result, { code: 0, stdout: "killed CT pve/101\n", stderr: "" });
    assert.equal(state(), "stopped");
    assert.ok(fake.tasks("pve").some((task) => task.type === "vzstop"));
    fake.setCt(101, { ignoreShutdown: false });
  });
  await t.step("pause (suspend) and unpause (resume)", async () => {
    fake.setCt(101, { status: "running" });
    assert.equal((await pveCli(fake, caFile, ["pve/101", "pause"])).code, 0);
    assert.equal((await pveCli(fake, caFile, ["pve/101", "status"])).stdout, "paused\n");
    assert.equal((await pveCli(fake, caFile, ["pve/101", "unpause"])).code, 0);
    assert.equal(state(), "running");
  });
  await t.step("exit 1 with PVE's message when the task fails", async () => {
    fake.setCt(101, { status: "stopped" });
    fake.failNextTask("start", "startup for container '101' failed");
    const result = await pveCli(fake, caFile, ["pve/101", "start"]);
    assert.equal(result.code, 1);
    assertOneErrorLine(result, /startup for container '101' failed/);
  });
});

Deno.test("idlewatcher proxmox exit codes", async (t) => {
  await using pve = await setUp();
  const { fake, caFile } = pve;

  await t.step("3 for a CT that does not exist", async () => {
    const result = await pveCli(fake, caFile, ["pve/999", "status"]);
    assert.equal(result.code, 3);
    assertOneErrorLine(result, /999/);
  });
  await t.step("3 for a node the cluster does not have, naming its nodes", async () => {
    const result = await pveCli(fake, caFile, ["nope/101", "status"]);
    assert.equal(result.code, 3);
    assertOneErrorLine(result, /no node "nope" \(available nodes: pve\)/);
  });
  await t.step("2 without a URL", async () => {
    const result = await runCli(["proxmox", "pve/101", "status"]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^idlewatcher: Missing the Proxmox API URL: pass --url or set PROXMOX_URL\n/,
    );
  });
  await t.step("2 for a vmid out of range", async () => {
    const result = await pveCli(fake, caFile, ["pve/7", "status"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /vmid 7/);
  });
  await t.step("1 with a fix for a wrong secret", async () => {
    const result = await runCli(["proxmox", "pve/101", "status"], {
      env: { ...tokenEnv(fake, caFile), PROXMOX_SECRET: "0000-wrong" },
    });
    assert.equal(result.code, 1);
    assertOneErrorLine(result, /expired/);
    assert.ok(!result.stderr.includes("0000-wrong"), "the secret is not echoed");
  });
  await t.step("1 with a fix for a missing privilege", async () => {
    fake.addToken("audit@pve!ro", SECRET, { privileges: ["VM.Audit"] });
    const result = await runCli(["proxmox", "pve/101", "start"], {
      env: { ...tokenEnv(fake, caFile), PROXMOX_TOKEN_ID: "audit@pve!ro" },
    });
    assert.equal(result.code, 1);
    assertOneErrorLine(result, /VM\.PowerMgmt/);
  });
  await t.step("4 for a closed port", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const url = `https://127.0.0.1:${listener.addr.port}`;
    listener.close();
    const result = await pveCli(fake, caFile, ["pve/101", "status", "--url", url]);
    assert.equal(result.code, 4);
    assertOneErrorLine(result, /--url/);
  });
  await t.step("4 with a fix when the CA is not given", async () => {
    const env = tokenEnv(fake, caFile);
    delete env.PROXMOX_CA_FILE;
    const result = await runCli(["proxmox", "pve/101", "status"], { env });
    assert.equal(result.code, 4);
    assertOneErrorLine(result, /--ca-file/);
  });
  await t.step("124 when wait --timeout passes", async () => {
    const result = await pveCli(fake, caFile, ["pve/101", "wait", "running", "--timeout", "1"]);
    assert.equal(result.code, 124);
    assertOneErrorLine(result, /did not become running within 1 s/);
  });
});

Deno.test("idlewatcher proxmox takes its settings from flags and the environment", async (t) => {
  await using pve = await setUp();
  const { fake, caFile } = pve;

  await t.step("flags only, with a warning for --secret", async () => {
    const result = await runCli([
      "proxmox",
      "pve/101",
      "status",
      "--url",
      fake.url,
      "--token-id",
      TOKEN_ID,
      "--secret",
      SECRET,
      "--ca-file",
      caFile,
    ]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "stopped\n");
    assert.match(result.stderr, /^idlewatcher: warning: --secret is visible .* PROXMOX_SECRET/);
  });
  await t.step("--token-id with PROXMOX_SECRET, ignoring a user in the environment", async () => {
    const result = await runCli(
      ["proxmox", "pve/101", "status", "--url", fake.url, "--token-id", TOKEN_ID],
      {
        env: {
          PROXMOX_SECRET: SECRET,
          PROXMOX_CA_FILE: caFile,
          PROXMOX_USERNAME: "someone",
          PROXMOX_PASSWORD: "ignored",
        },
      },
    );
    assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
  });
  await t.step("ticket login: --username and --realm with PROXMOX_PASSWORD", async () => {
    fake.addUser("idle@pve", "hunter2-long");
    const result = await runCli(
      ["proxmox", "pve/101", "status", "--username", "idle", "--realm", "pve"],
      { env: { PROXMOX_URL: fake.url, PROXMOX_PASSWORD: "hunter2-long", PROXMOX_CA_FILE: caFile } },
    );
    assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
  });
  await t.step("the narrow permissions are enough", async () => {
    const port = new URL(fake.url).port;
    const result = await runCli(["proxmox", "pve/101", "status"], {
      env: tokenEnv(fake, caFile),
      permissions: [
        `--allow-net=127.0.0.1:${port}`,
        `--allow-read=${caFile}`,
        `--allow-env=${ENV_NAMES}`,
      ],
    });
    assert.deepEqual(result, { code: 0, stdout: "stopped\n", stderr: "" });
  });
  await t.step("a missing --allow-read for the CA file is named", async () => {
    const port = new URL(fake.url).port;
    const result = await runCli(["proxmox", "pve/101", "status"], {
      env: tokenEnv(fake, caFile),
      permissions: [`--allow-net=127.0.0.1:${port}`, `--allow-env=${ENV_NAMES}`],
    });
    assert.equal(result.code, 4);
    assertOneErrorLine(result, new RegExp(`--allow-read=${caFile}`));
  });
  await t.step("a missing --allow-net is named", async () => {
    const port = new URL(fake.url).port;
    const result = await runCli(["proxmox", "pve/101", "status"], {
      env: tokenEnv(fake, caFile),
      permissions: [`--allow-read=${caFile}`, `--allow-env=${ENV_NAMES}`],
    });
    assert.equal(result.code, 4);
    assertOneErrorLine(result, new RegExp(`--allow-net=127\\.0\\.0\\.1:${port}`));
  });
  await t.step("a missing --allow-env names every PROXMOX_* variable", async () => {
    const port = new URL(fake.url).port;
    const result = await runCli(["proxmox", "pve/101", "status"], {
      env: tokenEnv(fake, caFile),
      permissions: [`--allow-net=127.0.0.1:${port}`, `--allow-read=${caFile}`],
    });
    assert.equal(result.code, 4);
    assertOneErrorLine(result, new RegExp(`--allow-env=${ENV_NAMES}\\)$`));
  });
});

Deno.test("idlewatcher proxmox wait and watch", async (t) => {
  await using pve = await setUp();
  const { fake, caFile } = pve;
  const env = tokenEnv(fake, caFile);

  await t.step("wait returns once the CT runs", async () => {
    fake.setCt(101, { status: "stopped" });
    await using cli = new RunningCli(["proxmox", "pve/101", "wait", "running", "--json"], { env });
    fake.setCt(101, { status: "running" });
    const result = await cli.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      container: "pve/101",
      guest: "lxc",
      status: "running",
    });
    assert.equal(result.stderr, "");
  });
  await t.step("watch --json prints one event per line; Ctrl-C exits 0 quietly", async () => {
    await using cli = new RunningCli(["proxmox", "pve/101", "watch", "--json"], { env });
    const first = JSON.parse(await firstWatchLine(cli, fake));
    assert.match(first.time, ISO_TIME);
    assert.equal(first.type, "proxmox");
    assert.equal(first.actorId, "101");
    assert.equal(first.actorName, "web");
    assert.ok(["started", "stopped"].includes(first.action), first.action);
    cli.kill("SIGINT");
    const result = await cli.finished();
    assert.equal(result.code, 0);
    assert.equal(result.stderr, "");
  });
  await t.step("Ctrl-C ends a wait with 130 and no output", async () => {
    fake.setCt(101, { status: "stopped" });
    fake.resetRequests();
    await using cli = new RunningCli(["proxmox", "pve/101", "wait", "running"], { env });
    // Once the CLI has read the status twice (the provider's check, then the wait's), it waits.
    for (let i = 0; i < 200 && statusReads(fake) < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(statusReads(fake) >= 2, "the wait began");
    cli.kill("SIGINT");
    assert.deepEqual(await cli.finished(), { code: 130, stdout: "", stderr: "" });
  });
});

function statusReads(fake: FakePve): number {
  return fake.requests.filter((request) => request.path.endsWith("/lxc/101/status/current"))
    .length;
}

Deno.test("idlewatcher proxmox NODE/VMID drives a QEMU VM and says so", async (t) => {
  await using pve = await setUp();
  const { fake, caFile } = pve;
  fake.addVm("pve", 100, { name: "vm" });
  const vm = () => fake.vm(100);

  await t.step("start", async () => {
    const result = await pveCli(fake, caFile, ["pve/100", "start"]);
    assert.deepEqual(result, { code: 0, stdout: "started VM pve/100\n", stderr: "" });
    assert.equal(vm()?.status, "running");
    assert.ok(fake.tasks("pve").some((task) => task.type === "qmstart"));
  });
  await t.step("pause freezes it in memory; status --json names the guest", async () => {
    const paused = await pveCli(fake, caFile, ["pve/100", "pause", "--json"]);
    assert.deepEqual(JSON.parse(paused.stdout), {
      container: "pve/100",
      guest: "qemu",
      command: "pause",
      ok: true,
    });
    assert.equal(vm()?.qmpstatus, "paused");
    const status = await pveCli(fake, caFile, ["pve/100", "status", "--json"]);
    assert.deepEqual(JSON.parse(status.stdout), {
      container: "pve/100",
      guest: "qemu",
      status: "paused",
    });
  });
  await t.step("stop of the paused VM resumes it, then shuts it down", async () => {
    const result = await pveCli(fake, caFile, ["pve/100", "stop", "--timeout", "5"]);
    assert.deepEqual(result, { code: 0, stdout: "stopped VM pve/100\n", stderr: "" });
    assert.equal(vm()?.status, "stopped");
    const types = fake.tasks("pve").map((task) => task.type);
    assert.deepEqual(types.slice(-2), ["qmresume", "qmshutdown"]);
  });
  await t.step("--help says a vmid may be a CT or a VM", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /LXC container \(CT\) or a QEMU virtual machine \(VM\)/);
  });
});
