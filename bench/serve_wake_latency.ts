/**
 * Wake latency of `idlewatcher serve` on the real dockerd: from a blocking
 * request (`/api/strategies/blocking`) for a stopped container to its answer
 * `ready`, against the engine's own start time measured in the same run (a
 * bare `POST /containers/{id}/start` on the same container, until it
 * answers). Rounds alternate the order; the added latency is the median of
 * the per-round differences.
 *
 *   deno run -A bench/serve_wake_latency.ts
 *
 * @module
 */

import { fmt, log, main, median, realDocker, type Row, sleep, unavailableRow } from "./_harness.ts";
import { serveBuilt, ServeChild } from "./_serve.ts";

const ROUNDS = 21;
const GOAL = "≤ +50 ms";
const METRIC = "serve: wake, request → ready minus the engine's start (real dockerd)";
const SKIPPED = "skipped: no engine (run bash scripts/engines.sh start)";

async function run(): Promise<Row[]> {
  if (!await serveBuilt()) return [unavailableRow(METRIC, "n/a (not built)", GOAL)];
  const docker = await realDocker();
  if (!docker) return [unavailableRow(METRIC, SKIPPED, GOAL)];
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: docker.socket } });
  const raw = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://docker/v1.41${path}`, {
      method,
      client,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const name = `iwbench-serve-wake-${Deno.pid}`;
  const { Id: id } = await raw("POST", `/containers/create?name=${name}`, {
    Image: docker.image,
    Cmd: ["sleep", "3600"],
    Labels: { "sablier.enable": "true", "idlewatcher.bench-run": String(Deno.pid) },
    StopSignal: "SIGKILL",
    HostConfig: { NetworkMode: "none" },
  }) as { Id: string };
  try {
    // Only this container: other servers may share the engine, and this one must not touch theirs.
    await using server = await ServeChild.start(docker.socket, "5m", [
      "--only-label",
      `idlewatcher.bench-run=${Deno.pid}`,
    ]);
    const url = `${server.url}/api/strategies/blocking?names=${name}&timeout=30s`;
    const wake = async (): Promise<number> => {
      const began = performance.now();
      const response = await fetch(url, { signal: AbortSignal.timeout(40_000) });
      await response.arrayBuffer();
      const elapsed = performance.now() - began;
      const status = response.headers.get("x-sablier-session-status");
      if (response.status !== 200 || status !== "ready") {
        throw new Error(`blocking answered ${response.status} ${status}`);
      }
      return elapsed;
    };
    const stop = async () => {
      await raw("POST", `/containers/${id}/kill`).catch(() => {});
      // Let the server see the engine's die event before the next wake.
      await sleep(1_000);
    };
    // Warm-up: the server learns of the container from the engine's events.
    for (let attempt = 0;; attempt++) {
      try {
        await wake();
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await sleep(200);
      }
    }
    await stop();
    const served: number[] = [];
    const bare: number[] = [];
    let failures = 0;
    for (let round = 0; served.length < ROUNDS; round++) {
      const order = round % 2 === 0 ? ["bare", "served"] : ["served", "bare"];
      const times: Record<string, number> = {};
      try {
        for (const side of order) {
          if (side === "bare") {
            const began = performance.now();
            await raw("POST", `/containers/${id}/start`);
            times.bare = performance.now() - began;
          } else {
            times.served = await wake();
          }
          await stop();
        }
      } catch (error) {
        // The engine is shared: another test run may restart dockerd under us. Drop the round.
        if (++failures > 5) throw error;
        log(`round dropped (${(error as Error).message.slice(0, 120)}); waiting for the engine`);
        await stop();
        await sleep(5_000);
        continue;
      }
      served.push(times.served);
      bare.push(times.bare);
      log(
        `round ${served.length}: served ${fmt(times.served)} ms, bare start ${fmt(times.bare)} ms`,
      );
    }
    const added = median(served.map((value, i) => value - bare[i]));
    return [{
      metric: METRIC,
      ours: `${fmt(median(served))} ms to ready`,
      peer: `${fmt(median(bare))} ms (bare POST start)`,
      ratio: `${added >= 0 ? "+" : ""}${fmt(added, 1)} ms`,
      goal: GOAL,
      met: added <= 50 ? "yes" : "no",
      data: { served, bare, droppedRounds: failures },
    }];
  } finally {
    await raw("DELETE", `/containers/${id}?force=true`).catch(() => {});
  }
}

if (import.meta.main) await main(run);
