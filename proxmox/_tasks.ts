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
import { isObject } from "../_internal/json.ts";
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
 * learned most recently. For a guest with nothing learned yet, it also keeps
 * what the latest task of each type took on each node, whichever guest ran it.
 */
export class TaskEnds {
  #ends = new Map<string, TaskEnd>();
  #onNode = new Map<string, TaskEnd>();

  /** What is known of tasks like `upid`; `undefined` when nothing. */
  get(upid: Upid): TaskEnd | undefined {
    return this.#ends.get(taskKind(upid));
  }

  /**
   * What the latest task of `upid`'s type on its node took, whichever guest
   * ran it (or what PVE's task archive said, see {@linkcode TaskEnds.guess});
   * `undefined` when nothing is known.
   */
  onNode(upid: Upid): TaskEnd | undefined {
    return this.#onNode.get(nodeKind(upid));
  }

  /** Folds what a wait for `upid` saw (a task that ended OK) into what is known. */
  learn(upid: Upid, seen: TaskChecksSeen): void {
    const learned = learnTaskEnd(this.#ends.get(taskKind(upid)), seen);
    remember(this.#ends, taskKind(upid), learned);
    remember(this.#onNode, nodeKind(upid), {
      running: learned.running,
      done: learned.done,
      hits: 0,
    });
  }

  /**
   * Takes an estimate of when tasks of `upid`'s type end on its node, for
   * guests with nothing learned, unless a task of that type was learned there.
   */
  guess(upid: Upid, estimate: TaskEnd): void {
    if (!this.#onNode.has(nodeKind(upid))) remember(this.#onNode, nodeKind(upid), estimate);
  }
}

/** Sets `key` as the newest entry of `map`, dropping the oldest beyond {@linkcode REMEMBERED_TASKS}. */
function remember(map: Map<string, TaskEnd>, key: string, value: TaskEnd): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED_TASKS) map.delete(map.keys().next().value!);
}

function taskKind(upid: Upid): string {
  return `${upid.node}/${upid.type}/${upid.id}`;
}

function nodeKind(upid: Upid): string {
  return `${upid.node}/${upid.type}`;
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
 * (counted from the call), and learns from a task that ends OK. For a guest
 * with nothing learned, what a task of the same type took on the node is
 * used; when the client knows nothing of the type there, PVE's task archive
 * of the node tells (see {@linkcode archiveEstimate}). Resolves with its exit
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
  let learned = ends.get(upid) ?? ends.onNode(upid);
  if (learned === undefined) {
    const estimate = await archiveEstimate(transport, upid, { signal, context });
    if (estimate !== undefined) ends.guess(upid, learned = estimate);
  }
  let running: number | undefined;
  for (const time of taskCheckTimes(learned)) {
    const wait = start + time - performance.now();
    if (wait > 0) await delay(wait, { signal });
    // What the check saw holds at the time it was sent, which may be a little late.
    const sent = performance.now() - start;
    const task = await transport.request("GET", taskStatusPath(upid), { signal, context }) as {
      status?: unknown;
      exitstatus?: unknown;
    } | null;
    if (task?.status !== "running") {
      const exitstatus = typeof task?.exitstatus === "string" ? task.exitstatus : "";
      if (isTaskOk(exitstatus)) ends.learn(upid, { running, done: sent });
      return exitstatus;
    }
    running = sent;
    if (doneWhileRunning && await doneWhileRunning()) return undefined;
  }
  throw new Error("unreachable");
}

/** Fewer finished tasks than this in PVE's archive say too little to estimate from. */
const ARCHIVE_MIN_TASKS = 3;
/** How many of the node's latest tasks of the type the archive read asks for. */
const ARCHIVE_TASKS = 20;
/** Archived tasks that took this long (a day, in seconds) or longer are not estimated from. */
const ARCHIVE_MAX_SECONDS = 86_400;
/** The narrowest estimate taken from the archive: its end ±100 ms. */
const ARCHIVE_MIN_HALF_WIDTH = 100;

/** One entry of PVE's task list, as far as {@linkcode archiveEstimate} reads it. */
interface ArchivedTask {
  type?: unknown;
  status?: unknown;
  starttime?: unknown;
  endtime?: unknown;
}

/**
 * Estimates when a task of `upid`'s type ends, from the node's latest
 * finished tasks of that type in PVE's task archive (`GET
 * /nodes/{node}/tasks?typefilter=...`). PVE writes a task's `starttime`
 * when it forks the worker and its `endtime` when the daemon reaps it
 * (pve-common's `fork_worker` and `active_workers`), both in whole seconds:
 * one difference is the duration D give or take a second, but over tasks
 * that started at random points of their second the differences average to
 * D. The estimate is a bracket around that mean, as wide as its
 * uncertainty, at least ±100 ms.
 *
 * @returns The estimate, or `undefined` when the archive has fewer than 3
 * such tasks that ended OK, or cannot be read (then nothing is guessed).
 * @throws The signal's reason when it aborts.
 */
export async function archiveEstimate(
  transport: Transport,
  upid: Upid,
  options: { signal: AbortSignal; context: RequestContext },
): Promise<TaskEnd | undefined> {
  let tasks: unknown;
  try {
    tasks = await transport.request("GET", nodeTasksPath(upid.node), {
      params: { typefilter: upid.type, source: "archive", limit: ARCHIVE_TASKS },
      signal: options.signal,
      context: options.context,
      retry: false,
    });
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    transport.config.logger.debug(`No task archive of node "${upid.node}" to estimate from`, {
      action: options.context.action,
      error,
    });
    return undefined;
  }
  const seconds: number[] = [];
  for (const task of Array.isArray(tasks) ? tasks as ArchivedTask[] : []) {
    const { type, status, starttime, endtime } = isObject(task) ? task : {};
    if (type !== upid.type || !isTaskOk(status)) continue;
    if (typeof starttime !== "number" || typeof endtime !== "number") continue;
    const took = endtime - starttime;
    // A day and more is no power task's duration (and 1e308 - -1e308 is no number).
    if (took >= 0 && took < ARCHIVE_MAX_SECONDS) seconds.push(took);
  }
  const n = seconds.length;
  if (n < ARCHIVE_MIN_TASKS) return undefined;
  const mean = seconds.reduce((a, b) => a + b, 0) / n;
  const spread = Math.sqrt(seconds.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  // Two standard errors of the mean, and 1/n of a second for whole seconds that all agree.
  const half = Math.max(ARCHIVE_MIN_HALF_WIDTH, 1000 * (2 * spread / Math.sqrt(n) + 1 / n));
  const end = 1000 * mean;
  return { running: Math.max(0, end - half), done: end + half, hits: 0 };
}

/** One entry of `GET /nodes/{node}/tasks`. */
export interface TaskSummary {
  type: string;
  /** The exit status (text from PVE, not checked); absent while the task runs. */
  status?: unknown;
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
  // Entries that are not objects, or whose type is not text, are no power task.
  return (Array.isArray(tasks) ? tasks as unknown[] : []).find((task): task is TaskSummary =>
    isObject(task) && typeof task.type === "string" && POWER_TASKS.has(task.type)
  );
}

/** Whether the CT's latest power task is a suspend that succeeded: the CT is checkpointed. */
export function isSuspended(task: TaskSummary | undefined): boolean {
  return task?.type === "vzsuspend" && isTaskOk(task.status);
}
