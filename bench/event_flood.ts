/**
 * Event flood on a dockerd-like engine: `watch()` of one container next to
 * dockerode doing the same work, on a fake that writes as dockerd 20.10
 * does: one HTTP chunk, one `write()` and one ~600-byte JSON line (Compose
 * labels, `timeNano` the wall clock at the write) per event. The fake is a
 * small C program (bench/_dockerd_like.c, built with gcc here) in a process
 * of its own, so that its cost per event stays far below the clients'.
 *
 * Cases, each in two mixes (every event for the watched container, the case
 * of an idle watcher; and 1 event in 50):
 * - a flood: events as fast as the socket takes them, reported in events/s
 *   (all events of the stream, over the time from `watch()` to the last one);
 * - paced runs at 2,000 and 20,000 events/s (2 s each): CPU time (user +
 *   system) of the client process per event of the stream, from the tenth
 *   of the watched events on (start-up and JIT warm-up left out), and the
 *   delivery latency of the watched events (from the fake's write to the
 *   consumer, wall clocks of one machine).
 *
 * Every run is a fresh fake and a fresh client process; clients alternate in
 * a rotating order within each round; 7 rounds; medians, and ratios as the
 * median of the per-round ratios. Every run checks that every watched event
 * arrived, none dropped, and no `force-reloaded` came. In each flood round a
 * sink client (the C program again, reading and counting lines) measures
 * the fake's own ceiling, which must be at least 3x the fastest client.
 * At 20,000 events/s, bare read loops that count lines and parse nothing
 * (bench/_bare_reader.ts, bench/peers/bare_reader.mjs) measure each
 * runtime's floor: the CPU a client spends on waking up for each write.
 * The leanest watch one could write in Deno (the same script, `lean`:
 * decode, split, parse, the event, one `ReadableStream`) shows what a
 * Deno watch pays above that floor before any of the library's guarantees.
 *
 *   deno run -A bench/event_flood.ts
 *
 * @module
 */

import process from "node:process";
import {
  BENCH,
  Child,
  denoChild,
  fmt,
  fmtRatio,
  log,
  main,
  median,
  nodeChild,
  NOT_BUILT,
  pairedRatio,
  percentile,
  type Row,
  tempDir,
} from "./_harness.ts";
import { type DockerModule, dockerWatchBuilt, loadDocker } from "./_ours.ts";

/** Rounds: 7, as flood rates swing round to round on a busy machine (`FLOOD_ROUNDS` overrides). */
const ROUNDS = Number(Deno.env.get("FLOOD_ROUNDS") ?? 7);
const RUN_TIMEOUT_MS = 60_000;
const FLOOD_EVENTS = 200_000;
const PACED_SECONDS = 2;
/** The paced rate at which the runtimes' floors (bare read loops) are measured too. */
const FLOOR_RATE = 20_000;

interface Case {
  /** Key of the case in the data. */
  key: string;
  /** 1: every event is the watched container's; 50: one in 50. */
  every: number;
  /** Events per second; 0 for a flood. */
  rate: number;
  events: number;
}

const CASES: Case[] = [
  { key: "flood-dense", every: 1, rate: 0, events: FLOOD_EVENTS },
  { key: "flood-1in50", every: 50, rate: 0, events: FLOOD_EVENTS },
  ...[2_000, 20_000].flatMap((rate) =>
    [1, 50].map((every) => ({
      key: `paced-${rate}-${every === 1 ? "dense" : "1in50"}`,
      every,
      rate,
      events: rate * PACED_SECONDS,
    }))
  ),
];

/** What a client process reports for one run. */
interface RunResult {
  seconds: number;
  /** Watched events delivered. */
  watched: number;
  cpuUs: number;
  /** CPU from the tenth watched event on (the JIT warm), and the watched events since then. */
  steadyCpuUs: number;
  steadyWatched: number;
  forceReloaded: number;
  errors: string[];
}

/** What the fake reports once it wrote the stream. */
interface FakeDone {
  written: number;
  watched: number;
  seconds: number;
  maxLagUs: number;
}

/** One run's numbers. */
interface Sample {
  eventsPerSecond: number;
  cpuUsPerEvent: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  fakeMaxLagUs: number;
}

// ── the client processes ─────────────────────────────────────────────────────────────

