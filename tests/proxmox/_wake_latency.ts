/**
 * Measures what `containerStart()` adds to the duration D of PVE's start task,
 * against the fake PVE on loopback: polling overshoot plus request round trips.
 *
 *     deno run -A tests/proxmox/_wake_latency.ts
 *
 * @module
 */

import { newProxmoxProvider } from "../../proxmox/mod.ts";
import { setup } from "./_setup.ts";

const DURATIONS = [20, 100, 300, 1_000, 2_000];
const RUNS = 10;

await using s = await setup();
s.fake.addCt("pve", 101);
using provider = await newProxmoxProvider("pve", 101, { client: s.client });
await provider.containerStart(); // warm up: connection, JIT
s.fake.setCt(101, { status: "stopped" });

console.log("task D (ms) | added median | added p90 | added max  (ms)");
for (const duration of DURATIONS) {
  s.fake.taskDurationMs = duration;
  const added: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await provider.containerStart();
    added.push(performance.now() - started - duration);
    s.fake.setCt(101, { status: "stopped" });
  }
  added.sort((a, b) => a - b);
  const at = (q: number) =>
    added[Math.min(added.length - 1, Math.floor(q * added.length))].toFixed(1);
  console.log(
    `${String(duration).padStart(11)} | ${at(0.5).padStart(12)} | ${at(0.9).padStart(9)} | ${
      added.at(-1)!.toFixed(1).padStart(9)
    }`,
  );
}
