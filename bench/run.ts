/**
 * Runs the benchmark suite and prints one table (metric, ours, peer, ratio,
 * goal, met?); writes it to bench/results.json and bench/results.md with a
 * description of the machine. Each metric runs in a process of its own, with a
 * time bound.
 *
 *   deno task bench                 # every metric
 *   deno task bench per_call        # only the named ones (printed, not written)
 *
 * @module
 */

import { BENCH, exists, log, type Row } from "./_harness.ts";

/** The metrics, in table order: file (without .ts), time bound in seconds, and how it is measured. */
const METRICS: { file: string; timeout: number; how: string }[] = [
  {
    file: "per_call",
    timeout: 120,
    how:
      "500 sequential calls per round, 20 rounds interleaved in rotating order with bare fetch (Deno.createHttpClient unix proxy) and dockerode 5.0.1 (Node), against a fake engine (Deno.serve on a unix socket) in another process; median µs per call.",
  },
  {
    file: "event_flood",
    timeout: 600,
    how:
      "A dockerd-like fake (bench/_dockerd_like.c, built with gcc, its own process) writes one HTTP chunk and one send per event, ~610-byte lines with Compose labels and timeNano = the wall clock at the send. watch() of one container against dockerode 5.0.1 doing the same work (inspect; getEvents with the same filters; split, JSON.parse, keep the container's events, map the action, build the Date and the event object). Flood: 200,000 events as fast as the socket takes them (events/s over watch() to the last event); paced: 2,000 and 20,000 events/s for 2 s (CPU µs of the client process per stream event from the tenth watched event on; latency from the fake's send to the consumer). Mixes: every event for the watched container, and 1 in 50. A fresh fake and a fresh client process per run, clients in rotating order, 7 rounds, medians and per-round ratios; every run checks all watched events arrived, none dropped, no force-reloaded. A sink client (C, reads and counts lines) measures the fake's ceiling in every flood round.",
  },
  {
    file: "event_throughput",
    timeout: 150,
    how:
      "The earlier, kinder fake (kept for comparison; it does not look like dockerd): a Deno fake engine floods 200,000 Docker event lines (~540 bytes, 50 containers, every 50th the watched one) in 64 KiB chunked-encoding chunks; time from watch() to the watched container's last event. Peers: dockerode getEvents + split + JSON.parse; naive fetch + TextDecoderStream + split + JSON.parse. Median of 5, each client in its own process, rounds interleaved.",
  },
  {
    file: "watch_memory",
    timeout: 180,
    how:
      "A fresh process watches while the fake floods 1,000,000 events; at every tenth of the watched events a forced GC, then the retained heap and the RSS (flat: the retained heap of the second half grows ≤ 5% + 1 MiB; RSS is reported, since V8 and the allocator keep pages they no longer use). Then, in another fresh process, 1,000 providers (one host) each watch a container; the fake counts its open /events responses; RSS and heap after a forced GC.",
  },
  {
    file: "body_memory",
    timeout: 120,
    how:
      "A server in its own process (bench/_flood_server.ts, unix socket) streams a 1 GiB chunked body at one call of a fresh client process: HttpClient read() to the end, and a containerStatus() whose inspect answer is refused past 4 MiB. RSS sampled every 5 ms; peak minus the idle RSS after a warm-up and a forced GC.",
  },
  {
    file: "wake_latency",
    timeout: 120,
    how:
      "Real dockerd (scripts/engines.sh). A busybox container (made with raw requests) is killed, then started by containerStart() or a bare fetch POST, alternating; time until the call resolves and until the `started` event arrives (ours: watch(); bare: a raw /events stream). Median of 11 each.",
  },
  {
    file: "proxmox_action",
    timeout: 120,
    how:
      "The fake PVE (tests/_fakes/pve, in another process) runs each start task for a time D; containerStart() against GoDoxy's fixed 300 ms task poll + status check (bench/baselines/), interleaved. Added latency = elapsed − D (median of 5); requests counted at the fake. The library learns task times per client, so three cases: D = 1,000 ms on one client after one unmeasured call (the goal's case), the first call of a fresh client, and D changing from call to call (700–1,300 ms).",
  },
  {
    file: "proxmox_watch",
    timeout: 120,
    how:
      "500 CTs on the fake PVE (another process) watched at once, on 1 node and spread over 5; requests at the fake over a 13 s window in which 32 CTs flip state (two every 760 ms, evenly over a poll's phases): list requests per 1 s interval against the number of nodes with watched CTs, task reads against the running→stopped flips (the floor at equal detection latency), and the time from each flip to its event. Baseline: GoDoxy's one status/current poll per CT per second (bench/baselines/), starts spread over a second.",
  },
  {
    file: "serve_ready_path",
    timeout: 240,
    how:
      "`idlewatcher serve` (deno run cli.ts serve, its own process) on a fake engine (bench/_fake_serve_engine.ts, another process) holding one running, in-session container; GET /api/strategies/dynamic as Sablier's nginx module asks it (unset parameters empty), against a bare Deno.serve hello world (its own process). 10 rounds alternating the order: 400 sequential keep-alive requests (median latency) then 2,000 requests 16 at a time (throughput); ratio = median of the per-round ratios. The fake counts every request it gets during the rounds: the ready path must make none.",
  },
  {
    file: "serve_wake_latency",
    timeout: 240,
    how:
      "Real dockerd (scripts/engines.sh). A labelled busybox container (stop signal SIGKILL) is killed between runs; `idlewatcher serve` is asked /api/strategies/blocking for it (time until the answer says ready), and, alternating, the engine is sent a bare POST /containers/{id}/start (time until it answers). Added latency = median of the per-round differences, 21 rounds.",
  },
  {
    file: "serve_memory",
    timeout: 240,
    how:
      "`idlewatcher serve` on the fake engine holding 1,000 running labelled containers (compose labels, 50 groups); its resident set (VmRSS, 2 s after each phase) once all are managed, after 10,000 session requests (1-3 names each, 50 at a time, sessions of 5-59 minutes), and after 10,000 more; floor: the same server with no container.",
  },
];

