/**
 * Proxmox watch load: the requests per second the fake PVE (in another
 * process) receives while 500 CTs are watched, and the time from a CT's state
 * flip to its event, next to GoDoxy's one status poll per CT per second
 * (bench/baselines/godoxy_lxc_watch.ts). Ours runs with the 500 CTs on one
 * node and spread over five, and with 500 guests on one node, half CTs and
 * half QEMU VMs (one CT list and one VM list per node and interval; the peer
 * is the same per-guest poll, as GoDoxy has no VM provider). The CT rows'
 * goal is the floor at equal detection latency: one list request per
 * interval for each node with watched CTs, plus one task read per
 * running→stopped flip (was it a suspend?), nothing else; both numbers are
 * reported.
 *
 * Flips come every 760 ms, two CTs at a time, so that they fall evenly over
 * the phases of a one-second poll.
 *
 *   deno run -A bench/proxmox_watch.ts
 *
 * @module
 */

import { PveApi } from "./baselines/_pve_api.ts";
import { godoxyLxcWatch } from "./baselines/godoxy_lxc_watch.ts";
import {
  denoChild,
  fmt,
  fmtRatio,
  log,
  main,
  NOT_BUILT,
  percentile,
  type Row,
  sleep,
  unavailableRow,
} from "./_harness.ts";
import { loadProxmox, type ProxmoxModule } from "./_ours.ts";

const CTS = 500;
const FIRST_VMID = 1000;
const FLIP_MOMENTS = 16;
const FLIPS_PER_MOMENT = 2;
const FLIP_SPACING_MS = 760;
const SETTLE_MS = 2500;
const TAIL_MS = 1500;
const GOAL_LOAD =
  "list requests per interval = nodes with watched CTs; task reads = running→stopped flips";
/** The client's watch interval (the library's default), in seconds. */
const INTERVAL_S = 1;
const GOAL_LATENCY = "≤ 1.10x baseline (equal within noise)";
const GOAL_MIXED = "1 CT list + 1 VM list per node per second; ≥ 100x fewer requests";

interface Ready {
  url: string;
  caCert: string;
  tokenId: string;
  secret: string;
}

interface Measurement {
  requestsPerSecond: number;
  /** CTs flipped from running to stopped in the window. */
  stops: number;
  byKind: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
  missed: number;
}

/** Records when each CT's change was seen. */
type Arrivals = Map<number, number[]>;

/** The node of the i-th CT: as the fake places it (`i mod nodes`). */
function nodeOf(index: number, nodes: number): string {
  const names = nodeNames(nodes);
  return names[index % names.length];
}

function nodeNames(nodes: number): string[] {
  return nodes === 1 ? ["pve"] : Array.from({ length: nodes }, (_, n) => `pve${n + 1}`);
}

/** Watches all CTs the library's way; returns a stop function. */
async function watchOurs(
  proxmox: ProxmoxModule,
  ready: Ready,
  nodes: number,
  arrivals: Arrivals,
): Promise<() => void> {
  const client = new proxmox.ProxmoxClient({
    url: ready.url,
    tokenId: ready.tokenId,
    secret: ready.secret,
    caCerts: [ready.caCert],
  });
  const stop = new AbortController();
  for (let batch = 0; batch < CTS; batch += 50) {
    const providers = await Promise.all(
      Array.from({ length: Math.min(50, CTS - batch) }, (_, j) => {
        const i = batch + j;
        return proxmox.newProxmoxProvider(nodeOf(i, nodes), FIRST_VMID + i, { client });
      }),
    );
    for (const provider of providers) {
      const { events, errors } = provider.watch({ signal: stop.signal });
      errors.pipeTo(new WritableStream()).catch(() => {});
      events.pipeTo(
        new WritableStream({
          write(event) {
            if (event.action === "started" || event.action === "stopped") {
              const vmid = Number(event.actorId);
              arrivals.set(vmid, [...arrivals.get(vmid) ?? [], performance.now()]);
            }
          },
        }),
      ).catch(() => {});
    }
  }
  return () => {
    stop.abort();
    client.close();
  };
}

