/**
 * Proxmox action latency: `containerStart()` against the fake PVE (in another
 * process) whose start task takes a fixed D; the latency added beyond D, and
 * the requests sent, next to GoDoxy's fixed 300 ms task poll followed by a
 * status check (bench/baselines/godoxy_lxc_action.ts).
 *
 *   deno run -A bench/proxmox_action.ts
 *
 * @module
 */

import { PveApi } from "./baselines/_pve_api.ts";
import { godoxyLxcAction } from "./baselines/godoxy_lxc_action.ts";
import { denoChild, fmt, fmtRatio, log, main, median, NOT_BUILT, type Row } from "./_harness.ts";
import { loadProxmox } from "./_ours.ts";

const TASK_MS = 1000;
const ROUNDS = 5;
const NODE = "pve";
const VMID = 101;
const METRIC = `Proxmox containerStart() added latency (task D = ${fmt(TASK_MS)} ms)`;
const GOAL = "≤ 0.33x baseline, requests ≤ baseline";

interface Ready {
  url: string;
  caCert: string;
  tokenId: string;
  secret: string;
}

async function run(): Promise<Row[]> {
  await using fake = denoChild("fake PVE", "_fake_pve_server.ts", [
    JSON.stringify({ taskDurationMs: TASK_MS }),
  ], { stdin: true });
  const ready = await fake.nextJson<Ready>();
  await fake.call({ cmd: "addCts", nodes: [NODE], from: VMID, count: 1 });

  const proxmox = await loadProxmox();
  using api = new PveApi(ready);
  using client = proxmox
    ? new proxmox.ProxmoxClient({
      url: ready.url,
      tokenId: ready.tokenId,
      secret: ready.secret,
      caCerts: [ready.caCert],
    })
    : undefined;
  using provider = proxmox ? await proxmox.newProxmoxProvider(NODE, VMID, { client }) : undefined;

  const starts = {
    ours: () => provider!.containerStart(),
    baseline: () => godoxyLxcAction(api, NODE, VMID, "start"),
  };
  const clients = provider ? ["ours", "baseline"] as const : ["baseline"] as const;
  const results = {
    ours: {
      addedMs: [] as number[],
      requests: [] as number[],
      byKind: {} as Record<string, number>,
    },
    baseline: {
      addedMs: [] as number[],
      requests: [] as number[],
      byKind: {} as Record<string, number>,
    },
  };
  // Round 0 is a warm-up (TLS connections, JIT).
  for (let round = 0; round <= ROUNDS; round++) {
    log(`proxmox action round ${round}/${ROUNDS}`);
    for (let i = 0; i < clients.length; i++) {
      const who = clients[(round + i) % clients.length];
      await fake.call({ cmd: "settled" });
      await fake.call({ cmd: "setStatus", vmid: VMID, status: "stopped" });
      await fake.call({ cmd: "requests", reset: true });
      const began = performance.now();
      await starts[who]();
      const elapsed = performance.now() - began;
      const { count, byKind } = await fake.call<{ count: number; byKind: Record<string, number> }>(
        { cmd: "requests", reset: true },
      );
      if (round === 0) continue;
      results[who].addedMs.push(elapsed - TASK_MS);
      results[who].requests.push(count);
      results[who].byKind = byKind;
    }
  }
  const added = (who: "ours" | "baseline") => median(results[who].addedMs);
  const requests = (who: "ours" | "baseline") => Math.max(...results[who].requests);
  const peer = `GoDoxy baseline +${fmt(added("baseline"), 1)} ms, ${requests("baseline")} requests`;
  const data = { taskMs: TASK_MS, rounds: ROUNDS, ...results };
  if (!provider) {
    return [{ metric: METRIC, ours: NOT_BUILT, peer, ratio: "", goal: GOAL, met: "n/a", data }];
  }
  const ratio = added("ours") / added("baseline");
  return [{
    metric: METRIC,
    ours: `+${fmt(added("ours"), 1)} ms, ${requests("ours")} requests`,
    peer,
    ratio: fmtRatio(ratio),
    goal: GOAL,
    met: ratio <= 1 / 3 && requests("ours") <= requests("baseline") ? "yes" : "no",
    data,
  }];
}

if (import.meta.main) await main(run);
