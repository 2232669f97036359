/**
 * Where a Docker event stream stands: the newest event seen, and the lines
 * of its last millisecond, so that a resume can ask for a little more than
 * it missed and skip what it sees again.
 *
 * @module
 */

import { compareNano, formatTime } from "./_wire.ts";

/** How far before the newest event a resume starts, in nanoseconds (covers Podman's float `since`). */
const OVERLAP_NS = 1_000_000;
/**
 * Lines are kept a little longer than the overlap: their times are compared
 * as doubles, which are off by up to 256 ns at today's dates.
 */
const KEEP_NS = OVERLAP_NS + 10_000;
/** The most lines kept to recognise repeats. */
const MAX_LINES = 10_000;

/** The position of one events stream. */
export class StreamPosition {
  /** The newest `timeNano` seen, and its line (`""` when set from the daemon's clock). */
  #latest: string | undefined;
  /** `Number(#latest)`. */
  #latestAt = NaN;
  #latestLine = "";
  /**
   * The lines of the overlap window and their times as numbers, oldest
   * first: a ring of `#count` entries from `#head` (allocated on first use).
   */
  #ats = new Float64Array(0);
  #lines: (string | undefined)[] = [];
  #head = 0;
  #count = 0;
  #probe: string | undefined;
  #probeSeen = false;

  /** Whether any event (or the daemon's clock) gave the stream a position. */
  get known(): boolean {
    return this.#latest !== undefined;
  }

  /**
   * The `since` a resume asks for: a little before the newest event.
   *
   * @returns `"sec.nanos"`, or `undefined` without a position.
   */
  resumeSince(): string | undefined {
    return this.#latest === undefined
      ? undefined
      : formatTime(BigInt(this.#latest) - BigInt(OVERLAP_NS));
  }

  /**
   * Records a line, unless it was seen already.
   *
   * @param text The line.
   * @param timeNano Its `timeNano` digits.
   * @returns `false` for a line seen before (a resume repeats some).
   */
  admit(text: string, timeNano: string): boolean {
    const at = Number(timeNano);
    if (this.#latest === undefined || this.#isNewest(timeNano, at)) {
      this.#latest = timeNano;
      this.#latestAt = at;
      this.#latestLine = text;
      this.#keep(text, at);
      return true;
    }
    // Not newer than the newest: a repeat, or an event the daemon published late.
    // (Equal lines have equal times: comparing the numbers first only skips the others sooner.)
    const capacity = this.#lines.length;
    for (let k = this.#count - 1; k >= 0; k--) {
      const i = (this.#head + k) % capacity;
      if (this.#ats[i] === at && this.#lines[i] === text) {
        if (text === this.#probe) this.#probeSeen = true;
        return false;
      }
    }
    this.#keep(text, at);
    return true;
  }

  /**
   * Takes the daemon's clock as the position of a stream that saw no event yet.
   *
   * @param nanos The daemon's time, in nanoseconds since the epoch.
   */
  setClock(nanos: bigint): void {
    if (this.#latest !== undefined) return;
    this.#latest = nanos.toString();
    this.#latestAt = Number(this.#latest);
    this.#latestLine = "";
  }

  /** Starts watching for the newest line seen to come again (a replay that joins up). */
  startProbe(): void {
    this.#probe = this.#latestLine === "" ? undefined : this.#latestLine;
    this.#probeSeen = false;
  }

  /**
   * Ends the probe.
   *
   * @returns Whether the newest line seen came again since {@linkcode StreamPosition.startProbe}.
   */
  endProbe(): boolean {
    this.#probe = undefined;
    return this.#probeSeen;
  }

  /** Forgets everything: a new stream starts. */
  reset(): void {
    this.#latest = undefined;
    this.#latestAt = NaN;
    this.#latestLine = "";
    this.#ats = new Float64Array(0);
    this.#lines = [];
    this.#head = 0;
    this.#count = 0;
    this.#probe = undefined;
  }

  /**
   * `compareNano(timeNano, #latest) > 0`, mostly without comparing strings:
   * digit strings of one length are in the order of their numbers, and
   * `Number()` keeps that order, so unequal numbers decide.
   */
  #isNewest(timeNano: string, at: number): boolean {
    const latest = this.#latest!;
    if (timeNano.length !== latest.length || at === this.#latestAt) {
      return compareNano(timeNano, latest) > 0;
    }
    return at > this.#latestAt;
  }

  #keep(text: string, at: number): void {
    if (this.#lines.length === 0) {
      this.#ats = new Float64Array(MAX_LINES);
      this.#lines = new Array(MAX_LINES);
    }
    if (this.#count === MAX_LINES) this.#dropOldest();
    const tail = (this.#head + this.#count) % MAX_LINES;
    this.#ats[tail] = at;
    this.#lines[tail] = text;
    this.#count++;
    const floor = this.#latestAt - KEEP_NS;
    while (this.#count > 0 && this.#ats[this.#head] < floor) this.#dropOldest();
  }

  #dropOldest(): void {
    this.#lines[this.#head] = undefined;
    this.#head = (this.#head + 1) % MAX_LINES;
    this.#count--;
  }
}
