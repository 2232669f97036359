import assert from "node:assert/strict";
import { HttpClient } from "../../_http/client.ts";
import { answerEach, RawServer } from "./_raw_server.ts";

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${
    new TextEncoder().encode(body).byteLength
  }\r\n${extra}\r\n${body}`;

Deno.test("HttpClient.request() keeps the reason phrase exactly as sent", async (t) => {
  const cases: [string, Uint8Array | string, string][] = [
    [
      "with spaces",
      "HTTP/1.1 500 unable to create CT 100 - storage 'local' does not exist\r\n",
      "unable to create CT 100 - storage 'local' does not exist",
    ],
    ["in UTF-8", "HTTP/1.1 400 Paramètre invalide: ‹vmid›\r\n", "Paramètre invalide: ‹vmid›"],
    [
      "in Latin-1",
      new Uint8Array([
        ...new TextEncoder().encode("HTTP/1.1 400 ung"),
        0xfc,
        ...new TextEncoder().encode("ltig\r\n"),
      ]),
      "ungültig",
    ],
    ["empty after a space", "HTTP/1.1 200 \r\n", ""],
    ["missing", "HTTP/1.1 200\r\n", ""],
  ];
  for (const [name, statusLine, expected] of cases) {
    await t.step(name, async () => {
      await using server = await RawServer.start(async (conn) => {
        await conn.readRequest();
        await conn.write(statusLine);
        await conn.write("Content-Length: 0\r\n\r\n");
      });
      using client = new HttpClient({ target: server.target });
      await using response = await client.request({ method: "GET", path: "/" });
      assert.equal(response.statusText, expected);
    });
  }
});

Deno.test("HttpClient.request() reuses keep-alive connections", async () => {
  await using server = await RawServer.start(answerEach(ok("hi")));
  using client = new HttpClient({ target: server.target });
  for (let i = 0; i < 3; i++) {
    const response = await client.request({ method: "GET", path: "/" });
    assert.equal(await response.text(), "hi");
  }
  assert.equal(server.accepts, 1);
  assert.equal(client.idleConnections, 1);
});