interface MetricResult {
  file: string;
  seconds: number;
  rows: Row[];
  error?: string;
  /** When the metric was run on its own (`--merge`), not with the whole suite. */
  ranAt?: string;
  /** The 1-minute load average when that lone run began. */
  load?: string;
}

async function runMetric(file: string, timeout: number): Promise<MetricResult> {
  const began = performance.now();
  const path = `${BENCH}/${file}.ts`;
  if (!await exists(path)) {
    return { file, seconds: 0, rows: [], error: "benchmark file missing" };
  }
  log(`── ${file} (bound ${timeout} s)`);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", path],
      stdout: "piped",
      stderr: "inherit",
      signal: AbortSignal.timeout(timeout * 1000),
    }).output();
    const seconds = (performance.now() - began) / 1000;
    const stdout = new TextDecoder().decode(output.stdout);
    const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith('{"rows"'));
    if (!output.success || !line) {
      const why = output.signal
        ? `killed (${output.signal}) after ${seconds.toFixed(0)} s`
        : `exit ${output.code}`;
      return { file, seconds, rows: [], error: why };
    }
    return { file, seconds, rows: (JSON.parse(line) as { rows: Row[] }).rows };
  } catch (error) {
    return { file, seconds: (performance.now() - began) / 1000, rows: [], error: String(error) };
  }
}

async function commandOutput(command: string, args: string[]): Promise<string> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(5000),
    }).output();
    return new TextDecoder().decode(output.stdout).trim();
  } catch {
    return "";
  }
}

async function engineVersion(socket: string | undefined): Promise<string> {
  if (!socket || !await exists(socket)) return "not running";
  try {
    using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
    const response = await fetch("http://engine/version", {
      client,
      signal: AbortSignal.timeout(3000),
    });
    const version = await response.json() as { Version: string; ApiVersion: string };
    return `${version.Version} (API ${version.ApiVersion})`;
  } catch {
    return "not answering";
  }
}