/** Ours, in a fresh process: one watch until the watched container's last event. */
async function oursChild(args: string[]): Promise<void> {
  const [socket, container, expectedText, timesFile] = args;
  const expected = Number(expectedText);
  const docker = (await loadDocker()) as DockerModule;
  const arrivals = new Float64Array(expected);
  const origin = performance.timeOrigin;
  const stop = new AbortController();
  const timeout = AbortSignal.timeout(RUN_TIMEOUT_MS);
  using provider = docker.newDockerProvider({ url: `unix://${socket}` }, container);
  const cpu = process.cpuUsage();
  const began = performance.now();
  const { events, errors } = provider.watch({ signal: AbortSignal.any([stop.signal, timeout]) });
  const seen: string[] = [];
  const errorsDone = (async () => {
    try {
      for await (const error of errors) seen.push(error.message);
    } catch { /* ended by the abort */ }
  })();
  let watched = 0;
  let forceReloaded = 0;
  let last = began;
  const warm = Math.max(1, Math.floor(expected / 10));
  let steadyCpu = cpu;
  try {
    for await (const event of events) {
      last = performance.now();
      if (event.action === "force-reloaded") {
        forceReloaded++;
        continue;
      }
      if (watched < expected) arrivals[watched] = origin + last;
      if (++watched === warm) steadyCpu = process.cpuUsage();
      if (watched >= expected) break;
    }
  } catch (error) {
    if (!timeout.aborted) throw error;
  } finally {
    stop.abort();
    await errorsDone;
  }
  const used = process.cpuUsage(cpu);
  const steady = process.cpuUsage(steadyCpu);
  await Deno.writeFile(timesFile, new Uint8Array(arrivals.buffer));
  const result: RunResult = {
    seconds: (last - began) / 1000,
    watched,
    cpuUs: used.user + used.system,
    steadyCpuUs: steady.user + steady.system,
    steadyWatched: watched - warm,
    forceReloaded,
    errors: seen,
  };
  console.log(JSON.stringify(result));
}

// ── the orchestration ────────────────────────────────────────────────────────────────

