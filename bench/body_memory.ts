/**
 * Memory while a server streams 1 GiB at the client: the peak RSS above the
 * idle baseline of a fresh client process, for a body read to its end with
 * `read()` (streaming, nothing kept), and for a `containerStatus()` whose
 * 1 GiB inspect answer is refused once past the 4 MiB limit. The server
 * runs in its own process.
 *
 *   deno run -A bench/body_memory.ts
 *
 * @module
 */

import { denoChild, fmt, fmtMiB, log, main, type Row } from "./_harness.ts";

const GOAL_BYTES = 100 * 1024 * 1024;

interface Report {
  mode: string;
  baseline: number;
  peak: number;
  bytes: number;
  outcome: string;
  seconds: number;
}

async function measure(socket: string, mode: "read" | "status"): Promise<Report> {
  await using child = denoChild(`client (${mode})`, "_body_memory_client.ts", [socket, mode], {
    v8Flags: ["--expose-gc"],
  });
  return await child.nextJson<Report>(120_000) as Report;
}

await main(async (): Promise<Row[]> => {
  await using server = denoChild("flood server", "_flood_server.ts", [], { stdin: true });
  const { socket } = await server.nextJson<{ socket: string }>();
  const rows: Row[] = [];
  for (const mode of ["read", "status"] as const) {
    log(`body memory: ${mode}`);
    const report = await measure(socket, mode);
    const above = report.peak - report.baseline;
    rows.push({
      metric: mode === "read"
        ? "peak RSS, 1 GiB body streamed through read()"
        : "peak RSS, 1 GiB inspect answer at containerStatus()",
      ours: `+${fmtMiB(above)} above idle ${fmtMiB(report.baseline)}; ${
        mode === "read"
          ? `${fmt(report.bytes / 1024 / 1024)} MiB in ${fmt(report.seconds, 1)} s`
          : report.outcome
      }`,
      peer: "",
      ratio: "",
      goal: "< 100 MiB above the idle baseline",
      met: above < GOAL_BYTES ? "yes" : "no",
      data: { ...report, aboveBytes: above },
    });
  }
  return rows;
});
