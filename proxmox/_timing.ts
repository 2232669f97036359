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

/** What one wait saw: its last check that found the task running (if any) and the one that found it done. */
export interface TaskChecksSeen {
  /** Milliseconds after the start; `undefined` when the first check found the task done. */
  running?: number;
  /** Milliseconds after the start. */
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
   * What the latest waits saw (at most 8), oldest first; absent from an
   * estimate that no wait of this client made. When no one time lies in all
   * of them, the task's duration varies, and the checks spread over the
   * durations they saw.
   */
  seen?: TaskChecksSeen[];
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
const TRUST = 4;
/** How many of the latest waits tell whether, and how much, a task's duration varies. */
const WINDOW = 8;
/**
 * Waits whose brackets miss each other by no more than this many
 * milliseconds (a late timer, a busy node) still agree on one duration.
 */
const TOLERANCE = STEP;
/**
 * How much quicker than the waits saw a task may be, as a share of its
 * duration: PVE's start and shutdown tasks vary by tens of percent from one
 * call to the next. Until 8 waits agree, the checks of a learned bracket
 * reach that far below its end after one wait, a quarter as far after each
 * further wait that agrees; a wait whose first check found the task done
 * tells of a task half that share quicker (see {@linkcode spreadOf}).
 */
const PRIOR_SPREAD = 0.3;
/** A learned bracket no wider than this many milliseconds knows a steady task's end closely. */
const CLOSE = 2 * STEP;
/** How many checks spread over the durations seen of a task whose duration varies. */
const IN_SPREAD = 7;

/**
 * The times, in milliseconds after a task's start, at which to check
 * whether it ended, given what earlier waits learned (a pure function).
 *
 * - Nothing learned: 20 ms, then waits growing ×1.5 up to 300 ms.
 * - Waits that agree on one duration, a learned bracket (`running`,
 *   `done`]: up to 4 evenly spaced checks that end exactly at `done`, at
 *   least 20 ms apart; a bracket no wider than 20 ms is one check at `done`.
 *   A task as quick as the last ones thus costs one check, less than 20 ms
 *   after its end. Until 8 waits agree, the bracket reaches 30% below `done`
 *   after one wait, 7.5% after two, and so on, so that a quicker task is
 *   found soon and tells that the duration varies.
 * - After 4 hits in a row: first a probe below `done` (by a tenth of it, at
 *   least 40 ms, doubling while probes keep finding the task done). A probe
 *   that finds the task running costs one request and no latency.
 * - Waits that disagree (the duration varies): 7 checks over the durations
 *   the latest 8 waits saw and a margin around them, closer together where
 *   more of them lie ({@linkcode spreadOf}).
 * - Past the last of those (the task runs longer than it did): 20 ms (past
 *   a spread, its last gap), then waits growing ×1.5 up to 300 ms.
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
  let wait = STEP;
  const spread = learned?.seen && spreadOf(learned.seen);
  if (spread) {
    const checks = spreadChecks(spread);
    for (const time of checks) yield* at(time);
    if (checks.length > 1) wait = Math.min(MAX_WAIT, checks.at(-1)! - checks.at(-2)!);
  } else if (learned) {
    for (const time of bracketChecks(learned)) yield* at(time);
  }
  while (true) {
    yield* at(last + wait);
    wait = Math.min(MAX_WAIT, wait * GROWTH);
  }
}

/** The checks up to a learned end: a probe below it, or an even split of its bracket. */
function bracketChecks({ running, done, hits, seen }: TaskEnd): number[] {
  if (hits >= TRUST) {
    const depth = Math.max(2 * STEP, done / 10) * 2 ** (hits - TRUST);
    return done - depth > 0 ? [done - depth, done] : [done];
  }
  const agreeing = seen?.length ?? 0;
  if (agreeing > 0 && agreeing < WINDOW) {
    running = Math.min(running, done * (1 - PRIOR_SPREAD / 4 ** (agreeing - 1)));
  }
  const width = done - running;
  const count = Math.min(IN_BRACKET, Math.max(1, Math.ceil(width / STEP)));
  return Array.from({ length: count }, (_, i) => running + (width * (i + 1)) / count);
}

/** A stretch of time over which a share of the durations seen lies evenly. */
interface Stretch {
  from: number;
  to: number;
  share: number;
}

/**
 * Where the durations of a task lie, from what the latest waits saw, or
 * `undefined` when they agree on one duration (some time lies in all their
 * brackets, give or take {@linkcode TOLERANCE}).
 *
 * Each wait tells a duration: the middle of its bracket; or, when its first
 * check found the task done (the check came too late to tell how much
 * earlier the task ended), that check less half the margin or 15% of it,
 * whichever is more. The margin is the mean gap between durations
 * seen ((longest − shortest) / (count − 1)), at least 20 ms. Each duration
 * spreads half its weight down to the next shorter one and half up to the
 * next longer one; the shortest and the longest spread by the margin
 * outwards, since the few durations seen are unlikely to be the extremes.
 *
 * @param seen What the latest waits saw.
 * @returns Stretches whose shares add up to 1, or `undefined`.
 */
function spreadOf(seen: readonly TaskChecksSeen[]): Stretch[] | undefined {
  const latestRunning = Math.max(...seen.map((s) => s.running ?? 0));
  const earliestDone = Math.min(...seen.map((s) => s.done));
  if (latestRunning - earliestDone <= TOLERANCE) return undefined;
  const n = seen.length;
  const middles = seen.map((s) => s.running === undefined ? s.done : (s.running + s.done) / 2);
  const margin = Math.max(STEP, (Math.max(...middles) - Math.min(...middles)) / (n - 1));
  const durations = seen.map((s, i) =>
    s.running === undefined
      ? Math.max(STEP, s.done - Math.max(margin, s.done * PRIOR_SPREAD) / 2)
      : middles[i]
  ).sort((a, b) => a - b);
  const half = 1 / (2 * n);
  return durations.flatMap((duration, i) => [
    {
      from: Math.max(
        0,
        duration - (i === 0 ? margin : Math.max(STEP, duration - durations[i - 1])),
      ),
      to: duration,
      share: half,
    },
    {
      from: duration,
      to: duration + (i === n - 1 ? margin : Math.max(STEP, durations[i + 1] - duration)),
      share: half,
    },
  ]);
}

/**
 * {@linkcode IN_SPREAD} checks over where the durations lie, the last at
 * the end of the longest stretch, at least 20 ms apart. Where more durations
 * lie the checks come closer together, as the square root of their density:
 * the spacing that makes the time from a task's end to the check that finds
 * it least, on average, for a given number of checks.
 */
function spreadChecks(stretches: readonly Stretch[]): number[] {
  const edges = [...new Set(stretches.flatMap((s) => [s.from, s.to]))].sort((a, b) => a - b);
  const pieces = edges.slice(1).map((to, i) => {
    const from = edges[i];
    let density = 0;
    for (const s of stretches) {
      if (s.from <= from && to <= s.to) density += s.share / (s.to - s.from);
    }
    return { from, to, weight: Math.sqrt(density) * (to - from) };
  });
  const total = pieces.reduce((sum, piece) => sum + piece.weight, 0);
  const checks: number[] = [];
  let before = 0;
  let next = 1;
  for (const { from, to, weight } of pieces) {
    for (; next <= IN_SPREAD && before + weight >= (next * total) / IN_SPREAD - 1e-9; next++) {
      const into = weight > 0 ? Math.min(1, ((next * total) / IN_SPREAD - before) / weight) : 1;
      const time = from + Math.max(0, into) * (to - from);
      if (checks.length === 0 || time - checks.at(-1)! >= STEP) checks.push(time);
      else if (next === IN_SPREAD) checks[checks.length - 1] = time;
    }
    before += weight;
  }
  return checks;
}

/**
 * Folds what one wait saw into what earlier waits learned: the latest 8
 * waits, and a bracket of the end that waits which agree narrow. Brackets
 * that agree are intersected; when they do not, the new one replaces the
 * old (and the waits seen tell that the duration varies). A wait whose
 * first check found the task done is kept with the learned bracket's start
 * while the waits agree on an end known within 40 ms: that check came where
 * a steady task was due, so one slow task among steady ones does not make
 * the next waits look for quicker ones.
 *
 * @param learned What earlier waits learned; `undefined` when nothing.
 * @param seen The checks of the wait that just ended (the task ended OK).
 * @returns What to use for the next wait.
 */
export function learnTaskEnd(learned: TaskEnd | undefined, seen: TaskChecksSeen): TaskEnd {
  const hits = seen.running === undefined ? (learned?.hits ?? 0) + 1 : 0;
  const running = seen.running ?? 0;
  let bracket = { running, done: seen.done };
  if (learned !== undefined) {
    const lower = Math.max(running, learned.running);
    const upper = Math.min(seen.done, learned.done);
    if (lower < upper) bracket = { running: lower, done: upper };
  }
  // A first check that found the task done tells no start of its own; while waits agree on one
  // duration and learned its end within 40 ms, the learned bracket's start is that task's too.
  const steady = learned !== undefined && learned.done - learned.running <= CLOSE &&
    (learned.seen === undefined || spreadOf(learned.seen) === undefined);
  const wait = seen.running !== undefined
    ? { running, done: seen.done }
    : steady && bracket.running > 0
    ? { running: bracket.running, done: seen.done }
    : { done: seen.done };
  const latest = [...(learned?.seen ?? []), wait].slice(-WINDOW);
  return { ...bracket, hits, seen: latest };
}
