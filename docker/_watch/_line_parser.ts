/**
 * Parsing event lines without parsing most of them: the events of one
 * container mostly repeat everything but their times.
 *
 * @module
 */

import { parseEventLine, type WireEvent } from "./_wire.ts";

const TIME_NANO = '"timeNano":';
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;

/** How many recent lines' parses an {@linkcode EventLineParser} keeps. */
const PARSES_KEPT = 32;
const TIME = '"time":';

/** A parse kept for lines that only differ from it in their time. */
interface KeptParse {
  /** The line up to its `"time":` value. */
  prefix: string;
  /** What the line said besides its time: `null` for a line no watch reports. */
  event: Omit<WireEvent, "timeNano"> | null;
}

/**
 * Parses event lines like {@linkcode parseEventLine}, but a line that only
 * differs from a recent one in its time is not parsed again. Both daemons
 * end a line with `"time":<digits>,"timeNano":<digits>}`, and the events of
 * one container mostly repeat everything before: a line whose text up to
 * `"time":` is that of a recent line, and whose rest has that exact shape,
 * is the same JSON but for the two times.
 */
export class EventLineParser {
  #kept: KeptParse[] = [];
  #next = 0;

  /**
   * Parses one event line.
   *
   * @param line The line.
   * @param timeNano The line's `timeNano` digits, when `lineTimeNano` found them.
   * @returns The event (its attributes an object of its own), or `null` for
   * an event a watch does not report.
   * @throws {EventFormatError} When the line is not JSON or not shaped like an event.
   */
  parse(line: string, timeNano: string | undefined): WireEvent | null {
    const end = timeNano === undefined ? -1 : timePrefixEnd(line, timeNano.length);
    if (end === -1) return parseEventLine(line, timeNano);
    let prefix: string | undefined;
    for (const kept of this.#kept) {
      if (kept.prefix.length !== end || kept.prefix !== (prefix ??= line.slice(0, end))) continue;
      const { event } = kept;
      return event === null ? null : {
        id: event.id,
        action: event.action,
        attributes: { ...event.attributes },
        timeNano: timeNano!,
      };
    }
    const event = parseEventLine(line, timeNano);
    const keep: KeptParse = {
      prefix: prefix ?? line.slice(0, end),
      event: event === null
        ? null
        : { id: event.id, action: event.action, attributes: { ...event.attributes } },
    };
    if (this.#kept.length < PARSES_KEPT) this.#kept.push(keep);
    else this.#kept[this.#next++ % PARSES_KEPT] = keep;
    return event;
  }
}

/**
 * Where the `"time":` value of a line starts, when the line ends with
 * `"time":<digits>,"timeNano":<digits>}` (the `timeNano` digits being its
 * last `digits` characters before the brace); -1 otherwise.
 */
function timePrefixEnd(line: string, digits: number): number {
  const last = line.length - 1;
  let at = last - digits - TIME_NANO.length - 1;
  if (
    at < 0 || line.charCodeAt(last) !== CLOSE_BRACE || !isNumber(line, last - digits, last) ||
    line.charCodeAt(at) !== COMMA || !line.startsWith(TIME_NANO, at + 1)
  ) return -1;
  const timeEnd = at;
  while (at > 0 && isDigit(line.charCodeAt(at - 1))) at--;
  if (!isNumber(line, at, timeEnd) || !line.startsWith(TIME, at - TIME.length)) return -1;
  return at;
}

/** Whether `line.slice(start, end)` is a JSON number of digits only. */
function isNumber(line: string, start: number, end: number): boolean {
  if (end <= start || (line.charCodeAt(start) === 0x30 && end - start > 1)) return false;
  for (let i = start; i < end; i++) if (!isDigit(line.charCodeAt(i))) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
