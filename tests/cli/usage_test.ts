import assert from "node:assert/strict";
import { main } from "../../cli.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { runCli } from "./_cli.ts";

/** Runs `main()` in this process with in-memory output. */
async function mainText(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const decoder = new TextDecoder();
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: {
      write(bytes) {
        stdout += decoder.decode(bytes);
        return Promise.resolve(bytes.length);
      },
    },
    stderr: {
      write(bytes) {
        stderr += decoder.decode(bytes);
        return Promise.resolve(bytes.length);
      },
    },
  });
  return { code, stdout, stderr };
}

const USAGE_LINE = /^usage: idlewatcher docker <container> <command>/m;

Deno.test({
  name: "main() prints the usage line and exits 2 for a bad command line",
  permissions: "none",
  async fn(t) {
    const cases: [string, string[], RegExp][] = [
      ["nothing", [], /Missing the runtime/],
      ["an unknown runtime", ["lxd", "web", "status"], /Unknown runtime "lxd"/],
      ["no container", ["docker"], /Missing the container/],
      ["no command", ["docker", "web"], /Missing the command/],
      ["an unknown command", ["docker", "web", "restart"], /Unknown command "restart"/],
      ["an unknown flag", ["docker", "web", "status", "--force"], /Unknown flag --force/],
      ["a short flag", ["docker", "web", "status", "-f"], /Unknown flag -f: the short flags/],
      ["a flag without its value", ["docker", "web", "stop", "--timeout"], /--timeout needs/],
      ["an invalid signal", ["docker", "web", "stop", "--signal", "SIGFOO"], /--signal "SIGFOO"/],
      ["a signal number it does not know", ["docker", "web", "kill", "-s", "7"], /--signal "7"/],
      ["a text timeout", ["docker", "web", "stop", "--timeout", "soon"], /--timeout "soon"/],
      ["a negative timeout", ["docker", "web", "wait", "running", "--timeout=-1"], /--timeout/],
      ["a fractional stop timeout", ["docker", "web", "stop", "--timeout", "1.5"], /whole/],
      ["--signal on status", ["docker", "web", "status", "--signal", "TERM"], /--signal applies/],
      ["--timeout on kill", ["docker", "web", "kill", "--timeout", "3"], /--timeout applies/],
      ["a proxmox flag on docker", ["docker", "web", "status", "--url", "x"], /proxmox flag/],
      ["a docker flag on proxmox", ["proxmox", "pve/101", "status", "--socket", "/s"], /docker/],
      ["--host with --socket", ["docker", "web", "status", "--host", "a", "--socket", "b"], /not/],
      ["a flag given twice", ["docker", "web", "status", "--json", "--json"], /given twice/],
      ["a value on a switch", ["docker", "web", "status", "--json=yes"], /takes no value/],
      ["wait without a status", ["docker", "web", "wait"], /Missing the status/],
      ["wait for an unknown status", ["docker", "web", "wait", "up"], /Unknown status "up"/],
      ["an extra argument", ["docker", "web", "status", "now"], /Unexpected argument "now"/],
      ["a node without vmid", ["proxmox", "pve/", "status"], /expected <vmid> or <node>\/<vmid>/],
      ["a vmid that is no number", ["proxmox", "pve/web", "status"], /<node>\/<vmid>/],
    ];
    for (const [name, args, message] of cases) {
      await t.step(name, async () => {
        const { code, stdout, stderr } = await mainText(args);
        assert.equal(code, 2);
        assert.equal(stdout, "");
        const lines = stderr.trimEnd().split("\n");
        assert.equal(lines.length, 2, stderr);
        assert.match(lines[0], /^idlewatcher: /);
        assert.match(lines[0], message);
        assert.match(lines[1], USAGE_LINE);
      });
    }
  },
});

Deno.test({
  name: "main() prints help and version on stdout",
  permissions: "none",
  async fn(t) {
    for (const args of [["--help"], ["-h"], ["help"], ["docker", "--help"]]) {
      await t.step(args.join(" "), async () => {
        const { code, stdout, stderr } = await mainText(args);
        assert.equal(code, 0);
        assert.equal(stderr, "");
        for (const word of ["status", "wait", "--json", "PROXMOX_SECRET", "124"]) {
          assert.ok(stdout.includes(word), `help mentions ${word}`);
        }
      });
    }
    await t.step("--version", async () => {
      const { code, stdout } = await mainText(["--version"]);
      assert.equal(code, 0);
      assert.equal(stdout, `idlewatcher ${denoJson.version}\n`);
    });
  },
});

Deno.test("cli.ts prints the usage line and exits 2 as a program", async () => {
  const { code, stdout, stderr } = await runCli(["docker", "web", "stop", "--signal", "NOPE"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^idlewatcher: Invalid --signal "NOPE"/);
  assert.match(stderr, USAGE_LINE);
  assert.doesNotMatch(stderr, /\bat /, "no stack trace");
});

Deno.test("cli.ts has no side effects when imported", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const cli = await import(${JSON.stringify(import.meta.resolve("../../cli.ts"))});` +
      `console.log(typeof cli.main);`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(decoder.decode(output.stderr), "");
  assert.equal(decoder.decode(output.stdout), "function\n");
  assert.equal(output.code, 0);
});
