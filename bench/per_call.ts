/**
 * Per-call overhead: N sequential `containerStatus()` and `containerStart()`
 * against a fast fake engine in another process, next to the floor (bare
 * `fetch` over the same unix socket) and dockerode under Node.
 *
 *   deno run -A bench/per_call.ts
 *
 * @module
 */

import {
  denoChild,
  fmt,
  fmtRatio,
  log,
  main,
  median,
  NOT_BUILT,
  type Row,
  runNodePeer,
  tempDir,
  unavailableRow,
} from "./_harness.ts";
import { loadDocker } from "./_ours.ts";

const CALLS = 2000;
const ROUNDS = 5;
const CONTAINER = "x";

type Call = () => Promise<unknown>;

async function timeCalls(call: Call, calls: number): Promise<number> {
  const began = performance.now();
  for (let i = 0; i < calls; i++) await call();
  return ((performance.now() - began) * 1000) / calls;
}

/** Bare fetch over the unix socket: the floor any client on Deno pays. */
function fetchCalls(socket: string): { status: Call; start: Call; close(): void } {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const base = `http://docker/v1.41/containers/${CONTAINER}`;
  return {
    status: async () => {
      const response = await fetch(`${base}/json`, { client });
      const info = await response.json() as { State: { Status: string } };
      if (info.State.Status !== "running") throw new Error(`status ${info.State.Status}`);
    },
    start: async () => {
      const response = await fetch(`${base}/start`, { method: "POST", client });
      await response.body?.cancel();
      if (response.status !== 204) throw new Error(`start answered ${response.status}`);
    },
    close: () => client.close(),
  };
}

const GOAL_FLOOR = "≤ 1.10x bare fetch";
const GOAL_PEER = "< 1.00x dockerode";

async function run(): Promise<Row[]> {
  const dir = await tempDir("percall");
  const socket = `${dir}/engine.sock`;
  await using engine = denoChild("fake engine", "_fake_engine.ts", ["--socket", socket]);
  await engine.nextJson();

  const docker = await loadDocker();
  const floor = fetchCalls(socket);
  const results = {
    ours: { status: [] as number[], start: [] as number[] },
    fetch: { status: [] as number[], start: [] as number[] },
  };
  try {
    using provider = docker?.newDockerProvider({ url: `unix://${socket}` }, CONTAINER);
    const ours = provider && {
      status: async () => {
        const status = await provider.containerStatus();
        if (status !== "running") throw new Error(`status ${status}`);
      },
      start: () => provider.containerStart(),
    };
    // Warm-up: connections, version negotiation, JIT.
    for (const op of ["status", "start"] as const) {
      await timeCalls(floor[op], CALLS / 4);
      if (ours) await timeCalls(ours[op], CALLS / 4);
    }
    for (let round = 0; round < ROUNDS; round++) {
      log(`per-call round ${round + 1}/${ROUNDS}`);
      for (const op of ["status", "start"] as const) {
        // Alternate who goes first, so neither always runs on a warmer machine.
        const order = round % 2 ? ["fetch", "ours"] as const : ["ours", "fetch"] as const;
        for (const who of order) {
          if (who === "fetch") results.fetch[op].push(await timeCalls(floor[op], CALLS));
          else if (ours) results.ours[op].push(await timeCalls(ours[op], CALLS));
        }
      }
    }
  } finally {
    floor.close();
  }

  let peer: { status: number[]; start: number[] } | undefined;
  let peerError = "";
  try {
    log("per-call: dockerode");
    peer = await runNodePeer("per_call.mjs", [socket, CONTAINER, String(CALLS), String(ROUNDS)]);
  } catch (error) {
    peerError = `error: ${(error as Error).message.slice(0, 200)}`;
  }

  const rows: Row[] = [];
  for (
    const [op, label] of [["status", "containerStatus()"], ["start", "containerStart()"]] as const
  ) {
    const floorUs = median(results.fetch[op]);
    const peerUs = peer ? median(peer[op]) : NaN;
    const floorText = `fetch ${fmt(floorUs, 1)} µs/call`;
    const peerText = peer ? `dockerode ${fmt(peerUs, 1)} µs/call` : peerError;
    if (!docker) {
      rows.push({
        ...unavailableRow(`per-call ${label} vs bare fetch`, NOT_BUILT, GOAL_FLOOR),
        peer: floorText,
      });
      rows.push({
        ...unavailableRow(`per-call ${label} vs dockerode`, NOT_BUILT, GOAL_PEER),
        peer: peerText,
      });
      continue;
    }
    const oursUs = median(results.ours[op]);
    const data = { oursUs: results.ours[op], fetchUs: results.fetch[op], dockerodeUs: peer?.[op] };
    const vsFloor = oursUs / floorUs;
    rows.push({
      metric: `per-call ${label} vs bare fetch`,
      ours: `${fmt(oursUs, 1)} µs/call`,
      peer: floorText,
      ratio: fmtRatio(vsFloor),
      goal: GOAL_FLOOR,
      met: vsFloor <= 1.10 ? "yes" : "no",
      data,
    });
    const vsPeer = oursUs / peerUs;
    rows.push({
      metric: `per-call ${label} vs dockerode`,
      ours: `${fmt(oursUs, 1)} µs/call`,
      peer: peerText,
      ratio: fmtRatio(vsPeer),
      goal: GOAL_PEER,
      met: !peer ? "n/a" : vsPeer < 1 ? "yes" : "no",
      data,
    });
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return rows;
}

if (import.meta.main) await main(run);
