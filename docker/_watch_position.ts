/**
 * Where a Docker event stream stands: the newest event seen, and the lines
 * of its last millisecond, so that a resume can ask for a little more than
 * it missed and skip what it sees again.
 *
 * @module
 */

import { compareNano, formatTime } from "./_watch_wire.ts";

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
  #latestLine = "";
  /** The lines of the overlap window, oldest first, from `#head` on. */
  #times: string[] = [];
  #ats: number[] = [];
  #lines: string[] = [];
  #head = 0;
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
    if (this.#latest === undefined || compareNano(timeNano, this.#latest) > 0) {
      this.#latest = timeNano;
      this.#latestLine = text;
      this.#keep(text, timeNano);
      return true;
    }
    // Not newer than the newest: a repeat, or an event the daemon published late.
    for (let i = this.#lines.length - 1; i >= this.#head; i--) {
      if (this.#times[i] === timeNano && this.#lines[i] === text) {
        if (text === this.#probe) this.#probeSeen = true;
        return false;
      }
    }
    this.#keep(text, timeNano);
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
    this.#latestLine = "";
    this.#times = [];
    this.#ats = [];
    this.#lines = [];
    this.#head = 0;
    this.#probe = undefined;
  }

  #keep(text: string, timeNano: string): void {
    this.#times.push(timeNano);
    this.#ats.push(Number(timeNano));
    this.#lines.push(text);
    const floor = Number(this.#latest) - KEEP_NS;
    const length = this.#lines.length;
    while (
      this.#head < length && (this.#ats[this.#head] < floor || length - this.#head > MAX_LINES)
    ) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > length) {
      this.#times = this.#times.slice(this.#head);
      this.#ats = this.#ats.slice(this.#head);
      this.#lines = this.#lines.slice(this.#head);
      this.#head = 0;
    }
  }
}
