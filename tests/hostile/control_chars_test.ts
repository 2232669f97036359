/**
 * Server text with control characters (CR, LF, ESC, BEL, NUL): escaped in
 * every message, field and log line built from it, so that a daemon or PVE
 * can neither drive the user's terminal nor forge a log line.
 */

import assert from "node:assert/strict";
import { ApiError } from "../../errors.ts";
import { answerError } from "../../proxmox/_errors.ts";
import { dockerAt, LinesLogger } from "./_providers.ts";
import { HostileServer, PING, respond } from "./_server.ts";

const HOSTILE = "is not running\x1b[2J\r\nERROR forged line\x07\x00\x9b";
// deno-lint-ignore no-control-regex -- looking for control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

function assertClean(text: string, where: string): void {
  assert.ok(!CONTROL.test(text), `${where} holds a control character: ${JSON.stringify(text)}`);
}

Deno.test("A Docker error's message, serverMessage and log line escape the daemon's control characters", async () => {
  await using server = await HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      if (request.path === "/_ping") await conn.write(PING);
      else await conn.write(respond(409, JSON.stringify({ message: `Container web ${HOSTILE}` })));
    }
  });
  const logger = new LinesLogger();
  using provider = dockerAt(server, { logger });
  const error = await provider.containerPause().then(() => undefined, (error) => error);
  assert.ok(error instanceof ApiError, `expected an ApiError, got ${error}`);
  assertClean(error.message, "message");
  assertClean(error.serverMessage, "serverMessage");
  // The stack's own frames are lines of their own; its head is the message.
  assertClean(String(error.stack).split("\n    at ")[0], "stack");
  assert.match(error.serverMessage, /\\x1b\[2J\\r\\nERROR forged line\\x07\\x00\\x9b/);
  for (const line of logger.lines) assertClean(line.replace(/\n/g, " "), "log line");
});

Deno.test("A Proxmox error escapes the control characters of PVE's message and reason phrase", async (t) => {
  const context = { what: 'start CT 101 on node "pve"', action: "start", container: "101" };
  await t.step("in the body", () => {
    const error = answerError(
      { status: 500, statusText: "X", body: JSON.stringify({ data: null, message: HOSTILE }) },
      "/nodes/pve/lxc/101/status/start",
      context,
    );
    assertClean(error.message, "message");
    if (error instanceof ApiError) assertClean(error.serverMessage, "serverMessage");
  });
  await t.step("in the reason phrase", () => {
    const error = answerError(
      { status: 500, statusText: HOSTILE.replace(/[\r\n]/g, ""), body: "" },
      "/nodes/pve/lxc/101/status/start",
      context,
    );
    assertClean(error.message, "message");
  });
});
