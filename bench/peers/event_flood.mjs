// Peer for bench/event_flood.ts: dockerode doing the work the library's watch() does for one
// container. It inspects the container for its full id, opens the events stream with the same
// filters, splits and JSON-parses each line, keeps the container's events (Type and Actor.ID),
// maps the action, builds the Date from timeNano and the event object, and hands it to the
// consumer, which counts it and notes when it arrived.
// Usage: node event_flood.mjs SOCKET CONTAINER WATCHED_EVENTS TOTAL_EVENTS TIMES_FILE
// Runs once and prints {"seconds","events","watched","cpuUs","steadyCpuUs","steadyWatched",
// "forceReloaded","errors"} (steady: from the tenth watched event on); the
// arrival times (wall clock, ms) of the watched events go to TIMES_FILE as float64s.
import Docker from "dockerode";
import { writeFileSync } from "node:fs";

const [socketPath, container, watchedText, totalText, timesFile] = process.argv.slice(2);
const expected = Number(watchedText);
const total = Number(totalText);
const docker = new Docker({ socketPath, version: "v1.41" });

const ACTIONS = new Map([
  ["start", "start"],
  ["unpause", "unpause"],
  ["kill", "kill"],
  ["stop", "stop"],
  ["pause", "pause"],
  ["die", "die"],
  ["destroy", "destroy"],
  ["remove", "destroy"],
]);
const FILTERS = {
  type: ["container"],
  event: ["start", "unpause", "kill", "stop", "pause", "die", "died", "destroy", "remove"],
};

const arrivals = new Float64Array(expected);
const origin = performance.timeOrigin;
let watched = 0;
let last = 0;
const warm = Math.max(1, Math.floor(expected / 10));
let steadyCpu;

function consume(_event) {
  last = performance.now();
  arrivals[watched++] = origin + last;
  if (watched === warm) steadyCpu = process.cpuUsage();
}

const cpu = process.cpuUsage();
const began = performance.now();
const { Id: id, Name: name } = await docker.getContainer(container).inspect();
const stream = await docker.getEvents({ filters: FILTERS });
stream.setEncoding("utf8");
const events = await new Promise((resolve, reject) => {
  let pending = "";
  let events = 0;
  stream.on("data", (chunk) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop();
    for (const line of lines) {
      if (!line) continue;
      const message = JSON.parse(line);
      events++;
      if (message.Type !== "container" || message.Actor?.ID !== id) continue;
      const action = ACTIONS.get(message.Action);
      if (action === undefined) continue;
      const attributes = message.Actor.Attributes ?? {};
      consume({
        type: "docker",
        actorId: id,
        actorName: attributes.name ?? name.slice(1),
        actorAttributes: attributes,
        action,
        time: new Date(Math.trunc(message.timeNano / 1e6)),
      });
    }
    if (watched === expected) {
      stream.destroy();
      resolve(events);
    }
  });
  stream.on("error", reject);
  stream.on("end", () => reject(new Error(`stream ended after ${events} events`)));
});
const used = process.cpuUsage(cpu);
const steady = process.cpuUsage(steadyCpu);
writeFileSync(timesFile, new Uint8Array(arrivals.buffer));
console.log(JSON.stringify({
  seconds: (last - began) / 1000,
  events,
  total,
  watched,
  cpuUs: used.user + used.system,
  steadyCpuUs: steady.user + steady.system,
  steadyWatched: watched - warm,
  forceReloaded: 0,
  errors: [],
}));
