/**
 * The Deno floor of bench/event_flood.ts: a bare `conn.read()` loop on the
 * events stream that counts lines and parses nothing. What a Deno client
 * cannot go below, as it wakes up for what the fake writes.
 *
 * Usage: deno run -A bench/_bare_reader.ts SOCKET LINES
 * Prints {"seconds","lines","cpuUs","steadyCpuUs","steadyLines"} (steady: from the tenth line on).
 *
 * @module
 */

import process from "node:process";

const [socket, linesText] = Deno.args;
const lines = Number(linesText);
const warm = Math.max(1, Math.floor(lines / 10));
const cpu = process.cpuUsage();
const began = performance.now();
using conn = await Deno.connect({ transport: "unix", path: socket });
await conn.write(new TextEncoder().encode("GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n"));
const buffer = new Uint8Array(64 * 1024);
let seen = 0;
let previous = 0;
let steadyCpu = cpu;
while (seen < lines) {
  const n = await conn.read(buffer);
  if (n === null) break;
  // An event line ends with "}\n" (a chunk's own line ends are "\r\n").
  for (let i = 0; i < n; i++) {
    if (buffer[i] === 0x0a && (i > 0 ? buffer[i - 1] : previous) === 0x7d) {
      if (++seen === warm) steadyCpu = process.cpuUsage();
    }
  }
  previous = buffer[n - 1];
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
