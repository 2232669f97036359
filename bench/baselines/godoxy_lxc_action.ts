/**
 * BASELINE (not part of the library): GoDoxy's way of running an LXC power
 * action, re-created plainly for comparison. POST the action; then every
 * 300 ms (the first poll 300 ms after the POST) read the task's status until
 * it has stopped; once it ended OK, read the CT's status and return when it
 * is the expected one, else keep polling (GoDoxy's `LXCAction` in
 * internal/proxmox/lxc.go).
 *
 * @module
 */

import type { PveApi } from "./_pve_api.ts";

/** GoDoxy's fixed task-poll interval. */
export const TASK_POLL_MS = 300;

const EXPECTED: Record<string, string> = { start: "running", shutdown: "stopped", stop: "stopped" };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `action` on the CT and waits the way GoDoxy does.
 *
 * @param api The API caller.
 * @param node The CT's node.
 * @param vmid The CT.
 * @param action `start`, `shutdown` or `stop`.
 */
export async function godoxyLxcAction(
  api: PveApi,
  node: string,
  vmid: number,
  action: "start" | "shutdown" | "stop",
): Promise<void> {
  const upid = await api.request<string>("POST", `/nodes/${node}/lxc/${vmid}/status/${action}`);
  if (upid.split(":").length < 8) throw new Error(`invalid task id returned for ${action}`);
  const taskNode = upid.split(":")[1];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(TASK_POLL_MS);
    const task = await api.request<{ status: string; exitstatus?: string }>(
      "GET",
      `/nodes/${taskNode}/tasks/${upid}/status`,
    );
    if (task.status === "running") continue;
    if (task.exitstatus !== "OK") throw new Error(`task failed: ${task.exitstatus}`);
    const current = await api.request<{ status: string }>(
      "GET",
      `/nodes/${node}/lxc/${vmid}/status/current`,
    );
    if (current.status === EXPECTED[action]) return;
  }
  throw new Error("timed out");
}
