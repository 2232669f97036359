import assert from "node:assert/strict";
import { type LineError, LineSplitter } from "../../_internal/line_stream.ts";

const encoder = new TextEncoder();

/** Feeds `chunks` to a splitter and returns what came out, in order. */
function split(chunks: Uint8Array[], maxLineLength?: number): (string | LineError)[] {
  const out: (string | LineError)[] = [];
  const sink = { line: (text: string) => out.push(text), invalid: (e: LineError) => out.push(e) };
  const splitter = new LineSplitter({ maxLineLength });
  for (const chunk of chunks) splitter.push(chunk, sink);
  splitter.end(sink);
  return out;
}

/** Cuts `bytes` at the given offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const offset of [...offsets, bytes.length]) {
    chunks.push(bytes.slice(start, offset));
    start = offset;
  }
  return chunks;
}

function concat(...parts: (string | number[])[]): Uint8Array {
  const arrays = parts.map((part) =>
    typeof part === "string" ? encoder.encode(part) : new Uint8Array(part)
  );
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

function isError(item: string | LineError): item is LineError {
  return typeof item !== "string";
}

Deno.test({
  name: "LineSplitter.push() yields the same lines however the bytes are chunked",
  permissions: "none",
  fn() {
    const lines = ['{"a":1}', '{"name":"café ☕ 🐳"}', "{}", '{"b":"x"}'];
    const bytes = encoder.encode(lines.join("\n") + "\n");
    // Every single cut point, including inside multi-byte characters.
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(split(cut(bytes, [i])), lines, `cut at ${i}`);
    }
    // One byte at a time.
    assert.deepEqual(split(cut(bytes, [...bytes.keys()].slice(1))), lines);
    // Random cuts.
    for (let round = 0; round < 200; round++) {
      const offsets = [
        ...new Set(Array.from({ length: 4 }, () => {
          return Math.floor(Math.random() * bytes.length);
        })),
      ].sort((a, b) => a - b);
      assert.deepEqual(split(cut(bytes, offsets)), lines, `cuts at ${offsets}`);
    }
  },
});

Deno.test({
  name: "LineSplitter.push() delivers every line of a chunk and skips blank ones",
  permissions: "none",
  fn() {
    const chunk = encoder.encode('{"a":1}\n\n  \r\n{"b":2}\r\n{"c":3}\n');
    assert.deepEqual(split([chunk]), ['{"a":1}', '{"b":2}\r', '{"c":3}']);
  },
});

Deno.test({
  name: "LineSplitter.end() delivers a last line that has no newline",
  permissions: "none",
  fn() {
    assert.deepEqual(split([encoder.encode('{"a":1}\n{"b"'), encoder.encode(":2}")]), [
      '{"a":1}',
      '{"b":2}',
    ]);
    assert.deepEqual(split([encoder.encode('{"a":1}\n')]), ['{"a":1}']);
  },
});

Deno.test({
  name: "LineSplitter.push() drops an over-long line, reports it once, and carries on",
  permissions: "none",
  async fn(t) {
    const max = 64;
    const long = "x".repeat(200);
    await t.step("the long line spans many chunks", () => {
      const bytes = encoder.encode(`{"a":1}\n${long}\n{"b":2}\n`);
      const out = split(cut(bytes, [3, 20, 50, 90, 130, 170, 205, 209]), max);
      assert.equal(out.length, 3);
      assert.equal(out[0], '{"a":1}');
      assert.ok(isError(out[1]) && out[1].length > max, "reported as too long");
      assert.equal(out[2], '{"b":2}');
    });
    await t.step("the long line sits whole inside one chunk", () => {
      const out = split([encoder.encode(`{"a":1}\n${long}\n{"b":2}\n`)], max);
      assert.deepEqual(out.map((item) => isError(item) ? item.length : item), [
        '{"a":1}',
        200,
        '{"b":2}',
      ]);
    });
    await t.step("a line of exactly the cap is kept", () => {
      const exact = "y".repeat(max);
      assert.deepEqual(split(cut(encoder.encode(`${exact}\n${exact}\n`), [10, 70]), max), [
        exact,
        exact,
      ]);
    });
    await t.step("an over-long line never ended is reported, not buffered", () => {
      const sink = { lines: [] as string[], errors: [] as LineError[] };
      const splitter = new LineSplitter({ maxLineLength: max });
      const handler = {
        line: (text: string) => sink.lines.push(text),
        invalid: (e: LineError) => sink.errors.push(e),
      };
      for (let i = 0; i < 1000; i++) splitter.push(encoder.encode("z".repeat(50)), handler);
      assert.equal(sink.errors.length, 1);
      splitter.push(encoder.encode('zzz\n{"ok":true}\n'), handler);
      splitter.end(handler);
      assert.deepEqual(sink.lines, ['{"ok":true}']);
      assert.equal(sink.errors.length, 1);
    });
  },
});

Deno.test({
  name: "LineSplitter.push() reports a line that is not UTF-8 and keeps its neighbours",
  permissions: "none",
  async fn(t) {
    const bytes = concat('{"a":1}\n', [0x7b, 0xff, 0xfe, 0x7d], "\n", '{"b":"é"}\n');
    await t.step("in one chunk", () => {
      const out = split([bytes]);
      assert.equal(out.length, 3);
      assert.equal(out[0], '{"a":1}');
      assert.ok(isError(out[1]) && /UTF-8/.test(out[1].message));
      assert.equal(out[2], '{"b":"é"}');
    });
    await t.step("split across chunks", () => {
      const out = split(cut(bytes, [9, 10, 12]));
      assert.deepEqual(out.map((item) => isError(item) ? "error" : item), [
        '{"a":1}',
        "error",
        '{"b":"é"}',
      ]);
    });
    await t.step("a lone continuation byte at a chunk edge is not mistaken", () => {
      const euro = encoder.encode("€"); // three bytes
      const line = concat('{"p":"', Array.from(euro), '"}\n');
      assert.deepEqual(split(cut(line, [7, 8])), ['{"p":"€"}']);
    });
    await t.step("a U+FFFD the line really holds is kept", () => {
      const line = '{"p":"\uFFFD"}';
      assert.deepEqual(split([concat(line, "\n", '{"q":1}\n')]), [line, '{"q":1}']);
      assert.deepEqual(split(cut(encoder.encode(line + "\n"), [3])), [line]);
    });
  },
});

Deno.test("LineSplitter.push() keeps nothing of a chunk: the caller may write over it", () => {
  const lines: string[] = [];
  const sink = { line: (text: string) => lines.push(text), invalid: () => {} };
  const splitter = new LineSplitter();
  const chunk = new Uint8Array(64);
  const first = new TextEncoder().encode('{"a":1}\n{"b"');
  chunk.set(first);
  splitter.push(chunk.subarray(0, first.length), sink);
  chunk.fill(0x78); // the connection reuses its buffer
  const rest = new TextEncoder().encode(":2}\n");
  chunk.set(rest);
  splitter.push(chunk.subarray(0, rest.length), sink);
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
});
