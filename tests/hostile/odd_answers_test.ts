/**
 * One case for each answer the random-shape tests found (or the review of
 * the parsers showed) to escape as a raw TypeError, SyntaxError or
 * RangeError, or to make a value that later broke: each now gives a
 * documented value or a ProviderError kind.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../errors.ts";
import { EventFormatError, lineTimeNano, parseEventLine } from "../../docker/_watch/_wire.ts";
import { TicketAuth } from "../../proxmox/_auth.ts";
import { answerError } from "../../proxmox/_errors.ts";
import { clusterGuests, GuestLocation, unknownNodeError } from "../../proxmox/_locate.ts";
import { postPowerCall } from "../../proxmox/_power_call.ts";
import { POWER } from "../../proxmox/_api.ts";
import { archiveEstimate, latestPowerTask, parseUpid, waitForTask } from "../../proxmox/_tasks.ts";
import type { Transport } from "../../proxmox/_transport.ts";
import { ApiError } from "../../errors.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";
import { SECRET, TOKEN_ID } from "./_providers.ts";
import { HostileServer, pveTls, respond } from "./_server.ts";

const quiet = { debug() {}, error() {} };
const context = { action: "status", container: "101" };
const UPID = "UPID:pve:0000A1B2:0001C3D4:65700000:vzstart:101:root@pam:";
/** JSON that `String()` cannot turn into text: its `toString` is no function. */
const NO_TO_STRING = JSON.parse('{"toString": 1}');

function pveStub(answer: (path: string) => unknown): Transport {
  return {
    config: { logger: quiet },
    closed: new AbortController().signal,
    request: (_method: string, path: string) => Promise.resolve(answer(path)),
  } as unknown as Transport;
}

Deno.test("parseEventLine() takes no time of 1e21, -5 or 1e309 seconds for an event's time", () => {
  // Before: "1e+21000000000" as timeNano, an invalid Date, and a SyntaxError from BigInt later.
  for (const time of ["1e21", "-5", "1e309", "1.5e300"]) {
    const line = `{"Type":"container","Action":"start","Actor":{"ID":"c0ffee"},"time":${time}}`;
    assert.throws(() => parseEventLine(line, lineTimeNano(line)), EventFormatError, time);
  }
  const line = '{"Type":"container","Action":"start","Actor":{"ID":"c0ffee"},"time":1714557600}';
  assert.equal(parseEventLine(line, undefined)?.timeNano, "1714557600000000000");
});

Deno.test("answerError() shows a PVE parameter error that is not text as JSON", () => {
  // Before: String({"toString": 1}) threw a TypeError.
  const body = JSON.stringify({
    message: "Parameter verification failed.",
    errors: { vmid: NO_TO_STRING },
  });
  const error = answerError({ status: 400, statusText: "X", body }, "/nodes/pve/lxc/x", context);
  assert.ok(error instanceof ProviderError);
  assert.match(error.message, /vmid: \{"toString":1\}/);
});

Deno.test("waitForTask() takes an exit status that is not text for no exit status", async () => {
  // Before: String(exitstatus) threw a TypeError.
  const transport = pveStub((path) =>
    path.endsWith("/tasks") ? [] : { status: "stopped", exitstatus: NO_TO_STRING }
  );
  const exit = await waitForTask(transport, parseUpid(UPID)!, {
    signal: AbortSignal.timeout(2_000),
    context,
  });
  assert.equal(exit, "");
});

Deno.test("latestPowerTask() skips task list entries that are not objects", async () => {
  // Before: `null.type`, a TypeError.
  const transport = pveStub(() => [null, 7, "vzstart", [], { type: "vzsuspend", status: "OK" }]);
  const task = await latestPowerTask(transport, "pve", 101, {
    signal: AbortSignal.timeout(2_000),
    context,
  });
  assert.deepEqual(task, { type: "vzsuspend", status: "OK" });
});

Deno.test("clusterGuests() skips guests whose vmid is no number", async () => {
  // Before: Number({"toString": 1}) threw a TypeError; "%zz" became guest NaN.
  const transport = pveStub(() => [
    { vmid: NO_TO_STRING, type: "lxc", node: "pve" },
    { vmid: "%zz", type: "lxc", node: "pve" },
    { vmid: -1, type: "lxc", node: "pve" },
    null,
    { vmid: "102", type: "qemu", node: "pve" },
    { vmid: 101, type: "lxc", node: "pve" },
  ]);
  const guests = await clusterGuests(transport, { signal: AbortSignal.timeout(2_000), context });
  assert.deepEqual([...guests.keys()].sort(), [101, 102]);
});

