/**
 * Answers far larger than any real one: refused while they arrive, with a
 * ConnectionError that says the answer is too large, the connection
 * dropped, and memory bounded whatever the server sends.
 */

import assert from "node:assert/strict";
import { ConnectionError } from "../../errors.ts";
import { CT_RUNNING, dockerAt, proxmoxAt } from "./_providers.ts";
import {
  type HostileConn,
  HostileServer,
  inspect,
  PING,
  pveGuestList,
  pveTls,
  respond,
} from "./_server.ts";

const MiB = 1024 * 1024;
const PIECE = new Uint8Array(64 * 1024).fill(0x61);

/** What one oversized answer made the server send, and what the client did. */
interface Flood {
  /** Body bytes the server managed to write before the client hung up. */
  sent: number;
}

type Framing = "content-length" | "chunked" | "until-close";

/**
 * Writes a head for an endless body in `framing`, then body bytes until the
 * client hangs up or `limit` bytes are out.
 */
async function flood(
  conn: HostileConn,
  framing: Framing,
  record: Flood,
  status = "200 OK",
  limit = 600 * MiB,
) {
  const encoder = new TextEncoder();
  const field = framing === "content-length"
    ? `Content-Length: ${limit}`
    : framing === "chunked"
    ? "Transfer-Encoding: chunked"
    : "Connection: close";
  const head = `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\n${field}\r\n\r\n`;
  if (!await conn.send(head)) return;
  const chunkHead = encoder.encode(`${PIECE.byteLength.toString(16)}\r\n`);
  const crlf = encoder.encode("\r\n");
  while (record.sent < limit) {
    if (framing === "chunked") {
      if (!await conn.send(chunkHead) || !await conn.send(PIECE) || !await conn.send(crlf)) {
        return;
      }
    } else if (!await conn.send(PIECE)) {
      return;
    }
    record.sent += PIECE.byteLength;
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), "condition not reached");
}

function assertTooLarge(error: unknown, limit: string): true {
  assert.ok(error instanceof ConnectionError, `expected a ConnectionError, got ${error}`);
  assert.match(error.message, new RegExp(`too large \\(larger than ${limit}\\)`));
  assert.match(error.message, /connection was dropped/);
  return true;
}

Deno.test("containerStatus() refuses a Docker answer larger than 4 MiB while it arrives", async (t) => {
  for (const framing of ["content-length", "chunked", "until-close"] as const) {
    await t.step(`${framing} body`, async () => {
      const record: Flood = { sent: 0 };
      await using server = await HostileServer.unix(async (conn) => {
        for (let request; (request = await conn.readRequest()) !== null;) {
          if (request.path === "/_ping") await conn.write(PING);
          else return await flood(conn, framing, record);
        }
      });
      using provider = dockerAt(server);
      const rssBefore = Deno.memoryUsage().rss;
      await assert.rejects(provider.containerStatus(), (error) => assertTooLarge(error, "4 MiB"));
      // The memory bound: the client stopped reading a little past the limit
      // (what the sockets' buffers hold on top), and its RSS barely moved.
      assert.ok(record.sent < 16 * MiB, `the server wrote ${record.sent} bytes`);
      assert.ok(Deno.memoryUsage().rss - rssBefore < 64 * MiB);
      // The connection was dropped: the server sees it close.
      await until(() => server.open === 0);
    });
  }

  await t.step("an error answer (500) with an endless body", async () => {
    const record: Flood = { sent: 0 };
    await using server = await HostileServer.unix(async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.path === "/_ping") await conn.write(PING);
        else return await flood(conn, "chunked", record, "500 Internal Server Error");
      }
    });
    using provider = dockerAt(server);
    await assert.rejects(provider.containerStart(), (error) => assertTooLarge(error, "4 MiB"));
    assert.ok(record.sent < 16 * MiB);
  });

  await t.step("a 4 MiB answer just under the limit still reads", async () => {
    const padding = "x".repeat(4 * MiB - 200);
    await using server = await HostileServer.unix(async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.path === "/_ping") await conn.write(PING);
        else {
          await conn.write(respond(
            200,
            JSON.stringify({ Id: "c0ffee", State: { Status: "exited" }, Padding: padding }),
          ));
        }
      }
    });
    using provider = dockerAt(server);
    assert.equal(await provider.containerStatus(), "stopped");
  });

  await t.step("the next call works on a new connection", async () => {
    const record: Flood = { sent: 0 };
    let inspections = 0;
    await using server = await HostileServer.unix(async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.path === "/_ping") await conn.write(PING);
        else if (inspections++ === 0) return await flood(conn, "chunked", record);
        else await conn.write(inspect("running"));
      }
    });
    using provider = dockerAt(server);
    await assert.rejects(provider.containerStatus(), ConnectionError);
    assert.equal(await provider.containerStatus(), "running");
    assert.equal(server.accepted, 2);
  });
});

Deno.test("Proxmox calls refuse an answer larger than 8 MiB while it arrives", async (t) => {
  const tls = await pveTls();
  for (const framing of ["content-length", "chunked", "until-close"] as const) {
    await t.step(`${framing} body`, async () => {
      const record: Flood = { sent: 0 };
      let requests = 0;
      await using server = HostileServer.tls(tls, async (conn) => {
        for (let request; (request = await conn.readRequest()) !== null;) {
          const guests = pveGuestList(request);
          if (guests) await conn.write(guests);
          else if (requests++ === 0) await conn.write(respond(200, CT_RUNNING));
          else return await flood(conn, framing, record);
        }
      });
      using provider = await proxmoxAt(server, tls.ca);
      const rssBefore = Deno.memoryUsage().rss;
      await assert.rejects(provider.containerStatus(), (error) => assertTooLarge(error, "8 MiB"));
      assert.ok(record.sent < 24 * MiB, `the server wrote ${record.sent} bytes`);
      assert.ok(Deno.memoryUsage().rss - rssBefore < 96 * MiB);
      await until(() => server.open === 0);
    });
  }
});