/** Builds the fake with gcc; returns the binary's path. */
async function buildFake(dir: string): Promise<string> {
  const binary = `${dir}/dockerd_like`;
  const output = await new Deno.Command("gcc", {
    args: ["-O2", "-pthread", "-o", binary, `${BENCH}/_dockerd_like.c`],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  if (!output.success) {
    throw new Error(`gcc failed: ${new TextDecoder().decode(output.stderr).slice(-1000)}`);
  }
  return binary;
}

type Who = "ours" | "dockerode" | "sink" | "deno-floor" | "deno-lean" | "node-floor";

/** What a floor (a bare read loop that counts lines) reports. */
interface FloorResult {
  lines: number;
  steadyCpuUs: number;
  steadyLines: number;
}

/** One run: a fresh fake, one fresh client; returns its sample. */
async function runOnce(
  fake: string,
  dir: string,
  who: Who,
  c: Case,
  run: number,
): Promise<Sample> {
  const socket = `${dir}/e${run}.sock`;
  const fakeTimes = `${dir}/fake${run}.bin`;
  const clientTimes = `${dir}/client${run}.bin`;
  await using engine = new Child("dockerd-like fake", fake, [
    "serve",
    socket,
    String(c.events),
    String(c.every),
    String(c.rate),
    fakeTimes,
  ]);
  const ready = await engine.nextJson<{ watchedName: string; watchedEvents: number }>(10_000);
  if (who === "sink") {
    await using sink = new Child("sink", fake, ["sink", socket, String(c.events)]);
    const answer = await sink.nextJson<{ seconds: number; lines: number }>(RUN_TIMEOUT_MS);
    if (answer.lines !== c.events) throw new Error(`sink read ${answer.lines} of ${c.events}`);
    await engine.nextJson<FakeDone>(RUN_TIMEOUT_MS);
    return {
      eventsPerSecond: c.events / answer.seconds,
      cpuUsPerEvent: NaN,
      latencyP50Ms: NaN,
      latencyP99Ms: NaN,
      fakeMaxLagUs: NaN,
    };
  }
  if (who === "deno-floor" || who === "deno-lean" || who === "node-floor") {
    const floorArgs = [socket, String(c.events)];
    await using floor = who === "node-floor"
      ? await nodeChild("bare_reader.mjs", floorArgs)
      : denoChild(who, "_bare_reader.ts", [...floorArgs, who === "deno-lean" ? "lean" : "bare"]);
    const answer = await floor.nextJson<FloorResult>(RUN_TIMEOUT_MS);
    if (answer.lines !== c.events) throw new Error(`${who} read ${answer.lines} of ${c.events}`);
    await engine.nextJson<FakeDone>(RUN_TIMEOUT_MS);
    return {
      eventsPerSecond: NaN,
      cpuUsPerEvent: answer.steadyCpuUs / answer.steadyLines,
      latencyP50Ms: NaN,
      latencyP99Ms: NaN,
      fakeMaxLagUs: NaN,
    };
  }
  const args = [socket, ready.watchedName, String(ready.watchedEvents), clientTimes];
  await using client = who === "ours"
    ? denoChild("ours", "event_flood.ts", ["--child", ...args])
    : await nodeChild("event_flood.mjs", [...args.slice(0, 3), String(c.events), clientTimes]);
  const result = await client.nextJson<RunResult>(RUN_TIMEOUT_MS);
  const done = await engine.nextJson<FakeDone>(RUN_TIMEOUT_MS);
  // Every run: all watched events, none dropped, no force-reload.
  if (result.watched !== ready.watchedEvents || done.watched !== ready.watchedEvents) {
    throw new Error(
      `${who} ${c.key}: ${result.watched} of ${ready.watchedEvents} watched events arrived`,
    );
  }
  if (result.forceReloaded !== 0) {
    throw new Error(`${who} ${c.key}: ${result.forceReloaded} force-reloaded events`);
  }
  if (result.errors.length > 0) {
    throw new Error(`${who} ${c.key}: the watch reported ${result.errors.join("; ")}`);
  }
  const sent = new BigInt64Array((await Deno.readFile(fakeTimes)).buffer);
  const arrived = new Float64Array((await Deno.readFile(clientTimes)).buffer);
  const latencies: number[] = [];
  for (let i = 0; i < sent.length; i++) latencies.push(arrived[i] - Number(sent[i]) / 1e6);
  await Deno.remove(fakeTimes).catch(() => {});
  await Deno.remove(clientTimes).catch(() => {});
  return {
    eventsPerSecond: c.events / result.seconds,
    cpuUsPerEvent: c.rate === 0
      ? result.cpuUs / c.events
      : result.steadyCpuUs / (result.steadyWatched * c.every),
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    fakeMaxLagUs: done.maxLagUs,
  };
}

async function run(): Promise<Row[]> {
  const built = dockerWatchBuilt(await loadDocker());
  const dir = await tempDir("flood");
  const samples = new Map<string, Sample[]>();
  const add = (key: string, sample: Sample) => {
    const list = samples.get(key) ?? [];
    list.push(sample);
    samples.set(key, list);
  };
  try {
    const fake = await buildFake(dir);
    const clients: Who[] = built ? ["ours", "dockerode"] : ["dockerode"];
    let runs = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      log(`event flood round ${round}/${ROUNDS}`);
      for (const c of CASES) {
        const order: Who[] = c.rate === 0
          ? [...clients, "sink"]
          : c.rate === FLOOR_RATE
          ? [...clients, "deno-floor", "deno-lean", "node-floor"]
          : [...clients];
        for (let i = 0; i < order.length; i++) {
          const who = order[(round + i) % order.length];
          add(`${who}/${c.key}`, await runOnce(fake, dir, who, c, runs++));
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return rows(samples, built);
}

function rows(samples: Map<string, Sample[]>, built: boolean): Row[] {
  const get = (who: Who, key: string) => samples.get(`${who}/${key}`) ?? [];
  const med = (who: Who, key: string, pick: (s: Sample) => number) =>
    median(get(who, key).map(pick));
  const perRound = (key: string, pick: (s: Sample) => number) =>
    get("ours", key).map((s, i) => pick(s) / pick(get("dockerode", key)[i]));
  const rate = (s: Sample) => s.eventsPerSecond;
  const cpu = (s: Sample) => s.cpuUsPerEvent;
  const list = (values: number[]) => values.map((v) => v.toFixed(2)).join(", ");
  const result: Row[] = [];

  for (
    const [key, label, goal, floor] of [
      ["flood-dense", "every event watched", "≥ 1.3x dockerode (stretch 2x)", 1.3],
      ["flood-1in50", "1 in 50 watched", "≥ 2x dockerode", 2],
    ] as const
  ) {
    const ratios = built ? perRound(key, rate) : [];
    const ratio = pairedRatio(
      get("ours", key).map(rate),
      get("dockerode", key).map(rate),
    );
    result.push({
      metric: `event flood, dockerd-like (1 chunk per event), ${label}`,
      ours: built
        ? `${fmt(med("ours", key, rate))} events/s, ${
          med("ours", key, cpu).toFixed(2)
        } µs CPU/event`
        : NOT_BUILT,
      peer: `dockerode ${fmt(med("dockerode", key, rate))} events/s, ${
        med("dockerode", key, cpu).toFixed(2)
      } µs CPU/event`,
      ratio: built ? fmtRatio(ratio) : "",
      goal,
      met: built ? (ratio >= floor ? "yes" : "no") : "n/a",
      data: {
        perRoundRatios: list(ratios),
        ...(key === "flood-dense" ? { samples: Object.fromEntries(samples) } : {}),
      },
    });
  }

  const fastest = Math.max(
    ...(["ours", "dockerode"] as const).flatMap((who) =>
      ["flood-dense", "flood-1in50"].map((key) => med(who, key, rate))
    ).filter(Number.isFinite),
  );
  const sink = median(["flood-dense", "flood-1in50"].flatMap((key) => get("sink", key).map(rate)));
  result.push({
    metric: "event flood: the fake's own ceiling (sink client)",
    ours: `sink ${fmt(sink)} events/s`,
    peer: `fastest client ${fmt(fastest)} events/s`,
    ratio: fmtRatio(sink / fastest),
    goal: "≥ 3x the fastest client",
    met: sink / fastest >= 3 ? "yes" : "no",
  });

  for (const rateValue of [20_000, 2_000]) {
    for (const [mix, label] of [["dense", "every event watched"], ["1in50", "1 in 50"]]) {
      const key = `paced-${rateValue}-${mix}`;
      const latency = (who: Who) =>
        `latency p50 ${med(who, key, (s) => s.latencyP50Ms).toFixed(2)} ms, p99 ${
          med(who, key, (s) => s.latencyP99Ms).toFixed(2)
        } ms`;
      const ratio = pairedRatio(get("ours", key).map(cpu), get("dockerode", key).map(cpu));
      const goalled = rateValue === 20_000 && mix === "dense";
      result.push({
        metric: `paced ${fmt(rateValue)} events/s, ${label}: CPU per event`,
        ours: built
          ? `${med("ours", key, cpu).toFixed(2)} µs/event; ${latency("ours")}`
          : NOT_BUILT,
        peer: `dockerode ${med("dockerode", key, cpu).toFixed(2)} µs/event; ${
          latency("dockerode")
        }`,
        ratio: built ? fmtRatio(ratio) : "",
        goal: goalled ? "≤ 0.8x dockerode's CPU" : "report",
        met: !built ? "n/a" : goalled ? (ratio <= 0.8 ? "yes" : "no") : "info",
        data: {
          perRoundRatios: list(built ? perRound(key, cpu) : []),
          fakeMaxLagUs: median(get("dockerode", key).map((s) => s.fakeMaxLagUs)),
        },
      });
      if (rateValue !== FLOOR_RATE) continue;
      const denoFloor = med("deno-floor", key, cpu);
      const nodeFloor = med("node-floor", key, cpu);
      const lean = med("deno-lean", key, cpu);
      result.push({
        metric: `paced ${fmt(rateValue)} events/s, ${label}: CPU per event of a bare read loop`,
        ours: `Deno floor ${denoFloor.toFixed(2)} µs/event (ours ${
          (med("ours", key, cpu) - denoFloor).toFixed(2)
        } µs above it); the leanest Deno watch ${lean.toFixed(2)} µs/event`,
        peer: `Node floor ${nodeFloor.toFixed(2)} µs/event (dockerode ${
          (med("dockerode", key, cpu) - nodeFloor).toFixed(2)
        } µs above it)`,
        ratio: fmtRatio(denoFloor / nodeFloor),
        goal: "report",
        met: "info",
      });
    }
  }
  return result;
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") await oursChild(Deno.args.slice(1));
  else await main(run);
}