/** Watches all CTs GoDoxy's way (their start spread over a second); returns a stop function. */
function watchBaseline(ready: Ready, nodes: number, arrivals: Arrivals): () => void {
  const api = new PveApi(ready);
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  for (let i = 0; i < CTS; i++) {
    const vmid = FIRST_VMID + i;
    const record = () => arrivals.set(vmid, [...arrivals.get(vmid) ?? [], performance.now()]);
    loops.push(
      sleep((i * 1000) / CTS).then(() =>
        godoxyLxcWatch(api, nodeOf(i, nodes), vmid, record, stop.signal)
      ),
    );
  }
  return () => {
    stop.abort();
    Promise.all(loops).finally(() => api[Symbol.dispose]());
  };
}

async function measure(
  who: "ours" | "baseline",
  nodes: number,
  proxmox: ProxmoxModule | undefined,
  mixed = false,
): Promise<Measurement> {
  log(`proxmox watch: ${who}, ${CTS} ${mixed ? "guests (half VMs)" : "CTs"} on ${nodes} node(s)`);
  await using fake = denoChild("fake PVE", "_fake_pve_server.ts", ["{}"], { stdin: true });
  const ready = await fake.nextJson<Ready>();
  if (mixed) {
    // CTs first, then VMs; the flips pick among all of them alike.
    const half = CTS / 2;
    await fake.call({ cmd: "addCts", nodes: nodeNames(nodes), from: FIRST_VMID, count: half });
    await fake.call({
      cmd: "addVms",
      nodes: nodeNames(nodes),
      from: FIRST_VMID + half,
      count: half,
    });
  } else {
    await fake.call({ cmd: "addCts", nodes: nodeNames(nodes), from: FIRST_VMID, count: CTS });
  }
  // The fake starts every other guest of each kind running.
  const running = new Map<number, boolean>();
  for (let i = 0; i < CTS; i++) running.set(FIRST_VMID + i, (mixed ? i % (CTS / 2) : i) % 2 === 1);

  const arrivals: Arrivals = new Map();
  const stopWatching = who === "ours"
    ? await watchOurs(proxmox!, ready, nodes, arrivals)
    : watchBaseline(ready, nodes, arrivals);
  try {
    await sleep(SETTLE_MS); // every watch has its baseline
    await fake.call({ cmd: "requests", reset: true });
    const began = performance.now();
    const flips: { vmid: number; at: number; stopped: boolean }[] = [];
    let seed = 12345;
    // The high bits of a linear congruential generator (its low bits alternate), so that both
    // running and stopped CTs flip.
    const nextIndex = () =>
      Math.floor((seed = (seed * 1103515245 + 12345) % 2147483648) / 65536) % CTS;
    for (let moment = 0; moment < FLIP_MOMENTS; moment++) {
      const due = began + moment * FLIP_SPACING_MS;
      await sleep(Math.max(0, due - performance.now()));
      for (let f = 0; f < FLIPS_PER_MOMENT; f++) {
        let vmid: number;
        do vmid = FIRST_VMID + nextIndex(); while (flips.some((flip) => flip.vmid === vmid));
        const status = running.get(vmid) ? "stopped" : "running";
        running.set(vmid, !running.get(vmid));
        const at = performance.now();
        await fake.call({ cmd: "setStatus", vmid, status });
        flips.push({ vmid, at, stopped: status === "stopped" });
      }
    }
    await sleep(TAIL_MS);
    const seconds = (performance.now() - began) / 1000;
    const { count, byKind } = await fake.call<{ count: number; byKind: Record<string, number> }>(
      { cmd: "requests", reset: true },
    );
    const latenciesMs: number[] = [];
    let missed = 0;
    for (const flip of flips) {
      const seen = arrivals.get(flip.vmid)?.find((t) => t > flip.at);
      if (seen === undefined) missed++;
      else latenciesMs.push(seen - flip.at);
    }
    const stops = flips.filter((flip) => flip.stopped).length;
    return { requestsPerSecond: count / seconds, stops, byKind, seconds, latenciesMs, missed };
  } finally {
    stopWatching();
  }
}

