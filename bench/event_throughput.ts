/**
 * Event throughput: `watch()` draining a fake engine that floods 200,000
 * realistic Docker events (mixed containers, the watched one among them),
 * next to dockerode's getEvents plus JSON parsing on the same stream, and a
 * naive fetch + TextDecoderStream + split for context.
 *
 * Each client runs in a process of its own (this file with `--child`, or the
 * Node peer), so that one's garbage does not slow another; their rounds
 * interleave, in a rotating order, and each result is the median.
 *
 *   deno run -A bench/event_throughput.ts
 *
 * @module
 */

import {
  type Child,
  denoChild,
  fmt,
  fmtRatio,
  lineSplitter,
  log,
  main,
  median,
  nodeChild,
  NOT_BUILT,
  pairedRatio,
  type Row,
  tempDir,
} from "./_harness.ts";
import { type DockerModule, dockerWatchBuilt, loadDocker } from "./_ours.ts";
import { drainWatch } from "./_watch_drain.ts";

const EVENTS = 200_000;
const ROUNDS = 5;
const ROUND_TIMEOUT_MS = 40_000;
const GOAL = "≥ 1.0x dockerode (stretch 2x)";

interface Target {
  socket: string;
  watchedId: string;
  watchedEvents: number;
}

/** Ours: one provider per round, its watch drained until the watched container's last event. */
async function oursRound(docker: DockerModule, target: Target): Promise<number> {
  using provider = docker.newDockerProvider({ url: `unix://${target.socket}` }, target.watchedId);
  const result = await drainWatch(provider, target.watchedEvents, ROUND_TIMEOUT_MS);
  if (result.events !== target.watchedEvents) {
    throw new Error(`watch delivered ${result.events} of ${target.watchedEvents} events`);
  }
  return result.seconds;
}

/** The naive way on Deno: fetch, TextDecoderStream, split lines, JSON.parse each. */
async function naiveRound(target: Target): Promise<number> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: target.socket } });
  const began = performance.now();
  const filters = encodeURIComponent(JSON.stringify({ type: ["container"] }));
  const response = await fetch(`http://docker/v1.41/events?filters=${filters}`, {
    client,
    signal: AbortSignal.timeout(ROUND_TIMEOUT_MS),
  });
  const lines = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
  let watched = 0;
  let events = 0;
  for await (const line of lines) {
    if (!line) continue;
    const event = JSON.parse(line) as { Type: string; Actor: { ID: string } };
    events++;
    if (event.Type === "container" && event.Actor.ID === target.watchedId) watched++;
    if (watched === target.watchedEvents) break;
  }
  if (events !== EVENTS) throw new Error(`parsed ${events} of ${EVENTS} events`);
  return (performance.now() - began) / 1000;
}

/** Child: runs one round per stdin line and answers `{"seconds":...}`. */
async function child(who: "ours" | "naive", target: Target): Promise<void> {
  const docker = who === "ours" ? await loadDocker() : undefined;
  console.log(JSON.stringify({ ready: true }));
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
    lineSplitter(),
  );
  for await (const _line of lines) {
    const seconds = who === "ours" ? await oursRound(docker!, target) : await naiveRound(target);
    console.log(JSON.stringify({ seconds }));
  }
}

async function run(): Promise<Row[]> {
  const dir = await tempDir("events");
  const socket = `${dir}/engine.sock`;
  await using engine = denoChild("fake engine", "_fake_engine.ts", [
    "--socket",
    socket,
    "--events",
    String(EVENTS),
  ]);
  const ready = await engine.nextJson<
    { watchedId: string; watchedEvents: number; streamBytes: number }
  >();
  const args = [socket, ready.watchedId, String(ready.watchedEvents)];
  const built = dockerWatchBuilt(await loadDocker());

  const clients = new Map<string, Child>();
  const errors = new Map<string, string>();
  const start = async (name: string, make: () => Child | Promise<Child>) => {
    try {
      const proc = await make();
      await proc.nextJson();
      clients.set(name, proc);
    } catch (error) {
      errors.set(name, `error: ${(error as Error).message.slice(0, 200)}`);
    }
  };
  if (built) {
    await start(
      "ours",
      () => denoChild("ours", "event_throughput.ts", ["--child", "ours", ...args], { stdin: true }),
    );
  }
  await start(
    "naive",
    () => denoChild("naive", "event_throughput.ts", ["--child", "naive", ...args], { stdin: true }),
  );
  await start(
    "dockerode",
    () => nodeChild("event_throughput.mjs", [...args, String(EVENTS)], { stdin: true }),
  );

  const seconds = new Map<string, number[]>([...clients.keys()].map((name) => [name, []]));
  const names = [...clients.keys()];
  try {
    // Round 0 is a warm-up (JIT), not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      log(`event throughput round ${round}/${ROUNDS}`);
      for (let i = 0; i < names.length; i++) {
        const name = names[(round + i) % names.length];
        const answer = await clients.get(name)!.call<{ seconds: number }>(
          { round },
          ROUND_TIMEOUT_MS + 5000,
        );
        if (round > 0) seconds.get(name)!.push(answer.seconds);
      }
    }
  } finally {
    await Promise.all([...clients.values()].map((proc) => proc[Symbol.asyncDispose]()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const rate = (name: string) => EVENTS / median(seconds.get(name) ?? []);
  const rateText = (name: string) =>
    errors.get(name) ??
      `${fmt(rate(name))} events/s (${
        fmt(ready.streamBytes / median(seconds.get(name)!) / 1048576)
      } MiB/s)`;
  const data = {
    events: EVENTS,
    streamBytes: ready.streamBytes,
    seconds: Object.fromEntries(seconds),
  };
  const peerText = errors.get("dockerode") ?? `dockerode ${rateText("dockerode")}`;
  const naiveText = errors.get("naive") ?? `naive fetch ${rateText("naive")}`;
  const oursText = built ? rateText("ours") : NOT_BUILT;
  // The ratio of rates is the inverse ratio of times, round by round.
  const vs = (peer: string) => pairedRatio(seconds.get(peer) ?? [], seconds.get("ours") ?? []);
  const vsPeer = vs("dockerode");
  const measured = clients.has("ours") && clients.has("dockerode");
  return [
    {
      metric: "event throughput, 64 KiB chunks, 1 in 50 watched (old fake) vs dockerode",
      ours: oursText,
      peer: peerText,
      ratio: measured ? fmtRatio(vsPeer) : "",
      goal: GOAL,
      met: !measured ? "n/a" : vsPeer >= 1 ? "yes" : "no",
      data,
    },
    {
      metric: "event throughput, 64 KiB chunks, 1 in 50 watched (old fake) vs naive fetch",
      ours: oursText,
      peer: naiveText,
      ratio: clients.has("ours") && clients.has("naive") ? fmtRatio(vs("naive")) : "",
      goal: "context",
      met: "info",
      data,
    },
  ];
}

if (import.meta.main) {
  const [flag, who, socket, watchedId, watchedEvents] = Deno.args;
  if (flag === "--child" && (who === "ours" || who === "naive")) {
    await child(who, { socket, watchedId, watchedEvents: Number(watchedEvents) });
  } else {
    await main(run);
  }
}
