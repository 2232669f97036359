// Peer for bench/per_call.ts: dockerode's inspect and start, N sequential calls per round.
// Usage: node per_call.mjs SOCKET CONTAINER CALLS ROUNDS
// Prints {"status":[µs per call, per round], "start":[...]}.
import Docker from "dockerode";

const [socketPath, id, calls, rounds] = process.argv.slice(2);
const n = Number(calls);
const docker = new Docker({ socketPath, version: "v1.41" });
const container = docker.getContainer(id);

async function timeCalls(call) {
  const began = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  return Number(process.hrtime.bigint() - began) / 1000 / n;
}
const status = async () => {
  const info = await container.inspect();
  if (info.State.Status !== "running") throw new Error(`unexpected status ${info.State.Status}`);
};
const start = () => container.start();

await timeCalls(status); // warm-up
await timeCalls(start);
const result = { status: [], start: [] };
for (let r = 0; r < Number(rounds); r++) {
  result.status.push(await timeCalls(status));
  result.start.push(await timeCalls(start));
}
console.log(JSON.stringify(result));
