/**
 * Measures what `containerStart()` adds to the duration D of PVE's start task,
 * against the fake PVE on loopback (same process), next to GoDoxy's way: a
 * task poll every 300 ms, then a status check
 * (bench/baselines/godoxy_lxc_action.ts). Added = time to resolve − D; requests
 * as the fake counted them.
 *
 *     deno run -A tests/proxmox/_wake_latency.ts [runs per D, default 10]
 *
 * Each D gets a CT of its own, so that its first start has learned nothing
 * ("first" columns). Then `runs` starts of ours, then one warm-up and `runs`
 * starts of the baseline.
 *
 * @module
 */

import { PveApi } from "../../bench/baselines/_pve_api.ts";
import { godoxyLxcAction } from "../../bench/baselines/godoxy_lxc_action.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";
import { SECRET, setup, TOKEN_ID } from "./_setup.ts";

const DURATIONS = [20, 100, 250, 500, 1_000, 2_000, 5_000];
const RUNS = Number(Deno.args[0] ?? 10);

interface Sample {
  addedMs: number;
  requests: number;
}

/** The value at quantile `q` (nearest rank). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

await using s = await setup();
using api = new PveApi({
  url: s.fake.url,
  caCert: s.fake.caCert,
  tokenId: TOKEN_ID,
  secret: SECRET,
});

async function measure(
  vmid: number,
  duration: number,
  start: () => Promise<void>,
): Promise<Sample> {
  s.fake.setCt(vmid, { status: "stopped" });
  await s.fake.tasksSettled();
  s.fake.resetRequests();
  const began = performance.now();
  await start();
  const addedMs = performance.now() - began - duration;
  return { addedMs, requests: s.fake.requests.length };
}

const columns = [
  "D (ms)",
  "first: added, req",
  "ours added med",
  "p90",
  "ours req med/max",
  "runs > baseline req",
  "baseline added med",
  "baseline req max",
  "ratio",
  "goal met",
];
console.log(`| ${columns.join(" | ")} |`);
console.log(`|${columns.map((c) => "-".repeat(c.length + 2)).join("|")}|`);
for (const [i, duration] of DURATIONS.entries()) {
  const vmid = 101 + i;
  s.fake.addCt("pve", vmid);
  s.fake.taskDurationMs = duration;
  using provider = await newProxmoxProvider("pve", vmid, { client: s.client });
  const ours = () => provider.containerStart();
  const baseline = () => godoxyLxcAction(api, "pve", vmid, "start");

  const first = await measure(vmid, duration, ours);
  const oursRuns: Sample[] = [];
  for (let run = 0; run < RUNS; run++) oursRuns.push(await measure(vmid, duration, ours));
  await measure(vmid, duration, baseline); // warm-up: the fetch client's connection
  const baselineRuns: Sample[] = [];
  for (let run = 0; run < RUNS; run++) baselineRuns.push(await measure(vmid, duration, baseline));

  const added = (runs: Sample[], q: number) => quantile(runs.map((r) => r.addedMs), q);
  const requests = (runs: Sample[], q: number) => quantile(runs.map((r) => r.requests), q);
  const ratio = added(oursRuns, 0.5) / added(baselineRuns, 0.5);
  const met = ratio <= 1 / 3 && requests(oursRuns, 1) <= requests(baselineRuns, 1);
  const cells = [
    String(duration),
    `${first.addedMs.toFixed(1)}, ${first.requests}`,
    added(oursRuns, 0.5).toFixed(1),
    added(oursRuns, 0.9).toFixed(1),
    `${requests(oursRuns, 0.5)}/${requests(oursRuns, 1)}`,
    `${oursRuns.filter((r) => r.requests > requests(baselineRuns, 1)).length}/${RUNS}`,
    added(baselineRuns, 0.5).toFixed(1),
    String(requests(baselineRuns, 1)),
    `${ratio.toFixed(2)}x`,
    met ? "yes" : "no",
  ];
  console.log(`| ${cells.map((cell, c) => cell.padStart(columns[c].length)).join(" | ")} |`);
}
