/**
 * A server that answers out of turn: an unsolicited response written on an
 * idle kept-alive connection, before the next request. The bytes make the
 * connection unusable; they are never read as the next call's answer.
 */

import assert from "node:assert/strict";
import { CT_RUNNING, dockerAt, proxmoxAt } from "./_providers.ts";
import { HostileServer, inspect, PING, pveGuestList, pveTls, respond } from "./_server.ts";

const TRIALS = 200;

/** Resolves after the event loop has run once (I/O included). */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * After each real answer, the server writes a stray answer that says
 * "stopped" on the idle connection and tells the test it did.
 */
function strayAfterEachAnswer(answer: Uint8Array, stray: Uint8Array) {
  let written = Promise.withResolvers<void>();
  const server = (tls?: { cert: string; key: string }) => {
    const handler = async (conn: import("./_server.ts").HostileConn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.path === "/_ping") {
          await conn.write(PING);
          continue;
        }
        const guests = pveGuestList(request);
        if (guests) {
          await conn.write(guests);
          continue;
        }
        await conn.write(answer);
        await conn.write(stray);
        written.resolve();
      }
    };
    return tls ? HostileServer.tls(tls, handler) : HostileServer.unix(handler);
  };
  return {
    server,
    /** Waits until the stray answer of the last call is out. */
    async strayWritten() {
      await written.promise;
      written = Promise.withResolvers<void>();
    },
  };
}

Deno.test("A stray answer on an idle connection is never taken for the next call's", async (t) => {
  await t.step(`Docker: ${TRIALS} calls, each after a stray "exited"`, async () => {
    const script = strayAfterEachAnswer(inspect("running"), inspect("exited"));
    await using server = await script.server();
    using provider = dockerAt(server);
    let desyncs = 0;
    for (let i = 0; i < TRIALS; i++) {
      if (await provider.containerStatus() !== "running") desyncs++;
      await script.strayWritten();
      // The stray bytes are in; the next call comes a moment later.
      for (let turns = i % 3; turns >= 0; turns--) await turn();
    }
    assert.equal(desyncs, 0);
    // Each stray answer cost its connection: one per call.
    assert.equal(server.accepted, TRIALS);
    assert.ok(server.peakOpen <= 2);
  });

  await t.step(`Proxmox over TLS: ${TRIALS / 4} calls, each after a stray "stopped"`, async () => {
    const tls = await pveTls();
    const stopped = JSON.stringify({ data: { vmid: 101, name: "web", status: "stopped" } });
    const script = strayAfterEachAnswer(respond(200, CT_RUNNING), respond(200, stopped));
    await using server = await script.server(tls);
    using provider = await proxmoxAt(server, tls.ca);
    await script.strayWritten();
    let desyncs = 0;
    for (let i = 0; i < TRIALS / 4; i++) {
      // The stray TLS record, a small segment right after the answer's, waits for
      // the client's delayed ACK (Nagle, up to 40 ms) before it is on the wire.
      await new Promise((resolve) => setTimeout(resolve, 60));
      if (await provider.containerStatus() !== "running") desyncs++;
      await script.strayWritten();
    }
    assert.equal(desyncs, 0);
    assert.equal(server.accepted, TRIALS / 4 + 1);
  });
});