function latencyText(m: Measurement): string {
  const mean = m.latenciesMs.reduce((a, b) => a + b, 0) / m.latenciesMs.length;
  return `mean ${fmt(mean)} ms, p95 ${fmt(percentile(m.latenciesMs, 95))} ms` +
    (m.missed ? `, ${m.missed} missed` : "");
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

async function run(): Promise<Row[]> {
  const proxmox = await loadProxmox();
  const baseline = await measure("baseline", 1, undefined);
  const peerLoad = `GoDoxy baseline ${fmt(baseline.requestsPerSecond, 1)} req/s`;
  const peerLatency = `baseline ${latencyText(baseline)}`;
  const rows: Row[] = [];
  for (const nodes of [1, 5]) {
    const where = `${CTS} CTs on ${nodes} node${nodes > 1 ? "s" : ""}`;
    const loadMetric = `Proxmox watch load, ${where}`;
    const latencyMetric = `Proxmox flip → event, ${where}`;
    if (!proxmox) {
      rows.push({ ...unavailableRow(loadMetric, NOT_BUILT, GOAL_LOAD), peer: peerLoad });
      rows.push({ ...unavailableRow(latencyMetric, NOT_BUILT, GOAL_LATENCY), peer: peerLatency });
      continue;
    }
    const ours = await measure("ours", nodes, proxmox);
    const fewer = baseline.requestsPerSecond / ours.requestsPerSecond;
    const slower = mean(ours.latenciesMs) / mean(baseline.latenciesMs);
    const data = { ours, baseline };
    const lists = ours.byKind.list ?? 0;
    const taskReads = ours.byKind["task-list"] ?? 0;
    const others = Object.values(ours.byKind).reduce((a, b) => a + b, 0) - lists - taskReads;
    // The window holds a whole number of intervals give or take one poll.
    const listsPerInterval = lists / (ours.seconds / INTERVAL_S);
    const floorMet = listsPerInterval <= nodes * (1 + 1.5 / (ours.seconds / INTERVAL_S)) &&
      taskReads <= ours.stops && others === 0;
    rows.push({
      metric: loadMetric,
      ours: `${fmt(listsPerInterval, 2)} list requests per ${INTERVAL_S} s interval (${nodes} node${
        nodes > 1 ? "s" : ""
      } with watched CTs); ${taskReads} task reads for ${ours.stops} running→stopped flips${
        others ? `, ${others} other requests` : ""
      }; ${fmt(ours.requestsPerSecond, 1)} req/s in all`,
      peer: `${peerLoad} (${fmt(fewer, 0)}x more)`,
      ratio: `${fmtRatio(listsPerInterval / nodes)} the floor`,
      goal: GOAL_LOAD,
      met: floorMet ? "yes" : "no",
      data,
    });
    rows.push({
      metric: latencyMetric,
      ours: latencyText(ours),
      peer: peerLatency,
      ratio: fmtRatio(slower),
      goal: GOAL_LATENCY,
      met: slower <= 1.10 && ours.missed === 0 ? "yes" : "no",
      data,
    });
  }
  rows.push(await mixedRow(proxmox, baseline, peerLoad));
  return rows;
}

/** 500 guests on one node, half CTs and half VMs: one list of each kind per interval. */
async function mixedRow(
  proxmox: ProxmoxModule | undefined,
  baseline: Measurement,
  peerLoad: string,
): Promise<Row> {
  const metric = `Proxmox watch load, ${CTS} guests (${CTS / 2} CTs + ${CTS / 2} VMs) on 1 node`;
  if (!proxmox) return { ...unavailableRow(metric, NOT_BUILT, GOAL_MIXED), peer: peerLoad };
  const ours = await measure("ours", 1, proxmox, true);
  const perSecond = (kind: string) => (ours.byKind[kind] ?? 0) / ours.seconds;
  const fewer = baseline.requestsPerSecond / ours.requestsPerSecond;
  const onePerInterval = (rate: number) => rate >= 0.8 && rate <= 1.2;
  return {
    metric,
    ours: `${fmt(ours.requestsPerSecond, 1)} req/s (${fmt(perSecond("list"), 1)} CT lists, ${
      fmt(perSecond("vm-list"), 1)
    } VM lists, ${fmt(perSecond("task-list"), 1)} task reads per s; ${
      latencyText(ours)
    } flip → event)`,
    peer: `${peerLoad} (one poll per guest)`,
    ratio: `${fmt(fewer, 0)}x fewer`,
    goal: GOAL_MIXED,
    met: onePerInterval(perSecond("list")) && onePerInterval(perSecond("vm-list")) &&
        fewer >= 100 && ours.missed === 0
      ? "yes"
      : "no",
    data: { ours, baseline },
  };
}

if (import.meta.main) await main(run);
