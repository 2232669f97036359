/**
 * Worker tasks as pve-common runs them (`fork_worker`, `PVE::UPID`): a UPID
 * per task, a log that ends in `TASK OK` / `TASK WARNINGS: n` /
 * `TASK ERROR: <msg>`, per-node storage, and the flock on a guest's config.
 *
 * @module
 */

import { TaskFailure } from "./_errors.ts";
import type { Timers } from "./_timers.ts";

/** What a worker can do while it runs. */
export interface TaskContext {
  readonly upid: string;
  /** Aborts when the task is killed (`DELETE .../tasks/{upid}`) or the fake closes. */
  readonly signal: AbortSignal;
  log(line: string): void;
  /** Logs a warning; a task that then ends without error reports `WARNINGS: <n>`. */
  warn(line: string): void;
  /** Sleeps unless the task is killed. */
  sleep(ms: number): Promise<void>;
}

/** A worker body: resolves for success, throws for `TASK ERROR`. */
export type Worker = (task: TaskContext) => Promise<void>;

/** A task's record, as the fake keeps it. */
export interface TaskRecord {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  /** The authenticated id, `user@realm!tokenid` for tokens. */
  user: string;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

/** The fields of a decoded UPID. */
export interface Upid {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** `PVE::Tools::upid_decode`; undefined for a string that is not a UPID. */
export function decodeUpid(upid: string): Upid | undefined {
  const m = upid.match(UPID_RE);
  if (!m) return undefined;
  return {
    node: m[1],
    pid: parseInt(m[3], 16),
    pstart: parseInt(m[4], 16),
    starttime: parseInt(m[5], 16),
    type: m[6],
    id: m[7],
    user: m[8],
  };
}

function encodeUpid(u: Upid): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
  return `UPID:${u.node}:${hex(u.pid)}:${hex(u.pstart)}:${
    hex(u.starttime)
  }:${u.type}:${u.id}:${u.user}:`;
}

interface Running {
  record: TaskRecord;
  abort: AbortController;
  done: Promise<void>;
}

/** Every task of every node, plus the config locks workers take. */
export class TaskRegistry {
  #timers: Timers;
  #tasks = new Map<string, Map<string, TaskRecord>>();
  #running = new Map<string, Running>();
  #pid = 0x1a2b0;
  #pstart = 0x2f00000;
  #locks = new Map<number, Promise<void>>();

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /** `fork_worker`: registers the task and runs `worker` in the background. */
  fork(node: string, type: string, id: string, user: string, worker: Worker): TaskRecord {
    const u: Upid = {
      node,
      pid: this.#pid++,
      pstart: this.#pstart += 137,
      starttime: Math.floor(Date.now() / 1000),
      type,
      id,
      user,
    };
    const record: TaskRecord = { ...u, upid: encodeUpid(u), status: "running", log: [] };
    if (!this.#tasks.has(node)) this.#tasks.set(node, new Map());
    this.#tasks.get(node)!.set(record.upid, record);
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, this.#timers.signal]);
    let warnings = 0;
    const ctx: TaskContext = {
      upid: record.upid,
      signal,
      log: (line) => record.log.push(line),
      warn: (line) => {
        warnings++;
        record.log.push(line);
      },
      sleep: (ms) => this.#timers.sleep(ms, signal),
    };
    const done = Promise.resolve()
      .then(() => worker(ctx))
      .then(
        () => warnings > 0 ? `WARNINGS: ${warnings}` : "OK",
        (err) => abort.signal.aborted ? "received interrupt" : errorText(err),
      )
      .then((exit) => {
        record.log.push(
          exit === "OK" || exit.startsWith("WARNINGS: ") ? `TASK ${exit}` : `TASK ERROR: ${exit}`,
        );
        record.exitstatus = exit;
        record.status = "stopped";
        record.endtime = Math.floor(Date.now() / 1000);
        this.#running.delete(record.upid);
      });
    this.#running.set(record.upid, { record, abort, done });
    return record;
  }

  /** The task with this UPID whose log lives on `node`. */
  get(node: string, upid: string): TaskRecord | undefined {
    return this.#tasks.get(node)?.get(upid);
  }

  /** All tasks of a node. */
  list(node: string): TaskRecord[] {
    return [...(this.#tasks.get(node)?.values() ?? [])];
  }

  /** All tasks of all nodes, oldest first. */
  all(): TaskRecord[] {
    return [...this.#tasks.values()].flatMap((m) => [...m.values()]);
  }

  /** Kills a running task; it ends with `received interrupt`. */
  kill(upid: string): Promise<void> {
    const running = this.#running.get(upid);
    if (!running) return Promise.resolve();
    running.abort.abort(new TaskFailure("received interrupt"));
    return running.done;
  }

  /** Running tasks of `type` for guest `id` on `node`. */
  runningOf(node: string, type: string, id: string): TaskRecord[] {
    return [...this.#running.values()]
      .map((r) => r.record)
      .filter((r) => r.node === node && r.type === type && r.id === id);
  }

  /** Resolves when every running task has ended. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) {
      await Promise.all([...this.#running.values()].map((r) => r.done));
    }
  }

  /**
   * `lock_config`: runs `body` holding the guest's config flock. While another
   * task holds it, logs `trying to acquire lock...` and waits up to
   * `timeoutMs`, then fails like `lock_file_full`.
   */
  async withConfigLock(
    vmid: number,
    task: TaskContext,
    timeoutMs: number,
    body: () => Promise<void>,
    lockFile = `/run/lock/lxc/pve-config-${vmid}.lock`,
  ): Promise<void> {
    const log = this.#running.get(task.upid)?.record.log ?? [];
    const deadline = Date.now() + timeoutMs;
    let waited = false;
    for (let held = this.#locks.get(vmid); held; held = this.#locks.get(vmid)) {
      if (!waited) log.push("trying to acquire lock...");
      waited = true;
      const stopWaiting = new AbortController();
      const timedOut = this.#timers
        .sleep(deadline - Date.now(), AbortSignal.any([task.signal, stopWaiting.signal]))
        .then(() => true, () => false);
      const released = held.then(() => false);
      const timeout = await Promise.race([timedOut, released]);
      stopWaiting.abort();
      task.signal.throwIfAborted();
      if (timeout) {
        throw new TaskFailure(`can't lock file '${lockFile}' - got timeout`);
      }
    }
    if (waited) log[log.length - 1] += " OK";
    let release!: () => void;
    this.#locks.set(vmid, new Promise((resolve) => (release = resolve)));
    try {
      await body();
    } finally {
      this.#locks.delete(vmid);
      release();
    }
  }
}

/**
 * Ends a task as `failNextTask` asked: `OK` does nothing, `WARNINGS: <n>`
 * logs n warnings, anything else is the task's error.
 */
export function applyInjected(t: TaskContext, exitstatus: string | undefined): void {
  if (exitstatus === undefined || exitstatus === "OK") return;
  const warnings = exitstatus.match(/^WARNINGS: (\d+)$/);
  if (!warnings) throw new TaskFailure(exitstatus);
  for (let i = 1; i <= Number(warnings[1]); i++) t.warn(`warning ${i}`);
}

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\n+$/, "").replace(/\n/g, " ");
}