async function describeMachine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const dir = Deno.env.get("IDLEWATCHER_ENGINES_DIR") ?? "/tmp/idlewatcher-engines";
  const memory = Deno.systemMemoryInfo();
  return {
    nproc: await commandOutput("nproc", []) || String(navigator.hardwareConcurrency),
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "unknown",
    memory: `${(memory.total / 1073741824).toFixed(1)} GiB`,
    os: `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`,
    "load average at start": Deno.loadavg().map((l) => l.toFixed(2)).join(", "),
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    node: await commandOutput("node", ["--version"]) || "not found",
    dockerd: await engineVersion(Deno.env.get("IDLEWATCHER_DOCKER_SOCK") ?? `${dir}/docker.sock`),
    podman: await engineVersion(Deno.env.get("IDLEWATCHER_PODMAN_SOCK") ?? `${dir}/podman.sock`),
  };
}

/** A warning when other work was running before the suite: the clients need both cores. */
function busyNote(machine: Record<string, string>): string {
  const load = Number(machine["load average at start"].split(",")[0]);
  return load < 1
    ? ""
    : `\nThe machine was busy when the suite started (1-minute load average ${
      load.toFixed(2)
    }): expect noisy timings; run again on an idle machine.\n`;
}

const COLUMNS = ["metric", "ours", "peer", "ratio", "goal", "met?"] as const;

function cells(row: Row): string[] {
  return [row.metric, row.ours, row.peer, row.ratio, row.goal, row.met];
}

function textTable(rows: Row[]): string {
  const all = [[...COLUMNS], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(" │ ").trimEnd();
  return [line(all[0]), widths.map((w) => "─".repeat(w)).join("─┼─"), ...all.slice(1).map(line)]
    .join("\n");
}

function markdownTable(rows: Row[]): string {
  const escape = (c: string) => c.replaceAll("|", "\\|");
  return [
    `| ${COLUMNS.join(" | ")} |`,
    `|${COLUMNS.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map(escape).join(" | ")} |`),
  ].join("\n");
}

function markdown(
  rows: Row[],
  machine: Record<string, string>,
  results: MetricResult[],
  date: string,
): string {
  const missed = rows.filter((r) => r.met === "no").map((r) =>
    `- ${r.metric}: ${r.ratio} (goal ${r.goal})`
  );
  return `# Benchmark results

Produced by \`deno task bench\` (bench/run.ts) on ${date}. Every benchmark runs on loopback or unix
sockets only, stops by itself and is bounded in time. Each number is a median of repeated
measurements. Where clients alternate round by round, the ratio is the median of the per-round
ratios (ours / peer measured side by side), so that a busy spell of the machine hits both sides.
Timings are never asserted in tests. A metric run on its own later
(\`--merge\`) says when, and the machine's load then, under "How each metric is measured".

## How to run

\`\`\`sh
bash scripts/engines.sh start   # optional: the real dockerd for the wake-latency rows (root)
deno task bench                 # every metric; rewrites bench/results.json and bench/results.md
deno task bench per_call        # only the named metrics; prints, writes nothing
deno task bench --merge per_call  # the named metrics, their rows put into the committed results
deno task bench --rewrite       # results.md again from results.json, running nothing
\`\`\`

Needs Deno and Node (20 or later; the dockerode peers are installed with \`npm ci\` on first use).
Without an engine, the real-engine rows say "skipped".

## Machine

${Object.entries(machine).map(([key, value]) => `- ${key}: ${value}`).join("\n")}
${busyNote(machine)}
## Results

${markdownTable(rows)}

${missed.length ? `Goals missed:\n\n${missed.join("\n")}\n` : "All measured goals met.\n"}
## How each metric is measured

${
    METRICS.map((m) => {
      const result = results.find((r) => r.file === m.file);
      const time = result
        ? ` (${result.seconds.toFixed(0)} s${result.error ? `, ${result.error}` : ""})`
        : "";
      const alone = result?.ranAt
        ? `; run on its own on ${result.ranAt}, 1-minute load ${result.load}`
        : "";
      return `- **${m.file}**${time.replace(/\)$/, `${alone})`)}: ${m.how}`;
    }).join("\n")
  }

The peers' strategies that are re-created rather than run (GoDoxy's fixed-interval Proxmox pollers)
are written plainly in bench/baselines/. The Node peers live in bench/peers/ (versions pinned in
package-lock.json; \`npm ci\` runs on first use).
`;
}

