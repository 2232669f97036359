// Peer for bench/event_throughput.ts: dockerode getEvents, the stream split into lines and
// JSON-parsed as a dockerode user does, until the watched container's last event arrives.
// Usage: node event_throughput.mjs SOCKET WATCHED_ID WATCHED_EVENTS TOTAL_EVENTS
// Prints {"ready":true}, then runs one round per line on stdin and answers each with
// {"seconds": from the request to the last watched event}. Ends when stdin closes.
import Docker from "dockerode";
import { createInterface } from "node:readline";

const [socketPath, watchedId, watchedEvents, totalEvents] = process.argv.slice(2);
const docker = new Docker({ socketPath, version: "v1.41" });

async function drain() {
  const began = process.hrtime.bigint();
  const stream = await docker.getEvents({ filters: { type: ["container"] } });
  stream.setEncoding("utf8");
  return await new Promise((resolve, reject) => {
    let pending = "";
    let events = 0;
    let watched = 0;
    stream.on("data", (chunk) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop();
      for (const line of lines) {
        if (!line) continue;
        const event = JSON.parse(line);
        events++;
        if (event.Type === "container" && event.Actor.ID === watchedId) watched++;
      }
      if (watched === Number(watchedEvents)) {
        const seconds = Number(process.hrtime.bigint() - began) / 1e9;
        stream.destroy();
        if (events !== Number(totalEvents)) {
          reject(new Error(`parsed ${events} of ${totalEvents} events`));
        } else resolve(seconds);
      }
    });
    stream.on("error", reject);
    stream.on("end", () => reject(new Error(`stream ended after ${events} events`)));
  });
}

console.log(JSON.stringify({ ready: true }));
for await (const _line of createInterface({ input: process.stdin })) {
  console.log(JSON.stringify({ seconds: await drain() }));
}
