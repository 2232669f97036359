/**
 * Wake latency on a real engine: `containerStart()` on a stopped busybox
 * container until it resolves, and until its `started` event arrives, next to
 * a bare `fetch` POST (and a raw `/events` stream) on the same dockerd. The
 * container is made and removed with raw requests, not with the library.
 *
 * The engine comes from `IDLEWATCHER_DOCKER_SOCK` and `IDLEWATCHER_TEST_IMAGE`
 * (`eval "$(bash scripts/engines.sh env)"`), else from the env file that
 * `bash scripts/engines.sh start` writes.
 *
 *   deno run -A bench/wake_latency.ts
 *
 * @module
 */

import {
  fmt,
  fmtRatio,
  lineSplitter,
  log,
  main,
  median,
  NOT_BUILT,
  pairedRatio,
  realDocker,
  type Row,
  unavailableRow,
} from "./_harness.ts";
import { dockerWatchBuilt, loadDocker } from "./_ours.ts";

const ROUNDS = 11;
const GOAL = "≤ 1.10x bare fetch";
const SKIPPED = "skipped: no engine (run bash scripts/engines.sh start)";
const METRIC_START = "wake: containerStart() resolves (real dockerd)";
const METRIC_EVENT = "wake: start → `started` event (real dockerd)";

/** Raw requests to the engine (setup and the bare-fetch peer). */
class Raw implements Disposable {
  readonly #client: Deno.HttpClient;
  constructor(socket: string) {
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  }
  async request(method: string, path: string, body?: unknown): Promise<Response> {
    return await fetch(`http://docker/v1.41${path}`, {
      method,
      client: this.#client,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  }
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await this.request(method, path, body);
    const text = await response.text();
    if (response.status >= 400 && response.status !== 409) {
      throw new Error(`${method} ${path}: ${response.status} ${text}`);
    }
    return text ? JSON.parse(text) : undefined;
  }
  /** A raw event stream of one container's `start` events; returns their arrival times. */
  startEvents(id: string, signal: AbortSignal): number[] {
    const arrivals: number[] = [];
    const filters = encodeURIComponent(JSON.stringify({ container: [id], event: ["start"] }));
    (async () => {
      const response = await fetch(`http://docker/v1.41/events?filters=${filters}`, {
        client: this.#client,
        signal,
      });
      const lines = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(
        lineSplitter(),
      );
      for await (const line of lines) {
        if (line && (JSON.parse(line) as { Action: string }).Action === "start") {
          arrivals.push(performance.now());
        }
      }
    })().catch(() => {});
    return arrivals;
  }
  [Symbol.dispose](): void {
    this.#client.close();
  }
}

/** Waits until an arrival after `since` is recorded; resolves its time. */
async function arrivalAfter(arrivals: number[], since: number, timeoutMs = 10_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const found = arrivals.find((t) => t > since);
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error("no start event arrived");
}

async function run(): Promise<Row[]> {
  const engine = await realDocker();
  if (!engine) {
    return [
      unavailableRow(METRIC_START, SKIPPED, GOAL),
      unavailableRow(METRIC_EVENT, SKIPPED, GOAL),
    ];
  }
  const docker = await loadDocker();
  const watchBuilt = dockerWatchBuilt(docker);
  using raw = new Raw(engine.socket);
  const name = `iwbench-wake-${Deno.pid}`;
  const created = await raw.call("POST", `/containers/create?name=${name}`, {
    Image: engine.image,
    Cmd: ["sleep", "3600"],
    HostConfig: { NetworkMode: "none" },
  }) as { Id: string };
  const id = created.Id;
  const stopAll = new AbortController();
  try {
    using provider = docker?.newDockerProvider({ url: `unix://${engine.socket}` }, id);
    // Ours: one watch for all rounds, recording `started` arrivals.
    const oursArrivals: number[] = [];
    if (provider && watchBuilt) {
      const { events, errors } = provider.watch({ signal: stopAll.signal });
      errors.pipeTo(new WritableStream()).catch(() => {});
      (async () => {
        for await (const event of events) {
          if (event.action === "started") oursArrivals.push(performance.now());
        }
      })().catch(() => {});
    }
    const rawArrivals = raw.startEvents(id, stopAll.signal);

    const stopContainer = async () => {
      await raw.call("POST", `/containers/${id}/kill`);
      await raw.call("POST", `/containers/${id}/wait?condition=not-running`);
    };
    const starts = {
      ours: async () => await provider!.containerStart(),
      fetch: async () => {
        const response = await raw.request("POST", `/containers/${id}/start`);
        await response.body?.cancel();
        if (response.status !== 204) throw new Error(`start answered ${response.status}`);
      },
    };
    const arrivals = { ours: oursArrivals, fetch: rawArrivals };
    const clients = provider ? ["ours", "fetch"] as const : ["fetch"] as const;
    const results = {
      ours: { start: [] as number[], event: [] as number[] },
      fetch: { start: [] as number[], event: [] as number[] },
    };
    // Round 0 is a warm-up (connections, version negotiation, the watch's stream).
    for (let round = 0; round <= ROUNDS; round++) {
      log(`wake latency round ${round}/${ROUNDS}`);
      for (let i = 0; i < clients.length; i++) {
        const client = clients[(round + i) % clients.length];
        await stopContainer();
        const began = performance.now();
        await starts[client]();
        const resolved = performance.now();
        const watched = client === "fetch" || watchBuilt;
        const event = watched ? await arrivalAfter(arrivals[client], began) : NaN;
        if (round === 0) continue;
        results[client].start.push(resolved - began);
        results[client].event.push(event - began);
      }
    }
    const ms = (values: number[]) => `${fmt(median(values), 1)} ms`;
    const data = { rounds: ROUNDS, ...results };
    const rows: Row[] = [];
    for (const kind of ["start", "event"] as const) {
      const metric = kind === "start" ? METRIC_START : METRIC_EVENT;
      const peer = `bare fetch ${ms(results.fetch[kind])}`;
      if (!provider || (kind === "event" && !watchBuilt)) {
        rows.push({ ...unavailableRow(metric, NOT_BUILT, GOAL), peer, data });
        continue;
      }
      const ratio = pairedRatio(results.ours[kind], results.fetch[kind]);
      rows.push({
        metric,
        ours: ms(results.ours[kind]),
        peer,
        ratio: fmtRatio(ratio),
        goal: GOAL,
        met: ratio <= 1.10 ? "yes" : "no",
        data,
      });
    }
    return rows;
  } finally {
    stopAll.abort();
    await raw.call("DELETE", `/containers/${id}?force=true`).catch(() => {});
  }
}

if (import.meta.main) await main(run);
