import assert from "node:assert/strict";
import { bodyReader } from "../../../_internal/http/_body.ts";
import type { Connection } from "../../../_internal/http/_connection.ts";
import { readResponseHead } from "../../../_internal/http/_response_head.ts";
import { scriptedConnection, splitAt } from "../../_fakes/scripted_conn.ts";

const decoder = new TextDecoder();

/** Reads a whole response from `connection`; returns every body piece as read. */
async function readAll(connection: Connection, method = "GET") {
  const head = await readResponseHead(connection);
  const body = bodyReader(connection, method, head);
  const pieces: Uint8Array[] = [];
  for (let piece; (piece = await body.read()) !== null;) pieces.push(piece);
  return { head, body, pieces, text: pieces.map((piece) => decoder.decode(piece)).join("") };
}

const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
  "5;ext=1\r\nhello\r\n" + '1\t;a;b="c"\r\n,\r\n' + "6\r\n world\r\n" +
  "0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n";

Deno.test("bodyReader() decodes a chunked body split at any two points", {
  permissions: "none",
}, async () => {
  for (let i = 1; i < CHUNKED.length; i++) {
    for (let j = i; j < CHUNKED.length; j++) {
      const connection = scriptedConnection(splitAt(CHUNKED, i, j));
      const { text, body } = await readAll(connection);
      assert.equal(text, "hello, world", `split at ${i} and ${j}`);
      assert.ok(body.done && body.reusable);
      assert.equal(connection.start, connection.end, "nothing left over");
    }
  }
});

Deno.test("bodyReader() decodes a chunked body arriving a byte at a time", {
  permissions: "none",
}, async () => {
  const { text } = await readAll(scriptedConnection([...CHUNKED]));
  assert.equal(text, "hello, world");
});

Deno.test("bodyReader() returns all buffered chunks as one piece", {
  permissions: "none",
}, async () => {
  const events = Array.from({ length: 100 }, (_, i) => `{"id":${i}}\n`);
  const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    events.map((event) => `${event.length.toString(16)}\r\n${event}\r\n`).join("") + "0\r\n\r\n";
  const { pieces, text } = await readAll(scriptedConnection([wire]));
  assert.equal(pieces.length, 1);
  assert.equal(text, events.join(""));
});

Deno.test("bodyReader() hands out pieces that later reads never overwrite", {
  permissions: "none",
}, async () => {
  // Many small reads fill several buffers; every piece must keep its bytes.
  const chunks = Array.from({ length: 10_000 }, (_, i) => `chunk-${i};`);
  const wire = [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ...chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`),
    "0\r\n\r\n",
  ];
  const { pieces, text } = await readAll(scriptedConnection(wire));
  assert.ok(pieces.length > 5000);
  assert.equal(text, chunks.join(""));
});

Deno.test("bodyReader() reuses its buffer once pieces are released, and loses no byte", {
  permissions: "none",
}, async () => {
  const chunks = Array.from({ length: 20_000 }, (_, i) => `event-${i};`.padEnd(40, "."));
  const wire = [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ...chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`),
    "0\r\n\r\n",
  ];
  for (const release of [false, true]) {
    const connection = scriptedConnection(wire);
    const head = await readResponseHead(connection);
    const body = bodyReader(connection, "GET", head);
    const buffers = new Set<ArrayBufferLike>();
    let text = "";
    for (let piece; (piece = await body.read()) !== null;) {
      buffers.add(piece.buffer);
      text += decoder.decode(piece); // used at once, then released
      if (release) body.release();
    }
    assert.equal(text, chunks.join(""));
    if (release) assert.equal(buffers.size, 1, "one buffer, reused");
    else assert.ok(buffers.size > 5, `${buffers.size} buffers: lent pieces are never written over`);
  }
});

Deno.test("bodyReader() reads Content-Length and until-close bodies", {
  permissions: "none",
}, async (t) => {
  await t.step("Content-Length split anywhere", async () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
    for (let i = 1; i < wire.length; i++) {
      const connection = scriptedConnection(splitAt(wire, i));
      const { text, body } = await readAll(connection);
      assert.equal(text, "hello world");
      assert.ok(body.reusable);
    }
  });
  await t.step("repeated equal Content-Length", async () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok";
    assert.equal((await readAll(scriptedConnection([wire]))).text, "ok");
  });
  await t.step("no Content-Length: until the end of the stream", async () => {
    const { text, body } = await readAll(
      scriptedConnection(["HTTP/1.1 200 OK\r\n\r\nab", "cd", "ef"]),
    );
    assert.equal(text, "abcdef");
    assert.ok(!body.reusable);
  });
  await t.step("HEAD responses have no body", async () => {
    const connection = scriptedConnection(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"]);
    const { text, body } = await readAll(connection, "HEAD");
    assert.equal(text, "");
    assert.ok(body.reusable);
  });
});

Deno.test("bodyReader() rejects a body cut short with UnexpectedEof", {
  permissions: "none",
}, async () => {
  const connection = scriptedConnection(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"]);
  await assert.rejects(readAll(connection), Deno.errors.UnexpectedEof);
});
