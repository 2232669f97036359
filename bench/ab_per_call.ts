/**
 * Per-call latency of two trees of this library, side by side in one
 * process: `containerStatus()` and `containerStart()`, 500 sequential calls
 * a round, against the fast fake engine of bench/per_call.ts, rounds
 * alternating which tree goes first. Tells whether a change slowed the hot
 * path by more than the noise of separate runs can show.
 *
 *   git worktree add /tmp/before <commit>
 *   deno run -A bench/ab_per_call.ts /tmp/before . [ROUNDS]
 *
 * Prints, for each call, the median µs per call of each tree and the median
 * of the per-round ratios (B over A).
 *
 * @module
 */

import { denoChild, median, tempDir } from "./_harness.ts";

type DockerModule = typeof import("../docker/mod.ts");
type Provider = ReturnType<DockerModule["newDockerProvider"]>;

const CALLS = 500;
const OPS = ["status", "start"] as const;

async function perCall(provider: Provider, op: typeof OPS[number]): Promise<number> {
  const began = performance.now();
  for (let i = 0; i < CALLS; i++) {
    if (op === "status") await provider.containerStatus();
    else await provider.containerStart();
  }
  return ((performance.now() - began) / CALLS) * 1000;
}

async function run(a: string, b: string, rounds: number): Promise<void> {
  const load = async (tree: string) =>
    (await import(new URL(`${tree}/docker/mod.ts`, `file://${Deno.cwd()}/`).href)) as DockerModule;
  const [treeA, treeB] = [await load(a), await load(b)];
  const dir = await tempDir("ab-per-call");
  const socket = `${dir}/engine.sock`;
  try {
    await using engine = denoChild("fake engine", "_fake_engine.ts", ["--socket", socket]);
    await engine.nextJson();
    using providerA = treeA.newDockerProvider({ url: `unix://${socket}` }, "x");
    using providerB = treeB.newDockerProvider({ url: `unix://${socket}` }, "x");
    for (const op of OPS) await Promise.all([perCall(providerA, op), perCall(providerB, op)]);
    for (const op of OPS) {
      const pairs: [number, number][] = [];
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          const x = await perCall(providerA, op);
          pairs.push([x, await perCall(providerB, op)]);
        } else {
          const y = await perCall(providerB, op);
          pairs.push([await perCall(providerA, op), y]);
        }
      }
      console.log(
        `${op}: A ${median(pairs.map(([x]) => x)).toFixed(1)} µs, B ${
          median(pairs.map(([, y]) => y)).toFixed(1)
        } µs, B/A ${median(pairs.map(([x, y]) => y / x)).toFixed(3)} (median of ${rounds} rounds)`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const [a, b, rounds = "20"] = Deno.args;
  if (!a || !b) throw new Error("usage: deno run -A bench/ab_per_call.ts TREE_A TREE_B [ROUNDS]");
  await run(a, b, Number(rounds));
}
