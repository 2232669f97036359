/**
 * BASELINE (not part of the library): GoDoxy's way of watching an LXC,
 * re-created plainly for comparison. Each watched CT has its own loop that
 * reads `status/current` at once and then once per second; the first answer
 * is the baseline, and each change between running and not running is an
 * event (GoDoxy's `ProxmoxProvider.Watch` in
 * internal/idlewatcher/provider/proxmox.go).
 *
 * @module
 */

import type { PveApi } from "./_pve_api.ts";

/** GoDoxy's status-poll interval per watched CT. */
export const STATE_CHECK_MS = 1000;

/**
 * Polls one CT until `signal` aborts; calls `onChange` with `"start"` or
 * `"stop"` on each change after the first poll.
 *
 * @param api The API caller.
 * @param node The CT's node.
 * @param vmid The CT.
 * @param onChange Receives each change.
 * @param signal Ends the loop.
 */
export async function godoxyLxcWatch(
  api: PveApi,
  node: string,
  vmid: number,
  onChange: (action: "start" | "stop") => void,
  signal: AbortSignal,
): Promise<void> {
  let running: boolean | undefined;
  let next = performance.now();
  while (!signal.aborted) {
    try {
      const { status } = await api.request<{ status: string }>(
        "GET",
        `/nodes/${node}/lxc/${vmid}/status/current`,
        signal,
      );
      const now = status === "running";
      if (running !== undefined && now !== running) onChange(now ? "start" : "stop");
      running = now;
    } catch {
      if (signal.aborted) return;
      // GoDoxy reports the error and keeps polling.
    }
    // A Go ticker: the next tick is one interval after the last; ticks missed while busy are dropped.
    next += STATE_CHECK_MS;
    while (next < performance.now()) next += STATE_CHECK_MS;
    await sleepUntilAbort(next - performance.now(), signal);
  }
}

function sleepUntilAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
