/**
 * PVE tasks: every power action answers with a UPID at once and runs in the
 * background. This file parses UPIDs, waits for a task at check times learned
 * from how long the same kind of task took before, and finds a CT's latest
 * power task.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import type { RequestContext } from "../_internal/errdefs.ts";
import { nodeTasksPath, POWER_TASKS, taskStatusPath } from "./_api.ts";
import { learnTaskEnd, type TaskChecksSeen, taskCheckTimes, type TaskEnd } from "./_timing.ts";
import type { Transport } from "./_transport.ts";

/** A parsed task id. */
export interface Upid {
  /** The UPID as PVE sent it. */
  value: string;
  /** The node the task runs on (its status lives there). */
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  /** `vzstart`, `vzshutdown`, `hastart`, ... */
  type: string;
  /** The vmid, for guest tasks. */
  id: string;
  /** Who started it; `user@realm!token` for tokens. */
  user: string;
}

// pve-common's UPID.pm decode regex.
const UPID =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** Parses a UPID; `undefined` when `value` is not one. */
export function parseUpid(value: unknown): Upid | undefined {
  if (typeof value !== "string") return undefined;
  const match = value.match(UPID);
  if (!match) return undefined;
  return {
    value,
    node: match[1],
    pid: parseInt(match[3], 16),
    pstart: parseInt(match[4], 16),
    starttime: parseInt(match[5], 16),
    type: match[6],
    id: match[7],
    user: match[8],
  };
}

/** Whether a task's exit status means success: `OK`, or `WARNINGS: <n>`. */
export function isTaskOk(exitstatus: unknown): boolean {
  return exitstatus === "OK" ||
    (typeof exitstatus === "string" && /^WARNINGS: \d+$/.test(exitstatus));
}

/** How many kinds of task (node, type, guest) a client remembers the ends of. */
const REMEMBERED_TASKS = 1_024;

/**
 * When tasks ended, by node, task type and guest: what {@linkcode waitForTask}
 * learned, for its next waits. Keeps the {@linkcode REMEMBERED_TASKS} kinds
 * learned most recently.
 */
export class TaskEnds {
  #ends = new Map<string, TaskEnd>();

  /** What is known of tasks like `upid`; `undefined` when nothing. */
  get(upid: Upid): TaskEnd | undefined {
    return this.#ends.get(taskKind(upid));
  }

  /** Folds what a wait for `upid` saw (a task that ended OK) into what is known. */
  learn(upid: Upid, seen: TaskChecksSeen): void {
    const kind = taskKind(upid);
    const learned = learnTaskEnd(this.#ends.get(kind), seen);
    this.#ends.delete(kind);
    this.#ends.set(kind, learned);
    if (this.#ends.size > REMEMBERED_TASKS) this.#ends.delete(this.#ends.keys().next().value!);
  }
}

function taskKind(upid: Upid): string {
  return `${upid.node}/${upid.type}/${upid.id}`;
}

// One store per transport, so per client: its providers share what they learn.
const endsOfTransport = new WeakMap<Transport, TaskEnds>();

/** The task ends learned on `transport`. */
export function taskEndsOf(transport: Transport): TaskEnds {
  let ends = endsOfTransport.get(transport);
  if (ends === undefined) {
    ends = new TaskEnds();
    endsOfTransport.set(transport, ends);
  }
  return ends;
}

/** Options of {@linkcode waitForTask}. */
export interface WaitForTaskOptions {
  signal: AbortSignal;
  context: RequestContext;
  /**
   * Checked after each poll that finds the task still running; `true` ends
   * the wait early (a resume task runs as long as the CT it restored).
   */
  doneWhileRunning?: () => Promise<boolean>;
}

/**
 * Polls a task's status until it stops, at the times {@linkcode taskCheckTimes}
 * gives from what earlier waits on this client for this kind of task learned
 * (counted from the call), and learns from a task that ends OK. Resolves with its exit
 * status, or `undefined` when `doneWhileRunning` ended the wait. Rejects with
 * `signal.reason` at once when the signal aborts.
 */
export async function waitForTask(
  transport: Transport,
  upid: Upid,
  options: WaitForTaskOptions,
): Promise<string | undefined> {
  const { signal, context, doneWhileRunning } = options;
  const ends = taskEndsOf(transport);
  const start = performance.now();
  let running: number | undefined;
  for (const time of taskCheckTimes(ends.get(upid))) {
    const wait = start + time - performance.now();
    if (wait > 0) await delay(wait, { signal });
    // What the check saw holds at the time it was sent, which may be a little late.
    const sent = performance.now() - start;
    const task = await transport.request("GET", taskStatusPath(upid), { signal, context }) as {
      status?: string;
      exitstatus?: string;
    } | null;
    if (task?.status !== "running") {
      const exitstatus = String(task?.exitstatus ?? "");
      if (isTaskOk(exitstatus)) ends.learn(upid, { running, done: sent });
      return exitstatus;
    }
    running = sent;
    if (doneWhileRunning && await doneWhileRunning()) return undefined;
  }
  throw new Error("unreachable");
}

/** One entry of `GET /nodes/{node}/tasks`. */
export interface TaskSummary {
  type: string;
  /** The exit status; absent while the task runs. */
  status?: string;
}

/**
 * Finds the CT's most recent power task (running or finished) on `node`, or
 * `undefined` when PVE's recent task list has none. PVE lists tasks newest
 * first (running ones, then by end time); start times only have seconds.
 */
export async function latestPowerTask(
  transport: Transport,
  node: string,
  vmid: number,
  options: { signal: AbortSignal; context: RequestContext; retry?: boolean },
): Promise<TaskSummary | undefined> {
  const tasks = await transport.request("GET", nodeTasksPath(node), {
    params: { vmid, source: "all", limit: 50 },
    signal: options.signal,
    context: options.context,
    retry: options.retry,
  });
  return (Array.isArray(tasks) ? tasks as TaskSummary[] : []).find((task) =>
    POWER_TASKS.has(task.type)
  );
}

/** Whether the CT's latest power task is a suspend that succeeded: the CT is checkpointed. */
export function isSuspended(task: TaskSummary | undefined): boolean {
  return task?.type === "vzsuspend" && isTaskOk(task.status);
}
