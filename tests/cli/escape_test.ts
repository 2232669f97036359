/**
 * The CLI never prints a runtime's text raw: a container name, an event
 * attribute or an error message with ESC, CR, LF, BEL, NUL, DEL or C1
 * characters comes out escaped, in text and in `--json` output alike. Real
 * engines refuse such names, so a fake engine sends them.
 */

import assert from "node:assert/strict";
import { FakeDocker } from "../_fakes/docker.ts";
import { HostileServer, PING, respond } from "../hostile/_server.ts";
import { runCli, RunningCli } from "./_cli.ts";

/** A name that would retitle the window, forge a line, and start a C1 control sequence. */
const NAME = "web\x1b]0;owned\x07\r\nidlewatcher: forged\x00\x9b31m\x7f";
const NAME_ESCAPED = "web\\x1b]0;owned\\x07\\r\\nidlewatcher: forged\\x00\\x9b31m\\x7f";
const SIGNAL = "15\x1b[2J";
const EXIT_CODE = "0\r\n2024-01-01T00:00:00.000Z started forged";
/** Any control character but the newline that ends each line. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/;

function assertNoRawControl(text: string, where: string): void {
  const found = RAW_CONTROL.exec(text);
  assert.equal(
    found,
    null,
    `${where} holds a raw ${JSON.stringify(found?.[0])}: ${JSON.stringify(text)}`,
  );
}

/** Runs `watch` on a fake engine's container with a hostile name, sends two hostile events, stops. */
async function watchHostile(json: boolean): Promise<{ lines: string[]; stderr: string }> {
  await using engine = await FakeDocker.start();
  const container = engine.addContainer(NAME);
  await using cli = new RunningCli([
    "docker",
    container.id,
    "watch",
    "--socket",
    engine.socketPath,
    ...(json ? ["--json"] : []),
  ]);
  for (let waited = 0; engine.openEventStreams === 0; waited += 20) {
    assert.ok(waited < 20_000, "the CLI never opened the events stream");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  engine.emit(container.id, "kill", { signal: SIGNAL });
  engine.emit(container.id, "die", { exitCode: EXIT_CODE });
  const lines = [await cli.nextLine(), await cli.nextLine()].map(String);
  cli.kill("SIGINT");
  const result = await cli.finished();
  assert.equal(result.code, 0, result.stderr);
  lines.push(...result.stdout.split("\n").filter(Boolean));
  return { lines, stderr: result.stderr };
}

Deno.test("idlewatcher docker watch escapes the daemon's names and attributes", async (t) => {
  await t.step("text: one line per event, every control character escaped", async () => {
    const { lines, stderr } = await watchHostile(false);
    assert.equal(lines.length, 2, `a forged line: ${JSON.stringify(lines)}`);
    for (const line of lines) {
      assertNoRawControl(line, "a watch line");
      assert.match(line, /^\d{4}-\d\d-\d\dT\S+Z (killed|died) /);
      assert.ok(line.includes(NAME_ESCAPED), line);
    }
    assert.ok(lines[0].includes("signal 15\\x1b[2J"), lines[0]);
    assert.ok(
      lines[1].includes("exit code 0\\r\\n2024-01-01T00:00:00.000Z started forged"),
      lines[1],
    );
    assertNoRawControl(stderr, "stderr");
  });
  await t.step("--json: the same text once parsed, no raw control character", async () => {
    const { lines, stderr } = await watchHostile(true);
    assert.equal(lines.length, 2, `a forged line: ${JSON.stringify(lines)}`);
    for (const line of lines) {
      assertNoRawControl(line, "a --json line");
      assert.equal(JSON.parse(line).actorName, NAME);
    }
    assert.equal(JSON.parse(lines[0]).actorAttributes.signal, SIGNAL);
    assert.equal(JSON.parse(lines[1]).actorAttributes.exitCode, EXIT_CODE);
    assertNoRawControl(stderr, "stderr");
  });
});

Deno.test("idlewatcher docker escapes the daemon's error message on stderr", async (t) => {
  const message = "boom\x1b[2J\x07\r\nidlewatcher: forged\x00\x9b31m";
  await using server = await HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      await conn.write(
        request.path === "/_ping" ? PING : respond(500, JSON.stringify({ message })),
      );
    }
  });
  const socket = server.path!;
  for (const flags of [[], ["--json"], ["--verbose"]]) {
    await t.step(`status ${flags.join(" ")}`.trim(), async () => {
      const result = await runCli(["docker", "web", "status", "--socket", socket, ...flags]);
      assert.equal(result.code, 1, result.stderr);
      assertNoRawControl(result.stderr, "stderr");
      assertNoRawControl(result.stdout, "stdout");
      if (flags[0] === "--json") {
        assert.equal(result.stderr.split("\n").filter(Boolean).length, 1, result.stderr);
        assert.match(
          JSON.parse(result.stderr).error,
          /boom\\x1b\[2J\\x07\\r\\nidlewatcher: forged/,
        );
      } else {
        assert.ok(
          result.stderr.includes("boom\\x1b[2J\\x07\\r\\nidlewatcher: forged\\x00\\x9b31m"),
        );
        assert.equal(
          result.stderr.split("\n").filter((l) => l.startsWith("idlewatcher:")).length,
          1,
        );
      }
    });
  }
});
