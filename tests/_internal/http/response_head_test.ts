import assert from "node:assert/strict";
import {
  findHeadEnd,
  parseResponseHead,
  readResponseHead,
} from "../../../_internal/http/_response_head.ts";
import { scriptedConnection, splitAt } from "../../_fakes/scripted_conn.ts";

const encoder = new TextEncoder();

Deno.test("parseResponseHead() parses the status line and fields", { permissions: "none" }, () => {
  const head = parseResponseHead(
    encoder.encode("HTTP/1.0 404 No such container: web\r\nA: 1\r\na:  2 \r\nEmpty:\r\n\r\n"),
  );
  assert.equal(head.minorVersion, 0);
  assert.equal(head.status, 404);
  assert.equal(head.statusText, "No such container: web");
  assert.equal(head.headers.get("a"), "1, 2");
  assert.equal(head.headers.get("empty"), "");
});

Deno.test("parseResponseHead() accepts bare LF line endings", { permissions: "none" }, () => {
  const head = parseResponseHead(encoder.encode("HTTP/1.1 200 OK\nX: y\n\n"));
  assert.equal(head.statusText, "OK");
  assert.equal(head.headers.get("x"), "y");
});

Deno.test(
  "parseResponseHead() keeps non-ASCII header bytes as Latin-1",
  { permissions: "none" },
  () => {
    const bytes = new Uint8Array([
      ...encoder.encode("HTTP/1.1 200 OK\r\nX: "),
      0xc3,
      0xa9,
      0xff,
      ...encoder.encode("\r\n\r\n"),
    ]);
    assert.equal(parseResponseHead(bytes).headers.get("x"), "\u00c3\u00a9\u00ff");
  },
);

Deno.test("findHeadEnd() finds the blank line", { permissions: "none" }, () => {
  const bytes = encoder.encode("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody");
  assert.equal(findHeadEnd(bytes, 0, bytes.length), bytes.length - 4);
  assert.equal(findHeadEnd(bytes, 0, bytes.length - 5), -1);
  assert.equal(findHeadEnd(encoder.encode("X\n\nbody"), 0, 7), 3);
});

Deno.test(
  "readResponseHead() finds a head split at any point",
  { permissions: "none" },
  async () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (let i = 1; i < wire.length; i++) {
      const connection = scriptedConnection(splitAt(wire, i));
      const head = await readResponseHead(connection);
      assert.equal(head.headers.get("content-length"), "0", `split at ${i}`);
      assert.equal(connection.start, connection.end);
    }
  },
);