Deno.test("unknownNodeError() reads a node list that is not a list as no list", async () => {
  // Before: `(nodes ?? []).map` on an object or a string, a TypeError.
  const cause = new ApiError("500", { status: 500 });
  const where = { node: "gone", vmid: 101, type: "lxc" as const };
  for (const nodes of [{ node: "pve" }, "pve", [null, { node: "pve" }]]) {
    const transport = pveStub(() => nodes);
    const error = await unknownNodeError(transport, where, cause, AbortSignal.timeout(2_000));
    if (Array.isArray(nodes)) assert.match(String(error?.message), /available nodes: pve/);
    else assert.equal(error, undefined);
  }
});

Deno.test("archiveEstimate() leaves out archived tasks of no plausible duration", async () => {
  // Before: 1e308 - -1e308 is Infinity, and the estimate was no number.
  const upid = parseUpid(UPID)!;
  const task = (starttime: number, endtime: number) => ({
    type: "vzstart",
    status: "OK",
    starttime,
    endtime,
  });
  const transport = pveStub(() => [
    task(-1e308, 1e308),
    task(-1e308, 1e308),
    task(0, 1e300),
    task(100, 101),
    task(200, 201),
  ]);
  const end = await archiveEstimate(transport, upid, {
    signal: AbortSignal.timeout(2_000),
    context,
  });
  assert.equal(end, undefined, "two plausible tasks are too few to estimate from");
});

Deno.test("postPowerCall() names an answer without a task id in at most 100 characters of it", async () => {
  const transport = pveStub(() => ({ upid: "x".repeat(1_000_000) }));
  const location = new GuestLocation(transport, { node: "pve", vmid: 101, type: "lxc" });
  await assert.rejects(
    postPowerCall(transport, POWER.start, {
      location,
      context,
      signal: AbortSignal.timeout(2_000),
    }),
    (error) => {
      assert.ok(error instanceof ProviderError);
      assert.ok(error.message.length < 300, `${error.message.length} characters`);
      return true;
    },
  );
});

Deno.test("TicketAuth renews as the user it logged in as when PVE's username is not text", async () => {
  const logins: string[] = [];
  const auth = new TicketAuth("root@pam", "correct horse battery", (userid) => {
    logins.push(userid);
    return Promise.resolve({
      ticket: `PVE:root@pam:${logins.length}::signature`,
      CSRFPreventionToken: "65700000:csrf-token",
      username: NO_TO_STRING,
    });
  }, { signal: new AbortController().signal, renewAfterMs: 0 });
  await auth.authorize("GET", AbortSignal.timeout(2_000));
  await auth.authorize("GET", AbortSignal.timeout(2_000));
  assert.deepEqual(logins, ["root@pam", "root@pam"]);
});

Deno.test("A Proxmox watch skips listed guests that are not objects", async () => {
  // Before: `null.vmid` in the poll: a raw TypeError in the watch's errors stream.
  const tls = await pveTls();
  let polls = 0;
  await using server = HostileServer.tls(tls, async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const path = request.path.replace(/^\/api2\/json/, "").replace(/\?.*/, "");
      let data: unknown = { status: "running", name: "web", vmid: 101 };
      if (path === "/cluster/resources") data = [{ vmid: 101, type: "lxc", node: "pve" }];
      if (path === "/nodes/pve/lxc") {
        polls++;
        data = [null, "101", { vmid: NO_TO_STRING }, { vmid: 101, status: "running", name: "web" }];
      }
      await conn.write(respond(200, `{"data":${JSON.stringify(data)}}`));
    }
  });
  using provider = await newProxmoxProvider("pve", 101, {
    config: {
      url: server.url,
      tokenId: TOKEN_ID,
      secret: SECRET,
      caCerts: [tls.ca],
      watchInterval: 0.1,
      logger: quiet,
    },
  });
  const stop = new AbortController();
  const { events, errors } = provider.watch({ signal: stop.signal });
  const seen: unknown[] = [];
  const reading = Promise.all([
    (async () => {
      for await (const error of errors) seen.push(error);
    })(),
    (async () => {
      for await (const _ of events) { /* none expected: the CT stays running */ }
    })(),
  ]);
  while (polls < 3) await new Promise((resolve) => setTimeout(resolve, 50));
  stop.abort();
  await reading;
  assert.deepEqual(seen.map(String), []);
});
