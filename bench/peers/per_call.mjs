// Peer for bench/per_call.ts: dockerode's inspect and start, driven round by round so that its
// rounds interleave with the other clients'. Usage: node per_call.mjs SOCKET CONTAINER
// Reads one JSON command a line on stdin, {"op":"status"|"start","calls":N}, and answers each
// with {"us": microseconds per call}. Ends when stdin closes.
import Docker from "dockerode";
import { createInterface } from "node:readline";

const [socketPath, id] = process.argv.slice(2);
const docker = new Docker({ socketPath, version: "v1.41" });
const container = docker.getContainer(id);

const ops = {
  status: async () => {
    const info = await container.inspect();
    if (info.State.Status !== "running") throw new Error(`unexpected status ${info.State.Status}`);
  },
  start: () => container.start(),
};

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  const { op, calls } = JSON.parse(line);
  const began = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await ops[op]();
  console.log(JSON.stringify({ us: Number(process.hrtime.bigint() - began) / 1000 / calls }));
}
