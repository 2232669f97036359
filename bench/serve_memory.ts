/**
 * Memory of `idlewatcher serve` managing 1,000 containers (a fake engine,
 * bench/_fake_serve_engine.ts, in its own process) through 10,000 session
 * requests, against the same server managing none (the floor). Memory is the
 * server process's resident set (`VmRSS`), read from /proc after a pause.
 * A second wave of 10,000 requests shows whether it keeps growing.
 *
 *   deno run -A bench/serve_memory.ts
 *
 * @module
 */

import { fmt, fmtMiB, fmtRatio, log, main, type Row, sleep, unavailableRow } from "./_harness.ts";
import { FakeServeEngine, rssOf, serveBuilt, ServeChild } from "./_serve.ts";

const CONTAINERS = 1_000;
const SESSIONS = 10_000;
const CONCURRENCY = 50;
const METRIC = `serve: memory, ${fmt(CONTAINERS)} containers, ${fmt(SESSIONS)} session requests`;
const METRIC_GROWTH = `serve: memory growth over a second ${fmt(SESSIONS)} session requests`;
const GOAL_GROWTH = "≤ 5% + 2 MiB";

/** A request naming 1 to 3 instances, every one in turn, with its own session length. */
function sessionUrl(base: string, index: number): string {
  const names = Array.from(
    { length: 1 + (index % 3) },
    (_, k) => `names=app-${(index * 7 + k * 331) % CONTAINERS}`,
  );
  return `${base}/api/strategies/dynamic?${names.join("&")}&session_duration=${
    5 + (index % 55)
  }m&show_details=true`;
}

async function wave(base: string, from: number): Promise<void> {
  let next = from;
  const end = from + SESSIONS;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < end) {
      const response = await fetch(sessionUrl(base, next++));
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`session request: ${response.status}`);
    }
  }));
}

async function settledRss(pid: number): Promise<number> {
  await sleep(2_000);
  return await rssOf(pid);
}

async function run(): Promise<Row[]> {
  if (!await serveBuilt()) return [unavailableRow(METRIC, "n/a (not built)", "info")];
  let floor: number;
  {
    await using engine = await FakeServeEngine.start(0, "running");
    await using server = await ServeChild.start(engine.socket, "5m");
    const warm = await fetch(`${server.url}/health`);
    await warm.arrayBuffer();
    floor = await settledRss(server.pid);
  }
  log(`floor (no container): ${fmtMiB(floor)}`);
  await using engine = await FakeServeEngine.start(CONTAINERS, "running");
  await using server = await ServeChild.start(engine.socket, "5m");
  // Every container is known once the last one answers.
  for (let attempt = 0;; attempt++) {
    const response = await fetch(
      `${server.url}/api/strategies/dynamic?names=app-${CONTAINERS - 1}`,
    );
    await response.arrayBuffer();
    if (response.status === 200) break;
    if (attempt > 300) throw new Error(`app-${CONTAINERS - 1} unknown: ${response.status}`);
    await sleep(100);
  }
  const managed = await settledRss(server.pid);
  const startup = await engine.stats();
  await engine.reset();
  const began = performance.now();
  await wave(server.url, 0);
  const seconds = (performance.now() - began) / 1000;
  const afterFirst = await settledRss(server.pid);
  await wave(server.url, SESSIONS);
  const afterSecond = await settledRss(server.pid);
  const stats = await engine.stats();
  log(
    `managed ${fmtMiB(managed)}, after ${SESSIONS} ${fmtMiB(afterFirst)}, after ${2 * SESSIONS} ${
      fmtMiB(afterSecond)
    }; engine requests ${stats.requests}`,
  );
  const growth = afterSecond - afterFirst;
  return [
    {
      metric: METRIC,
      ours: `${fmtMiB(afterFirst)} RSS (${fmtMiB(managed)} before the requests, ${
        fmt((afterFirst - floor) / CONTAINERS / 1024, 1)
      } KiB/container after; ${startup.openEventStreams} engine event stream)`,
      peer: `${fmtMiB(floor)} (no container)`,
      ratio: fmtRatio(afterFirst / floor),
      goal: "info",
      met: "info",
      data: {
        floor,
        managed,
        afterFirst,
        afterSecond,
        seconds,
        engineRequests: stats.requests,
        startup,
      },
    },
    {
      metric: METRIC_GROWTH,
      ours: `${growth >= 0 ? "+" : ""}${fmtMiB(growth)} (${
        fmt(SESSIONS / seconds)
      } req/s, ${stats.requests} engine requests)`,
      peer: "",
      ratio: "",
      goal: GOAL_GROWTH,
      met: growth <= afterFirst * 0.05 + 2 * 1048576 ? "yes" : "no",
    },
  ];
}

if (import.meta.main) await main(run);
