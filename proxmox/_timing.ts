/**
 * Waiting schedules: the backoffs of polls and retries, and the check times
 * of a PVE task learned from how long such tasks took before.
 *
 * @module
 */

import type { BackoffOptions } from "../_internal/backoff.ts";

/**
 * Polling waits for a state change: the first check comes within tens of
 * milliseconds, so that a quick change costs little; later checks back off
 * to one a second, so that a slow one costs few requests.
 */
export const POLL_BACKOFF: BackoffOptions = Object.freeze({
  minTimeout: 15,
  maxTimeout: 1_000,
  multiplier: 1.5,
});

/** Waits between retries of a GET that a node could not answer (595/596/502/503). */
export const RETRY_BACKOFF: BackoffOptions = Object.freeze({
  minTimeout: 100,
  maxTimeout: 400,
  multiplier: 2,
});

/** A bracket of a task's end, in milliseconds after its start. */
export interface TaskEndBracket {
  /** The latest check known to come before the end; 0 when none is known. */
  running: number;
  /** The earliest check known to come after the end. */
  done: number;
}

/** What earlier waits learned of when one kind of task ends. */
export interface TaskEnd extends TaskEndBracket {
  /**
   * Waits in a row whose first check already found the task done: they
   * cannot tell whether the task got quicker, so after a few of them the
   * first check probes earlier.
   */
  hits: number;
  /**
   * The bracket before the last wait found the task slower: checked first
   * next time, so that one slow task does not delay the waits after it.
   */
  quicker?: TaskEndBracket;
}

/** What one wait saw: its last check that found the task running (if any) and the one that found it done. */
export interface TaskChecksSeen {
  /** Milliseconds after the start; `undefined` when the first check found the task done. */
  running?: number;
  /** Milliseconds after the start. */
  done: number;
}

/** The finest spacing of checks, in milliseconds: around a learned end, and the first check of an unknown task. */
const STEP = 20;
/** Past a learned end, or for an unknown task, waits grow by this factor... */
const GROWTH = 1.5;
/** ...up to this many milliseconds: never later than a fixed 300 ms poll would notice. */
const MAX_WAIT = 300;
/**
 * The longest silence between checks, in milliseconds: below the transport's
 * 4 s idle limit, so that the next check finds its keep-alive connection.
 */
const KEEP_ALIVE = 3_000;
/** At most this many checks fall inside a learned bracket. */
const IN_BRACKET = 4;
/** After this many hits in a row, the first check probes below the learned end. */
const TRUST = 8;

/**
 * The times, in milliseconds after a task's start, at which to check
 * whether it ended, given what earlier waits learned (a pure function).
 *
 * - Nothing learned: 20 ms, then waits growing ×1.5 up to 300 ms.
 * - A learned bracket (`running`, `done`]: up to 4 evenly spaced checks
 *   that end exactly at `done`, at least 20 ms apart; a bracket no wider than
 *   20 ms is one check at `done`. A task as quick as the last ones thus costs
 *   one check, less than 20 ms after its end.
 * - After 8 hits in a row: first a probe below `done` (by a tenth of it, at
 *   least 40 ms, doubling while probes keep finding the task done). A probe
 *   that finds the task running costs one request and no latency.
 * - After a slower task: first a check at the quicker bracket's `done`.
 * - Past `done` (the task runs longer than it did): 20 ms, then waits
 *   growing ×1.5 up to 300 ms.
 *
 * No two checks are more than 3 s apart.
 *
 * @param learned What earlier waits for this kind of task learned; `undefined` when nothing.
 * @returns Increasing check times, forever.
 */
export function* taskCheckTimes(learned?: TaskEnd): Generator<number, never> {
  let last = 0;
  function* at(time: number): Generator<number> {
    if (time <= last) return;
    const parts = Math.ceil((time - last) / KEEP_ALIVE);
    for (let part = 1; part < parts; part++) yield last + ((time - last) * part) / parts;
    yield time;
    last = time;
  }
  if (learned) {
    if (learned.quicker) yield* at(learned.quicker.done);
    for (const time of bracketChecks(learned)) yield* at(time);
  }
  let wait = STEP;
  while (true) {
    yield* at(last + wait);
    wait = Math.min(MAX_WAIT, wait * GROWTH);
  }
}

/** The checks up to a learned end: a probe below it, or an even split of its bracket. */
function bracketChecks({ running, done, hits }: TaskEnd): number[] {
  if (hits >= TRUST) {
    const depth = Math.max(2 * STEP, done / 10) * 2 ** (hits - TRUST);
    return done - depth > 0 ? [done - depth, done] : [done];
  }
  const width = done - running;
  const count = Math.min(IN_BRACKET, Math.max(1, Math.ceil(width / STEP)));
  return Array.from({ length: count }, (_, i) => running + (width * (i + 1)) / count);
}

/**
 * Folds what one wait saw into what earlier waits learned. Brackets that
 * agree are intersected; when they do not, the new one replaces the old,
 * which is kept as `quicker` when the task got slower.
 *
 * @param learned What earlier waits learned; `undefined` when nothing.
 * @param seen The checks of the wait that just ended (the task ended OK).
 * @returns What to use for the next wait.
 */
export function learnTaskEnd(learned: TaskEnd | undefined, seen: TaskChecksSeen): TaskEnd {
  // Not seen running at the quicker bracket's check: the task is quick again.
  if (learned?.quicker && (seen.running ?? 0) < learned.quicker.done) {
    return learnTaskEnd({ ...learned.quicker, hits: 0 }, seen);
  }
  const hits = seen.running === undefined ? (learned?.hits ?? 0) + 1 : 0;
  const running = seen.running ?? 0;
  if (learned === undefined) return { running, done: seen.done, hits };
  const lower = Math.max(running, learned.running);
  const upper = Math.min(seen.done, learned.done);
  if (lower < upper) return { running: lower, done: upper, hits };
  if (running < learned.done) return { running, done: seen.done, hits };
  return {
    running,
    done: seen.done,
    hits,
    quicker: { running: learned.running, done: learned.done },
  };
}
