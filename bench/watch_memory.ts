/**
 * Watch memory: the heap a process retains (after a forced GC), and its RSS, while its watch drains 1,000,000 events
 * (sampled as they arrive: it should stay flat), and the number of `/events`
 * connections and the RSS with 1,000 concurrent watches. Each client runs in
 * a fresh process of its own (this file, with `--child`).
 *
 *   deno run -A bench/watch_memory.ts
 *
 * @module
 */

import {
  type Child,
  denoChild,
  fmt,
  fmtMiB,
  fmtRatio,
  log,
  main,
  NOT_BUILT,
  type Row,
  sleep,
  tempDir,
  unavailableRow,
} from "./_harness.ts";
import { dockerWatchBuilt, loadDocker } from "./_ours.ts";
import { drainWatch } from "./_watch_drain.ts";

const FLOOD_EVENTS = 1_000_000;
const WATCHES = 1000;
const GOAL_FLAT = "flat: retained heap at end ≤ 50% mark + 5% (+1 MiB)";
const GOAL_CONNECTIONS = "1 connection (GoDoxy: 1,000)";

interface Sample {
  /** Share of the expected events received, 0..1. */
  progress: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/** Child: one watch drains the flood; memory sampled at every tenth of it, then after a GC. */
async function floodChild(socket: string, watchedId: string, expected: number): Promise<void> {
  const docker = (await loadDocker())!;
  using provider = docker.newDockerProvider({ url: `unix://${socket}` }, watchedId);
  // Each sample is taken after a full GC, so that it shows what the watch retains rather than
  // how far V8 has grown its young generation for the allocation rate (which shows in RSS).
  const gc = (globalThis as unknown as { gc(): void }).gc;
  const sample = (progress: number): Sample => {
    gc();
    return { progress, ...Deno.memoryUsage() };
  };
  const samples = [sample(0)];
  const step = Math.max(1, Math.floor(expected / 10));
  const result = await drainWatch(provider, expected, 120_000, (count) => {
    if (count % step === 0) samples.push(sample(count / expected));
  });
  console.log(JSON.stringify({ samples, afterGc: sample(1), ...result }));
}

/** Child: 1,000 providers on one host, each watching its own container, until told to stop. */
async function manyChild(socket: string, watches: number): Promise<void> {
  const docker = (await loadDocker())!;
  (globalThis as unknown as { gc(): void }).gc();
  const before = Deno.memoryUsage().rss;
  const stop = new AbortController();
  const providers = [];
  const drains: Promise<void>[] = [];
  for (let i = 0; i < watches; i++) {
    const provider = docker.newDockerProvider({ url: `unix://${socket}` }, `app-${i}`);
    providers.push(provider);
    const { events, errors } = provider.watch({ signal: stop.signal });
    drains.push(events.pipeTo(new WritableStream()).catch(() => {}));
    drains.push(errors.pipeTo(new WritableStream()).catch(() => {}));
  }
  await sleep(1000);
  (globalThis as unknown as { gc(): void }).gc();
  const { rss, heapUsed } = Deno.memoryUsage();
  console.log(JSON.stringify({ watching: watches, rssBefore: before, rss, heapUsed }));
  // Wait for the parent's "stop" line on stdin.
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();
  stop.abort();
  for (const provider of providers) provider.close();
  await Promise.all(drains);
  console.log(JSON.stringify({ stopped: true }));
}

async function fakeStats(socket: string): Promise<{ eventsOpen: number; eventsPeak: number }> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const response = await fetch("http://docker/_bench/stats", { client });
  return await response.json();
}

