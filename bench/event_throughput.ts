/**
 * Event throughput: `watch()` draining a fake engine that floods 200,000
 * realistic Docker events (mixed containers, the watched one among them),
 * next to dockerode's getEvents plus JSON parsing on the same stream, and a
 * naive fetch + TextDecoderStream + split for context.
 *
 *   deno run -A bench/event_throughput.ts
 *
 * @module
 */

import {
  denoChild,
  fmt,
  fmtRatio,
  lineSplitter,
  log,
  main,
  median,
  NOT_BUILT,
  type Row,
  runNodePeer,
  tempDir,
} from "./_harness.ts";
import { type DockerModule, dockerWatchBuilt, loadDocker } from "./_ours.ts";
import { drainWatch } from "./_watch_drain.ts";

const EVENTS = 200_000;
const ROUNDS = 3;
const ROUND_TIMEOUT_MS = 40_000;

interface Ready {
  watchedId: string;
  watchedEvents: number;
  streamBytes: number;
}

/** Ours: one provider per round, its watch drained until the watched container's last event. */
async function oursRound(docker: DockerModule, socket: string, ready: Ready): Promise<number> {
  using provider = docker.newDockerProvider({ url: `unix://${socket}` }, ready.watchedId);
  const result = await drainWatch(provider, ready.watchedEvents, ROUND_TIMEOUT_MS);
  if (result.events !== ready.watchedEvents) {
    throw new Error(`watch delivered ${result.events} of ${ready.watchedEvents} events`);
  }
  return result.seconds;
}

/** The naive way on Deno: fetch, TextDecoderStream, split lines, JSON.parse each. */
async function naiveRound(socket: string, ready: Ready): Promise<number> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const began = performance.now();
  const filters = encodeURIComponent(JSON.stringify({ type: ["container"] }));
  const response = await fetch(`http://docker/v1.41/events?filters=${filters}`, {
    client,
    signal: AbortSignal.timeout(ROUND_TIMEOUT_MS),
  });
  const lines = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
  let watched = 0;
  for await (const line of lines) {
    if (!line) continue;
    const event = JSON.parse(line) as { Type: string; Actor: { ID: string } };
    if (event.Type === "container" && event.Actor.ID === ready.watchedId) watched++;
    if (watched === ready.watchedEvents) break;
  }
  return (performance.now() - began) / 1000;
}

const GOAL = "≥ 1.0x dockerode (stretch 2x)";

async function run(): Promise<Row[]> {
  const dir = await tempDir("events");
  const socket = `${dir}/engine.sock`;
  await using engine = denoChild("fake engine", "_fake_engine.ts", [
    "--socket",
    socket,
    "--events",
    String(EVENTS),
  ]);
  const ready = await engine.nextJson<Ready>();
  const loaded = await loadDocker();
  const docker = dockerWatchBuilt(loaded) ? loaded : undefined;

  const ours: number[] = [];
  const naive: number[] = [];
  // Round 0 is a warm-up (JIT), not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    log(`event throughput round ${round}/${ROUNDS}`);
    const first = round % 2 ? "naive" : "ours";
    for (const who of [first, first === "ours" ? "naive" : "ours"]) {
      if (who === "ours" && docker) {
        const seconds = await oursRound(docker, socket, ready);
        if (round > 0) ours.push(seconds);
      } else if (who === "naive") {
        const seconds = await naiveRound(socket, ready);
        if (round > 0) naive.push(seconds);
      }
    }
  }
  log("event throughput: dockerode");
  let peer: { seconds: number[] } | undefined;
  let peerError = "";
  try {
    peer = await runNodePeer("event_throughput.mjs", [
      socket,
      ready.watchedId,
      String(ready.watchedEvents),
      String(EVENTS),
      String(ROUNDS),
    ]);
  } catch (error) {
    peerError = `error: ${(error as Error).message.slice(0, 200)}`;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});

  const rate = (seconds: number[]) => EVENTS / median(seconds);
  const rateText = (seconds: number[]) =>
    `${fmt(rate(seconds))} events/s (${
      fmt((ready.streamBytes / median(seconds)) / 1048576, 0)
    } MiB/s)`;
  const peerText = peer ? `dockerode ${rateText(peer.seconds)}` : peerError;
  const naiveText = `naive fetch ${rateText(naive)}`;
  const data = {
    events: EVENTS,
    streamBytes: ready.streamBytes,
    oursSeconds: ours,
    naiveSeconds: naive,
    dockerodeSeconds: peer?.seconds,
  };
  if (!docker) {
    return [
      {
        metric: "event throughput vs dockerode",
        ours: NOT_BUILT,
        peer: peerText,
        ratio: "",
        goal: GOAL,
        met: "n/a",
        data,
      },
      {
        metric: "event throughput vs naive fetch (context)",
        ours: NOT_BUILT,
        peer: naiveText,
        ratio: "",
        goal: "context",
        met: "info",
        data,
      },
    ];
  }
  const vsPeer = peer ? rate(ours) / rate(peer.seconds) : NaN;
  return [
    {
      metric: "event throughput vs dockerode",
      ours: rateText(ours),
      peer: peerText,
      ratio: fmtRatio(vsPeer),
      goal: GOAL,
      met: !peer ? "n/a" : vsPeer >= 1 ? "yes" : "no",
      data,
    },
    {
      metric: "event throughput vs naive fetch (context)",
      ours: rateText(ours),
      peer: naiveText,
      ratio: fmtRatio(rate(ours) / rate(naive)),
      goal: "context",
      met: "info",
      data,
    },
  ];
}

if (import.meta.main) await main(run);
