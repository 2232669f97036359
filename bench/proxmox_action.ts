/**
 * Proxmox action latency: `containerStart()` against the fake PVE (in another
 * process) whose start task takes a time D; the latency added beyond D, and
 * the requests sent, next to GoDoxy's fixed 300 ms task poll followed by a
 * status check (bench/baselines/godoxy_lxc_action.ts).
 *
 * The library learns how long a kind of task takes, per client, so three
 * cases are measured, each interleaved with the baseline:
 * - fixed D = 1,000 ms on one client (after one unmeasured call: learned);
 * - the first call of a fresh client (nothing learned);
 * - D changing from call to call (700 to 1,300 ms) on one client.
 *
 *   deno run -A bench/proxmox_action.ts
 *
 * @module
 */

import { PveApi } from "./baselines/_pve_api.ts";
import { godoxyLxcAction } from "./baselines/godoxy_lxc_action.ts";
import {
  type Child,
  denoChild,
  fmt,
  fmtRatio,
  log,
  main,
  median,
  NOT_BUILT,
  type Row,
} from "./_harness.ts";
import { loadProxmox, type ProxmoxModule } from "./_ours.ts";

const TASK_MS = 1000;
const ROUNDS = 5;
const NODE = "pve";
const VMID = 101;
/**
 * The goals: a third of the baseline's added latency; with no more requests
 * than the baseline where D is steady. Where D varies, the checks spread over
 * the durations seen, so the requests are reported, not bounded.
 */
const GOALS: Record<Mode, { text: string; requestsBound: boolean }> = {
  learned: { text: "≤ 0.33x baseline, max requests ≤ baseline's", requestsBound: true },
  cold: { text: "≤ 0.33x baseline, max requests ≤ baseline's", requestsBound: true },
  varying: { text: "≤ 0.33x baseline (requests reported)", requestsBound: false },
};

interface Ready {
  url: string;
  caCert: string;
  tokenId: string;
  secret: string;
}

type Mode = "learned" | "cold" | "varying";

const METRICS: Record<Mode, string> = {
  learned: `Proxmox start: added latency, D = ${fmt(TASK_MS)} ms (learned)`,
  cold: `Proxmox start: added latency, D = ${fmt(TASK_MS)} ms, fresh client`,
  varying: "Proxmox start: added latency, D = 700–1,300 ms",
};

interface Results {
  addedMs: number[];
  requests: number[];
  byKind: Record<string, number>;
}

/** Task times of the varying case, round by round (round 0 is the warm-up). */
const VARYING_MS = [1000, 760, 1240, 880, 1300, 700];

/** The task time of a round. */
function taskMs(mode: Mode, round: number): number {
  return mode === "varying" ? VARYING_MS[round % VARYING_MS.length] : TASK_MS;
}

async function measure(
  mode: Mode,
  fake: Child,
  ready: Ready,
  proxmox: ProxmoxModule | undefined,
): Promise<{ ours: Results; baseline: Results }> {
  const config = {
    url: ready.url,
    tokenId: ready.tokenId,
    secret: ready.secret,
    caCerts: [ready.caCert],
  };
  using api = new PveApi(ready);
  let shared = proxmox ? new proxmox.ProxmoxClient(config) : undefined;
  const results = {
    ours: { addedMs: [] as number[], requests: [] as number[], byKind: {} },
    baseline: { addedMs: [] as number[], requests: [] as number[], byKind: {} },
  };
  const clients = proxmox ? ["ours", "baseline"] as const : ["baseline"] as const;
  try {
    // Round 0 is a warm-up (TLS connections, JIT, and what the library learns), not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      log(`proxmox action (${mode}) round ${round}/${ROUNDS}`);
      const duration = taskMs(mode, round);
      await fake.call({ cmd: "set", field: "taskDurationMs", value: duration });
      for (let i = 0; i < clients.length; i++) {
        const who = clients[(round + i) % clients.length];
        if (who === "ours" && mode === "cold") {
          shared?.close();
          shared = new proxmox!.ProxmoxClient(config);
        }
        using provider = who === "ours"
          ? await proxmox!.newProxmoxProvider(NODE, VMID, { client: shared })
          : undefined;
        await fake.call({ cmd: "settled" });
        await fake.call({ cmd: "setStatus", vmid: VMID, status: "stopped" });
        await fake.call({ cmd: "requests", reset: true });
        const began = performance.now();
        if (provider) await provider.containerStart();
        else await godoxyLxcAction(api, NODE, VMID, "start");
        const elapsed = performance.now() - began;
        const { count, byKind } = await fake.call<
          { count: number; byKind: Record<string, number> }
        >({ cmd: "requests", reset: true });
        if (round === 0) continue;
        results[who].addedMs.push(elapsed - duration);
        results[who].requests.push(count);
        results[who].byKind = byKind;
      }
    }
  } finally {
    shared?.close();
  }
  return results;
}

async function run(): Promise<Row[]> {
  await using fake = denoChild("fake PVE", "_fake_pve_server.ts", ["{}"], { stdin: true });
  const ready = await fake.nextJson<Ready>();
  await fake.call({ cmd: "addCts", nodes: [NODE], from: VMID, count: 1 });
  const proxmox = await loadProxmox();

  const rows: Row[] = [];
  for (const mode of ["learned", "cold", "varying"] as const) {
    const { ours, baseline } = await measure(mode, fake, ready, proxmox);
    const added = (r: Results) => median(r.addedMs);
    const requests = (r: Results) => Math.max(...r.requests);
    const requestsText = (r: Results) =>
      median(r.requests) === requests(r)
        ? `${requests(r)} requests`
        : `${median(r.requests)} requests (max ${requests(r)})`;
    const peer = `GoDoxy baseline +${fmt(added(baseline), 1)} ms, ${requestsText(baseline)}`;
    const data = { mode, rounds: ROUNDS, ours, baseline };
    if (!proxmox) {
      rows.push({
        metric: METRICS[mode],
        ours: NOT_BUILT,
        peer,
        ratio: "",
        goal: GOALS[mode].text,
        met: "n/a",
        data,
      });
      continue;
    }
    const ratio = added(ours) / added(baseline);
    rows.push({
      metric: METRICS[mode],
      ours: `+${fmt(added(ours), 1)} ms, ${requestsText(ours)}`,
      peer,
      ratio: fmtRatio(ratio),
      goal: GOALS[mode].text,
      met: ratio <= 1 / 3 && (!GOALS[mode].requestsBound || requests(ours) <= requests(baseline))
        ? "yes"
        : "no",
      data,
    });
  }
  return rows;
}

if (import.meta.main) await main(run);
