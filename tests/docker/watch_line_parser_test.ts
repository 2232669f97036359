import assert from "node:assert/strict";
import { EventLineParser } from "../../docker/_watch/_line_parser.ts";
import {
  EventFormatError,
  lineTimeNano,
  parseEventLine,
  type WireEvent,
} from "../../docker/_watch/_wire.ts";

const ID = "6ce8c045766813b1d27460698caa237c46c1f756640ddc013254a04be5380fbe";

/** A dockerd 20.10 line up to its `"time":` value. */
function prefix(action: string, extra: Record<string, string> = {}): string {
  const attributes = {
    "com.docker.compose.project": "shop",
    "com.docker.compose.service": "web",
    ...extra,
    image: "nginx:1.25-alpine",
    name: "shop-web-1",
  };
  const line = JSON.stringify({
    status: action,
    id: ID,
    from: "nginx:1.25-alpine",
    Type: "container",
    Action: action,
    Actor: { ID, Attributes: attributes },
    scope: "local",
    time: 0,
  });
  return line.slice(0, line.lastIndexOf("0}"));
}

/** What `parse` gives, or the class of what it throws. */
function outcome(parse: () => WireEvent | null): WireEvent | null | string {
  try {
    return parse();
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

Deno.test("EventLineParser.parse() reads every line as a fresh parse would", async (t) => {
  const start = prefix("start");
  const die = prefix("die", { exitCode: "137" });
  const exec = prefix("exec_start: sh");
  const lines = [
    `${start}1796531762,"timeNano":1796531762075834593}`,
    `${start}1796531763,"timeNano":1796531763000000001}`,
    `${die}1796531763,"timeNano":1796531763000000002}`,
    `${die}1796531764,"timeNano":1796531764000000002}`,
    `${exec}1796531764,"timeNano":1796531764000000003}`,
    `${exec}1796531765,"timeNano":1796531765000000003}`,
    // The same start, but the rest is not `<digits>,"timeNano":<digits>}`.
    `${start}1796531765,"timeNano":1796531765000000004,"x":"y"}`,
    `${start}1796531765.5,"timeNano":1796531765000000005}`,
    `${start}1796531765, "timeNano":1796531765000000006}`,
    `${start}01796531765,"timeNano":1796531765000000007}`,
    `${start}1796531765,"timeNano":01796531765000000008}`,
    `${start}1796531765,"timeNano":1796531765000000009}}`,
    `${start}1796531765,"timeNano":}`,
    `${start},"timeNano":1796531765000000010}`,
    // Again the plain shape, after the odd ones.
    `${start}1796531766,"timeNano":1796531766000000011}`,
  ];
  const parser = new EventLineParser();
  for (const [i, line] of lines.entries()) {
    await t.step(`line ${i}`, () => {
      const timeNano = lineTimeNano(line);
      assert.deepEqual(
        outcome(() => parser.parse(line, timeNano)),
        outcome(() => parseEventLine(line, timeNano)),
      );
    });
  }
});

Deno.test("EventLineParser.parse() gives each event attributes of its own", () => {
  const parser = new EventLineParser();
  const start = prefix("start");
  const first = parser.parse(`${start}1,"timeNano":1000000001}`, "1000000001")!;
  first.attributes.name = "changed by a consumer";
  const second = parser.parse(`${start}2,"timeNano":2000000001}`, "2000000001")!;
  const third = parser.parse(`${start}3,"timeNano":3000000001}`, "3000000001")!;
  assert.equal(second.attributes.name, "shop-web-1");
  assert.notEqual(second.attributes, third.attributes);
  assert.deepEqual(
    [second.timeNano, third.timeNano, third.action, third.id],
    ["2000000001", "3000000001", "started", ID],
  );
});

Deno.test("EventLineParser.parse() still refuses a broken line that starts like a recent one", () => {
  const parser = new EventLineParser();
  const start = prefix("start");
  parser.parse(`${start}1,"timeNano":1000000001}`, "1000000001");
  const broken = `${start}1,"timeNano":1000000002`;
  assert.throws(() => parser.parse(broken, lineTimeNano(broken)), EventFormatError);
});