/** The committed results with `fresh` put in place of (or beside) the same metrics. */
async function mergedResults(fresh: MetricResult[]): Promise<{
  date: string;
  machine: Record<string, string>;
  seconds: number;
  metrics: MetricResult[];
}> {
  const committed = JSON.parse(await Deno.readTextFile(`${BENCH}/results.json`)) as {
    date: string;
    machine: Record<string, string>;
    seconds: number;
    metrics: MetricResult[];
  };
  const byFile = new Map(committed.metrics.map((m) => [m.file, m]));
  for (const result of fresh) byFile.set(result.file, result);
  const order = METRICS.map((m) => m.file);
  const metrics = [...byFile.values()].sort((a, b) =>
    (order.indexOf(a.file) + 1 || order.length + 1) -
    (order.indexOf(b.file) + 1 || order.length + 1)
  );
  return { ...committed, metrics };
}

/** Writes bench/results.md again from bench/results.json (after a merge of both, say). */
async function rewrite(): Promise<void> {
  const all = JSON.parse(await Deno.readTextFile(`${BENCH}/results.json`)) as {
    date: string;
    machine: Record<string, string>;
    metrics: MetricResult[];
  };
  await Deno.writeTextFile(
    `${BENCH}/results.md`,
    markdown(all.metrics.flatMap((r) => r.rows), all.machine, all.metrics, all.date),
  );
  await commandOutput(Deno.execPath(), ["fmt", `${BENCH}/results.json`, `${BENCH}/results.md`]);
  log("wrote bench/results.md from bench/results.json");
}

async function main(): Promise<void> {
  if (Deno.args.includes("--rewrite")) return await rewrite();
  const merge = Deno.args.includes("--merge");
  const only = Deno.args.filter((arg) => arg !== "--merge");
  if (merge && only.length === 0) throw new Error("--merge needs the names of the metrics to run");
  const selected = only.length ? METRICS.filter((m) => only.includes(m.file)) : METRICS;
  const began = performance.now();
  const machine = await describeMachine();
  const results: MetricResult[] = [];
  for (const metric of selected) {
    const result = await runMetric(metric.file, metric.timeout);
    if (result.error) {
      result.rows.push({
        metric: metric.file,
        ours: `error: ${result.error}`,
        peer: "",
        ratio: "",
        goal: "",
        met: "n/a",
      });
    }
    results.push(result);
  }
  const rows = results.flatMap((r) => r.rows);
  const seconds = (performance.now() - began) / 1000;
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  console.log(`\n${textTable(rows)}\n\nsuite: ${seconds.toFixed(0)} s`);
  if (merge) {
    for (const result of results) {
      result.ranAt = date;
      result.load = machine["load average at start"].split(",")[0];
    }
    const all = await mergedResults(results);
    await Deno.writeTextFile(`${BENCH}/results.json`, JSON.stringify(all, null, 2) + "\n");
    await Deno.writeTextFile(
      `${BENCH}/results.md`,
      markdown(all.metrics.flatMap((r) => r.rows), all.machine, all.metrics, all.date),
    );
  } else if (only.length) {
    return; // a partial run leaves the committed results alone
  } else {
    await Deno.writeTextFile(
      `${BENCH}/results.json`,
      JSON.stringify({ date, seconds, machine, metrics: results }, null, 2) + "\n",
    );
    await Deno.writeTextFile(`${BENCH}/results.md`, markdown(rows, machine, results, date));
  }
  // Keep the written files as `deno fmt` wants them, so the repository's fmt check stays clean.
  await commandOutput(Deno.execPath(), ["fmt", `${BENCH}/results.json`, `${BENCH}/results.md`]);
  log(`wrote bench/results.json and bench/results.md`);
}

if (import.meta.main) await main();
