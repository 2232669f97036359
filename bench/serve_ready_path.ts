/**
 * The ready path of `idlewatcher serve`: `GET /api/strategies/dynamic` for an
 * instance that is running and in session, asked as Sablier's nginx module
 * asks (every unset parameter empty), against a bare `Deno.serve` hello world
 * (the floor: what any Deno HTTP server costs). Both run in processes of their
 * own; this process is the client. Rounds alternate the order.
 *
 * The server watches a fake engine (bench/_fake_serve_engine.ts) that counts
 * requests: the ready path must make none.
 *
 *   deno run -A bench/serve_ready_path.ts
 *
 * @module
 */

import {
  fmt,
  fmtRatio,
  log,
  main,
  median,
  pairedRatio,
  type Row,
  unavailableRow,
} from "./_harness.ts";
import {
  FakeServeEngine,
  helloChild,
  sequentialLatencies,
  serveBuilt,
  ServeChild,
  throughput,
} from "./_serve.ts";

const ROUNDS = 10;
const SEQUENTIAL = 400;
const TOTAL = 2_000;
const CONCURRENCY = 16;
const GOAL_LATENCY = "≤ 1.5x the floor";
const METRIC_LATENCY = "serve: ready-path latency, /api/strategies/dynamic (median)";
const METRIC_SIZED = "serve: ready-path latency against a floor answering as many bytes";
const METRIC_THROUGHPUT = `serve: ready-path throughput, ${CONCURRENCY} concurrent`;
const METRIC_REQUESTS = "serve: runtime requests on the ready path";

async function run(): Promise<Row[]> {
  if (!await serveBuilt()) {
    return [unavailableRow(METRIC_LATENCY, "n/a (not built)", GOAL_LATENCY)];
  }
  await using engine = await FakeServeEngine.start(1, "running");
  await using server = await ServeChild.start(engine.socket, "5m");
  const floor = await helloChild();
  await using _floor = floor.child;
  const ours = `${server.url}/api/strategies/dynamic?names=app-0&session_duration=5m` +
    "&display_name=&theme=&refresh_frequency=&show_details=";

  // Warm up both; the instance must answer ready before anything is measured.
  const first = await fetch(ours);
  await first.arrayBuffer();
  const status = first.headers.get("x-sablier-session-status");
  if (status !== "ready") {
    throw new Error(`the running instance answered ${first.status} ${status}`);
  }
  const pageBytes = Number(first.headers.get("content-length"));
  // A second floor answers a page of the same size: what the bytes alone cost.
  const sized = await helloChild(pageBytes);
  await using _sized = sized.child;
  await sequentialLatencies(ours, 500);
  await sequentialLatencies(floor.url, 500);
  await sequentialLatencies(sized.url, 500);
  await engine.reset();

  const latOurs: number[] = [];
  const latFloor: number[] = [];
  const thrOurs: number[] = [];
  const thrFloor: number[] = [];
  const latSized: number[] = [];
  const ORDERS = [["ours", "floor", "sized"], ["floor", "sized", "ours"], [
    "sized",
    "ours",
    "floor",
  ]];
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of ORDERS[round % ORDERS.length]) {
      const url = side === "ours" ? ours : side === "floor" ? floor.url : sized.url;
      const latency = median(await sequentialLatencies(url, SEQUENTIAL));
      if (side === "sized") {
        latSized.push(latency);
        continue;
      }
      const rate = await throughput(url, TOTAL, CONCURRENCY);
      (side === "ours" ? latOurs : latFloor).push(latency);
      (side === "ours" ? thrOurs : thrFloor).push(rate);
    }
    log(
      `round ${round + 1}: ours ${fmt(latOurs.at(-1)!)} µs, floor ${fmt(latFloor.at(-1)!)} µs, ` +
        `same-size floor ${fmt(latSized.at(-1)!)} µs`,
    );
  }
  const last = await fetch(ours);
  await last.arrayBuffer();
  const stillReady = last.headers.get("x-sablier-session-status") === "ready";
  const stats = await engine.stats();
  const latencyRatio = pairedRatio(latOurs, latFloor);
  const throughputRatio = pairedRatio(thrOurs, thrFloor);
  const sizedRatio = pairedRatio(latOurs, latSized);
  const asked = ROUNDS * (SEQUENTIAL + TOTAL) + 1;
  return [
    {
      metric: METRIC_LATENCY,
      ours: `${fmt(median(latOurs))} µs (${fmt(pageBytes)}-byte page)`,
      peer: `${fmt(median(latFloor))} µs (bare Deno.serve)`,
      ratio: fmtRatio(latencyRatio),
      goal: GOAL_LATENCY,
      met: latencyRatio <= 1.5 ? "yes" : "no",
      data: { latOurs, latFloor, pageBytes },
    },
    {
      metric: METRIC_SIZED,
      ours: `${fmt(median(latOurs))} µs`,
      peer: `${fmt(median(latSized))} µs (bare Deno.serve, ${fmt(pageBytes)}-byte page)`,
      ratio: fmtRatio(sizedRatio),
      goal: "info (what the page's bytes alone cost)",
      met: "info",
      data: { latSized },
    },
    {
      metric: METRIC_THROUGHPUT,
      ours: `${fmt(median(thrOurs))} req/s`,
      peer: `${fmt(median(thrFloor))} req/s (bare Deno.serve)`,
      ratio: fmtRatio(throughputRatio),
      goal: "info (ours / floor)",
      met: "info",
      data: { thrOurs, thrFloor },
    },
    {
      metric: METRIC_REQUESTS,
      ours: `${stats.requests} for ${fmt(asked)} requests` +
        (stats.requests ? ` (${JSON.stringify(stats.byRoute)})` : ""),
      peer: "",
      ratio: "",
      goal: "0, still ready",
      met: stats.requests === 0 && stillReady ? "yes" : "no",
      data: stats,
    },
  ];
}

if (import.meta.main) await main(run);