async function floodRows(dir: string): Promise<Row[]> {
  const socket = `${dir}/flood.sock`;
  await using engine = denoChild("fake engine", "_fake_engine.ts", [
    "--socket",
    socket,
    "--events",
    String(FLOOD_EVENTS),
  ]);
  const ready = await engine.nextJson<{ watchedId: string; watchedEvents: number }>();
  log(`watch memory: draining ${fmt(FLOOD_EVENTS)} events`);
  await using child = denoChild("flood watcher", "watch_memory.ts", [
    "--child",
    "flood",
    socket,
    ready.watchedId,
    String(ready.watchedEvents),
  ], { v8Flags: ["--expose-gc"] });
  const result = await child.nextJson<
    { samples: Sample[]; afterGc: Sample; seconds: number; events: number }
  >(150_000);
  const at = (progress: number) =>
    result.samples.reduce((best, s) =>
      Math.abs(s.progress - progress) < Math.abs(best.progress - progress) ? s : best
    );
  const half = at(0.5);
  const end = result.samples[result.samples.length - 1];
  const complete = result.events === ready.watchedEvents;
  return [{
    metric: `watch memory over ${fmt(FLOOD_EVENTS)} events (after GC)`,
    ours: `heap after GC ${fmtMiB(at(0.2).heapUsed)} at 20% → ${fmtMiB(half.heapUsed)} at 50% → ` +
      `${fmtMiB(end.heapUsed)} at end; RSS ${fmtMiB(half.rss)} → ${fmtMiB(end.rss)}` +
      (complete ? "" : ` (only ${result.events} of ${ready.watchedEvents} watched events)`),
    peer: "",
    ratio: fmtRatio(end.heapUsed / half.heapUsed),
    goal: GOAL_FLAT,
    met: complete && end.heapUsed <= half.heapUsed * 1.05 + 2 ** 20 ? "yes" : "no",
    data: { ...result },
  }];
}

async function manyRows(dir: string): Promise<Row[]> {
  const socket = `${dir}/many.sock`;
  await using engine = denoChild("fake engine", "_fake_engine.ts", ["--socket", socket]);
  await engine.nextJson();
  log(`watch memory: ${WATCHES} concurrent watches`);
  await using child: Child = denoChild("many watchers", "watch_memory.ts", [
    "--child",
    "many",
    socket,
    String(WATCHES),
  ], { stdin: true, v8Flags: ["--expose-gc"] });
  const held = await child.nextJson<{ rssBefore: number; rss: number; heapUsed: number }>(60_000);
  // Let the connections settle: the count must hold still for a second.
  let stats = await fakeStats(socket);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const next = await fakeStats(socket);
    if (next.eventsOpen === stats.eventsOpen && i >= 2) break;
    stats = next;
  }
  await child.call({ cmd: "stop" }, 30_000);
  const open = stats.eventsOpen;
  return [
    {
      metric: `/events connections, ${fmt(WATCHES)} watches`,
      ours: `${fmt(open)} open (peak ${fmt(stats.eventsPeak)})`,
      peer: `GoDoxy ${fmt(WATCHES)} (one client per watch)`,
      ratio: open > 0 ? `${fmt(WATCHES / open)}x fewer` : "n/a",
      goal: GOAL_CONNECTIONS,
      met: open === 1 && stats.eventsPeak === 1 ? "yes" : "no",
      data: { ...stats },
    },
    {
      metric: `watch RSS, ${fmt(WATCHES)} watches`,
      ours: `RSS ${fmtMiB(held.rss)} (+${fmtMiB(held.rss - held.rssBefore)}), heap ${
        fmtMiB(held.heapUsed)
      }, after GC`,
      peer: "",
      ratio: "",
      goal: "report",
      met: "info",
      data: held,
    },
  ];
}

async function run(): Promise<Row[]> {
  if (!dockerWatchBuilt(await loadDocker())) {
    return [
      unavailableRow(
        `watch memory over ${fmt(FLOOD_EVENTS)} events (after GC)`,
        NOT_BUILT,
        GOAL_FLAT,
      ),
      unavailableRow(`/events connections, ${fmt(WATCHES)} watches`, NOT_BUILT, GOAL_CONNECTIONS),
      unavailableRow(`watch RSS, ${fmt(WATCHES)} watches`, NOT_BUILT, "report"),
    ];
  }
  const dir = await tempDir("memory");
  try {
    return [...await floodRows(dir), ...await manyRows(dir)];
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const [flag, mode, ...args] = Deno.args;
  if (flag === "--child" && mode === "flood") await floodChild(args[0], args[1], Number(args[2]));
  else if (flag === "--child" && mode === "many") await manyChild(args[0], Number(args[1]));
  else await main(run);
}
