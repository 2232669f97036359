// The Node floor of bench/event_flood.ts: a bare socket on the events stream that counts lines
// and parses nothing. What a Node client cannot go below, as it wakes up for what the fake writes.
// Usage: node bare_reader.mjs SOCKET LINES
// Prints {"seconds","lines","cpuUs","steadyCpuUs","steadyLines"} (steady: from the tenth line on).
import { connect } from "node:net";

const [socketPath, linesText] = process.argv.slice(2);
const lines = Number(linesText);
const warm = Math.max(1, Math.floor(lines / 10));
const cpu = process.cpuUsage();
const began = performance.now();
let steadyCpu = cpu;
let seen = 0;
let previous = 0;
const socket = connect(socketPath, () => {
  socket.write("GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n");
});
socket.on("data", (buffer) => {
  // An event line ends with "}\n" (a chunk's own line ends are "\r\n").
  for (let i = 0; i < buffer.length; i++) {
    if (buffer[i] === 0x0a && (i > 0 ? buffer[i - 1] : previous) === 0x7d) {
      if (++seen === warm) steadyCpu = process.cpuUsage();
    }
  }
  previous = buffer[buffer.length - 1];
  if (seen >= lines) {
    const used = process.cpuUsage(cpu);
    const steady = process.cpuUsage(steadyCpu);
    console.log(JSON.stringify({
      seconds: (performance.now() - began) / 1000,
      lines: seen,
      cpuUs: used.user + used.system,
      steadyCpuUs: steady.user + steady.system,
      steadyLines: seen - warm,
    }));
    socket.destroy();
  }
});
