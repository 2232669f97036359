// Peer for bench/event_throughput.ts: dockerode getEvents, the stream split into lines and
// JSON-parsed as a dockerode user does, until the watched container's last event arrives.
// Usage: node event_throughput.mjs SOCKET WATCHED_ID WATCHED_EVENTS TOTAL_EVENTS ROUNDS
// Prints {"seconds":[per round], "events":[events parsed per round], "watched":[...]}.
import Docker from "dockerode";

const [socketPath, watchedId, watchedEvents, totalEvents, rounds] = process.argv.slice(2);
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
        resolve({ seconds, events, watched });
      }
    });
    stream.on("error", reject);
    stream.on("end", () => reject(new Error(`stream ended after ${events} events`)));
  });
}

const result = { seconds: [], events: [], watched: [] };
await drain(); // warm-up (JIT), not counted
for (let r = 0; r < Number(rounds); r++) {
  const { seconds, events, watched } = await drain();
  if (events !== Number(totalEvents)) throw new Error(`parsed ${events} of ${totalEvents} events`);
  result.seconds.push(seconds);
  result.events.push(events);
  result.watched.push(watched);
}
console.log(JSON.stringify(result));
