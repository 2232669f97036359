/**
 * The Deno floors of bench/event_flood.ts, on the events stream:
 * - `bare`: a `conn.read()` loop that counts lines and parses nothing. What
 *   a Deno client cannot go below, as it wakes up for what the fake writes.
 * - `lean`: the leanest watch one could write in Deno, with none of the
 *   library's guarantees (no HTTP framing, no resume position, no routing,
 *   no bounds): decode, split, `JSON.parse` each line, build the event (the
 *   action, the `Date`, a copy of the attributes), and hand it through one
 *   `ReadableStream` to a consumer that counts it and notes the time, as
 *   the watch's consumers in the benchmark do.
 *
 * Usage: deno run -A bench/_bare_reader.ts SOCKET LINES [bare|lean]
 * Prints {"seconds","lines","cpuUs","steadyCpuUs","steadyLines"} (steady: from the tenth line on).
 *
 * @module
 */

import process from "node:process";

/** What a lean event holds. */
interface LeanEvent {
  id: string;
  action: string;
  time: Date;
  attributes: Record<string, string>;
}

const [socket, linesText, mode = "bare"] = Deno.args;
const lines = Number(linesText);
const warm = Math.max(1, Math.floor(lines / 10));
const cpu = process.cpuUsage();
const began = performance.now();
let seen = 0;
let steadyCpu = cpu;
const counted = () => {
  if (++seen === warm) steadyCpu = process.cpuUsage();
};

using conn = await Deno.connect({ transport: "unix", path: socket });
await conn.write(new TextEncoder().encode("GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n"));
const buffer = new Uint8Array(64 * 1024);

if (mode === "bare") {
  let previous = 0;
  while (seen < lines) {
    const n = await conn.read(buffer);
    if (n === null) break;
    // An event line ends with "}\n" (a chunk's own line ends are "\r\n").
    for (let i = 0; i < n; i++) {
      if (buffer[i] === 0x0a && (i > 0 ? buffer[i - 1] : previous) === 0x7d) counted();
    }
    previous = buffer[n - 1];
  }
} else {
  let controller!: ReadableStreamDefaultController<LeanEvent>;
  const events = new ReadableStream<LeanEvent>({ start: (c) => void (controller = c) }, {
    highWaterMark: 1024,
  });
  const consumer = (async () => {
    for await (const _event of events) {
      performance.now();
      counted();
      if (seen >= lines) break;
    }
  })();
  const decoder = new TextDecoder();
  let pending = "";
  let sent = 0;
  while (sent < lines) {
    const n = await conn.read(buffer);
    if (n === null) break;
    const parts = (pending + decoder.decode(buffer.subarray(0, n), { stream: true })).split("\n");
    pending = parts.pop()!;
    for (const part of parts) {
      // The chunk framing's size lines and line ends are not events.
      const start = part.indexOf("{");
      if (start === -1) continue;
      const line = JSON.parse(part.slice(start));
      controller.enqueue({
        id: line.Actor.ID,
        action: line.Action,
        time: new Date(Number(line.timeNano) / 1e6),
        attributes: { ...line.Actor.Attributes },
      });
      sent++;
    }
  }
  controller.close();
  await consumer;
}

const used = process.cpuUsage(cpu);
const steady = process.cpuUsage(steadyCpu);
console.log(JSON.stringify({
  seconds: (performance.now() - began) / 1000,
  lines: seen,
  cpuUs: used.user + used.system,
  steadyCpuUs: steady.user + steady.system,
  steadyLines: seen - warm,
}));
