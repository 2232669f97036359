/**
 * Per-call overhead: N sequential `containerStatus()` and `containerStart()`
 * against a fast fake engine in another process, next to the floor (bare
 * `fetch` over the same unix socket) and dockerode under Node. The three
 * clients' rounds interleave, in a rotating order, so that they share the
 * machine's ups and downs; each result is the median of the rounds.
 *
 *   deno run -A bench/per_call.ts
 *
 * @module
 */

import {
  type Child,
  denoChild,
  fmt,
  fmtRatio,
  log,
  main,
  median,
  nodeChild,
  NOT_BUILT,
  pairedRatio,
  type Row,
  tempDir,
  unavailableRow,
} from "./_harness.ts";
import { loadDocker } from "./_ours.ts";

const CALLS = 500;
const ROUNDS = 20;
const CONTAINER = "x";
const OPS = ["status", "start"] as const;
type Op = typeof OPS[number];
type Client = "ours" | "fetch" | "dockerode";

/** Runs `calls` sequential calls; resolves microseconds per call. */
type Runner = (op: Op, calls: number) => Promise<number>;

function localRunner(ops: Record<Op, () => Promise<unknown>>): Runner {
  return async (op, calls) => {
    const call = ops[op];
    const began = performance.now();
    for (let i = 0; i < calls; i++) await call();
    return ((performance.now() - began) * 1000) / calls;
  };
}

/** Bare fetch over the unix socket: the floor any client on Deno pays. */
function fetchOps(client: Deno.HttpClient): Record<Op, () => Promise<unknown>> {
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
  };
}

function peerRunner(peer: Child): Runner {
  return async (op, calls) => (await peer.call<{ us: number }>({ op, calls })).us;
}

const GOAL_FLOOR = "≤ 1.10x bare fetch";
const GOAL_PEER = "< 1.00x dockerode";
const LABELS: Record<Op, string> = { status: "containerStatus()", start: "containerStart()" };

async function run(): Promise<Row[]> {
  const dir = await tempDir("percall");
  const socket = `${dir}/engine.sock`;
  await using engine = denoChild("fake engine", "_fake_engine.ts", ["--socket", socket]);
  await engine.nextJson();

  const docker = await loadDocker();
  using fetchClient = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  using provider = docker?.newDockerProvider({ url: `unix://${socket}` }, CONTAINER);
  let peer: Child | undefined;
  let peerError = "";
  try {
    peer = await nodeChild("per_call.mjs", [socket, CONTAINER], { stdin: true });
    await peer.nextJson();
  } catch (error) {
    peerError = `error: ${(error as Error).message.slice(0, 200)}`;
  }
  await using _peer = peer;

  const runners = new Map<Client, Runner>([["fetch", localRunner(fetchOps(fetchClient))]]);
  if (provider) {
    runners.set(
      "ours",
      localRunner({
        status: async () => {
          const status = await provider.containerStatus();
          if (status !== "running") throw new Error(`status ${status}`);
        },
        start: () => provider.containerStart(),
      }),
    );
  }
  if (peer) runners.set("dockerode", peerRunner(peer));

  const clients = [...runners.keys()];
  const results = new Map<string, number[]>();
  const record = (client: Client, op: Op, us: number) => {
    const key = `${client}:${op}`;
    results.set(key, [...results.get(key) ?? [], us]);
  };
  // Warm-up: connections, version negotiation, JIT.
  for (const op of OPS) {
    for (const client of clients) await runners.get(client)!(op, CALLS * 4);
  }
  for (let round = 0; round < ROUNDS; round++) {
    log(`per-call round ${round + 1}/${ROUNDS}`);
    for (const op of OPS) {
      // Rotate who goes first, so no client always runs right after another.
      for (let i = 0; i < clients.length; i++) {
        const client = clients[(round + i) % clients.length];
        record(client, op, await runners.get(client)!(op, CALLS));
      }
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});

  const rows: Row[] = [];
  for (const op of OPS) {
    const us = (client: Client) => median(results.get(`${client}:${op}`) ?? []);
    const data = {
      calls: CALLS,
      rounds: ROUNDS,
      oursUs: results.get(`ours:${op}`),
      fetchUs: results.get(`fetch:${op}`),
      dockerodeUs: results.get(`dockerode:${op}`),
    };
    const floorText = `fetch ${fmt(us("fetch"), 1)} µs/call`;
    const peerText = peer ? `dockerode ${fmt(us("dockerode"), 1)} µs/call` : peerError;
    const label = LABELS[op];
    if (!provider) {
      rows.push({
        ...unavailableRow(`per-call ${label} vs bare fetch`, NOT_BUILT, GOAL_FLOOR),
        peer: floorText,
        data,
      });
      rows.push({
        ...unavailableRow(`per-call ${label} vs dockerode`, NOT_BUILT, GOAL_PEER),
        peer: peerText,
        data,
      });
      continue;
    }
    const oursText = `${fmt(us("ours"), 1)} µs/call`;
    const series = (client: Client) => results.get(`${client}:${op}`) ?? [];
    const vsFloor = pairedRatio(series("ours"), series("fetch"));
    const vsPeer = pairedRatio(series("ours"), series("dockerode"));
    rows.push({
      metric: `per-call ${label} vs bare fetch`,
      ours: oursText,
      peer: floorText,
      ratio: fmtRatio(vsFloor),
      goal: GOAL_FLOOR,
      met: vsFloor <= 1.10 ? "yes" : "no",
      data,
    });
    rows.push({
      metric: `per-call ${label} vs dockerode`,
      ours: oursText,
      peer: peerText,
      ratio: fmtRatio(vsPeer),
      goal: GOAL_PEER,
      met: !peer ? "n/a" : vsPeer < 1 ? "yes" : "no",
      data,
    });
  }
  return rows;
}

if (import.meta.main) await main(run);
