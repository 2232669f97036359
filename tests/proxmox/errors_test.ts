import assert from "node:assert/strict";
import { ApiError, ConnectionError, NotFoundError } from "../../errors.ts";
import { answerError } from "../../proxmox/_errors.ts";

const CONTEXT = { what: 'start CT 101 on node "pve"', action: "start", container: "101" };
const START = "/nodes/pve/lxc/101/status/start";

function body(message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ data: null, ...extra, message: `${message}\n` });
}

Deno.test("answerError() keeps PVE's message from the body (>= 8.4) or the reason phrase (older)", async (t) => {
  await t.step("PVE 8.4 body message", () => {
    const error = answerError(
      { status: 500, statusText: "CT 101 already running", body: body("CT 101 already running") },
      START,
      CONTEXT,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 500);
    assert.equal(error.serverMessage, "CT 101 already running");
    assert.equal(
      error.message,
      'Cannot start CT 101 on node "pve": PVE returned 500: CT 101 already running',
    );
    assert.equal(error.runtime, "proxmox");
    assert.equal(error.action, "start");
    assert.equal(error.container, "101");
  });
  await t.step("older PVE: reason phrase only", () => {
    const error = answerError(
      { status: 500, statusText: "CT 101 already running", body: '{"data":null}' },
      START,
      CONTEXT,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.serverMessage, "CT 101 already running");
  });
  await t.step("the body wins over a canonical reason phrase", () => {
    const error = answerError(
      { status: 500, statusText: "Internal Server Error", body: body("CT is locked (backup)") },
      START,
      CONTEXT,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.serverMessage, "CT is locked (backup)");
  });
});

Deno.test("answerError() lists each parameter of a 400", () => {
  const error = answerError(
    {
      status: 400,
      statusText: "Parameter verification failed.",
      body: body("Parameter verification failed.", {
        errors: {
          timeout: "type check ('integer') failed - got 'abc'\n",
          forceStop: "type check ('boolean') failed - got 'yes'\n",
        },
      }),
    },
    "/nodes/pve/lxc/101/status/shutdown",
    CONTEXT,
  );
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.match(error.message, /timeout: type check \('integer'\) failed - got 'abc'/);
  assert.match(error.message, /forceStop: type check \('boolean'\) failed - got 'yes'/);
});

Deno.test("answerError() says authentication for 401 and permission for 403, with PVE's text", async (t) => {
  await t.step("401, empty body", () => {
    const error = answerError(
      { status: 401, statusText: "Authentication failed!", body: "" },
      START,
      CONTEXT,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 401);
    assert.match(error.message, /401 \(authentication\): Authentication failed!/);
  });
  await t.step("403 keeps the missing privilege", () => {
    const message = "Permission check failed (/vms/101, VM.PowerMgmt)";
    const error = answerError(
      { status: 403, statusText: message, body: body(message) },
      START,
      CONTEXT,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 403);
    assert.match(
      error.message,
      /403 \(permission\): Permission check failed \(\/vms\/101, VM\.PowerMgmt\)/,
    );
  });
});

Deno.test("answerError() makes 595/596 a ConnectionError naming the node", async (t) => {
  for (
    const [status, reason] of [[595, "No route to host"], [596, "Connection timed out"]] as const
  ) {
    await t.step(`${status}`, () => {
      const error = answerError(
        { status, statusText: reason, body: "" },
        "/nodes/pve2/lxc/101/status/start",
        CONTEXT,
      );
      assert.ok(error instanceof ConnectionError);
      assert.match(error.message, /node "pve2"/);
      assert.match(error.message, new RegExp(`${status} ${reason}`));
    });
  }
});

Deno.test("answerError() makes a 595 on a path with a malformed escape a ConnectionError, not a URIError", () => {
  const error = answerError(
    { status: 595, statusText: "No route to host", body: "" },
    "/nodes/p%zz/lxc/101/status/start",
    CONTEXT,
  );
  assert.ok(error instanceof ConnectionError);
  assert.match(error.message, /node "p%zz"/);
});

Deno.test("answerError() makes a missing CT config a NotFoundError", async (t) => {
  const message = "Configuration file 'nodes/pve/lxc/999.conf' does not exist";
  await t.step("8.4 body", () => {
    const error = answerError(
      { status: 500, statusText: "Internal Server Error", body: body(message) },
      "/nodes/pve/lxc/999/status/current",
      CONTEXT,
    );
    assert.ok(error instanceof NotFoundError);
    assert.match(error.message, /nodes\/pve\/lxc\/999\.conf/);
  });
  await t.step("reason phrase only", () => {
    const error = answerError(
      { status: 500, statusText: message, body: '{"data":null}' },
      "/nodes/pve/lxc/999/status/current",
      CONTEXT,
    );
    assert.ok(error instanceof NotFoundError);
  });
});
