/**
 * The wire side of a Docker watch: the `/events` query, event lines and
 * container inspections of Docker and Podman, turned into plain values.
 *
 * Both daemons send the same event shape (`status`, `id`, `from`, `Type`,
 * `Action`, `Actor.ID` with the full id, `Actor.Attributes`, `time`,
 * `timeNano`). Podman 4.3's Docker-compatible API differs in what it sends
 * and how it filters, and this module covers it:
 * - a removal is `remove` (dockerd: `destroy`); it also sends `init` and
 *   `cleanup`, which are not reported;
 * - its `event` filter matches its own names, so `die` needs `died`;
 * - a stop the container obeys is reported as `die`, with or without a
 *   `stop` before it (dockerd: `kill`, `die`, `stop`); a forced removal
 *   reports no `kill` either;
 * - `since` is exclusive and read as a float (about 0.2 µs off), and an
 *   `until` in the past answers nothing, so a bounded replay uses
 *   `stream=false` instead (dockerd ignores that parameter);
 * - its events are kept in a file and survive a restart of the service.
 *
 * @module
 */

import { Action } from "../../events/mod.ts";

/** Where a container stands, as far as a watch is concerned. */
export type Phase = "running" | "paused" | "stopped" | "gone";

/** One container lifecycle event, as read from the stream. */
export interface WireEvent {
  /** The full container id (`Actor.ID`). */
  id: string;
  /** The action, mapped to the contract's. */
  action: Action;
  /** `Actor.Attributes`: `name`, `image`, labels, `exitCode`, `signal`, ... */
  attributes: Record<string, string>;
  /** `timeNano`, digits exactly as sent. */
  timeNano: string;
}

/** A container's state, from `GET /containers/{id}/json`. */
export interface ContainerState {
  /** The full id. */
  id: string;
  /** The name, without Docker's leading slash. */
  name: string;
  /** The image, as the container was created with it. */
  image: string;
  /** The state, reduced to a phase. */
  phase: Exclude<Phase, "gone">;
  /** When it last started, in nanoseconds since the epoch. */
  startedAt: bigint | undefined;
  /** When it last stopped, in nanoseconds since the epoch. */
  finishedAt: bigint | undefined;
  /** The exit code of the last run. */
  exitCode: number;
}

/** An event line that is not JSON, or not shaped like an event. */
export class EventFormatError extends Error {
  /**
   * Creates an error.
   *
   * @param message What is wrong (never the line itself: labels may hold secrets).
   */
  constructor(message: string) {
    super(message);
    this.name = "EventFormatError";
  }
}

/** Container actions of Docker and Podman that a watch reports; others are skipped. */
const ACTIONS: ReadonlyMap<string, Action> = new Map<string, Action>([
  ["start", Action.ContainerStart],
  ["unpause", Action.ContainerUnpause],
  ["kill", Action.ContainerKill],
  ["stop", Action.ContainerStop],
  ["pause", Action.ContainerPause],
  ["die", Action.ContainerDie],
  ["destroy", Action.ContainerDestroy],
  // Podman's name for destroy.
  ["remove", Action.ContainerDestroy],
]);

/**
 * The `filters` of every events request, percent-encoded: container events
 * of the reported actions. Podman matches `event` against its own names
 * (`died`); each daemon ignores the names it does not use.
 */
const FILTERS = encodeURIComponent(JSON.stringify({
  type: ["container"],
  event: ["start", "unpause", "kill", "stop", "pause", "die", "died", "destroy", "remove"],
}));

/** What an events request asks for beyond the filters. */
export interface EventsQuery {
  /** Replay from this time (`"sec.nanos"`). */
  since?: string;
  /** End the answer at this time (`"sec"`), dockerd. */
  until?: string;
  /** `false`: answer what is logged so far, then end (Podman). */
  stream?: boolean;
}

/**
 * Builds the path of an events request.
 *
 * @param query The replay bounds.
 * @returns An unversioned path with its query.
 */
export function eventsPath(query: EventsQuery = {}): string {
  let path = `/events?filters=${FILTERS}`;
  if (query.since !== undefined) path += `&since=${query.since}`;
  if (query.until !== undefined) path += `&until=${query.until}`;
  if (query.stream === false) path += "&stream=false";
  return path;
}

/**
 * Formats a time for `since`/`until`: `"<seconds>.<9 digits>"`.
 *
 * @param nanos Nanoseconds since the epoch.
 * @returns The daemon's time format.
 */
export function formatTime(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n;
  const rest = nanos % 1_000_000_000n;
  return `${seconds}.${rest.toString().padStart(9, "0")}`;
}

const TIME_NANO = '"timeNano":';
const ACTOR_ID = '"ID":"';
/** {@linkcode ACTOR_ID} without its first quote: JSON is full of quotes, `I` is rare. */
const ACTOR_ID_TAIL = ACTOR_ID.slice(1);
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;

/**
 * Finds an event line's `timeNano` without parsing the line. The field is
 * the last one both daemons write, so it is searched from the end.
 *
 * @param line An event line.
 * @returns The digits, or `undefined` when the line has no such number.
 */
export function lineTimeNano(line: string): string | undefined {
  // The usual line ends with `"timeNano":<digits>}`: read it from the end.
  const last = line.length - 1;
  if (line.charCodeAt(last) === CLOSE_BRACE) {
    let first = last;
    while (first > last - 20 && isDigit(line.charCodeAt(first - 1))) first--;
    if (
      first < last && first >= TIME_NANO.length && !isDigit(line.charCodeAt(first - 1)) &&
      line.startsWith(TIME_NANO, first - TIME_NANO.length)
    ) return line.slice(first, last);
  }
  const at = line.lastIndexOf(TIME_NANO);
  if (at === -1) return undefined;
  let start = at + TIME_NANO.length;
  while (line.charCodeAt(start) === 0x20) start++;
  let end = start;
  while (end < line.length && end - start < 20 && isDigit(line.charCodeAt(end))) end++;
  return end > start ? line.slice(start, end) : undefined;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Watched full ids, as {@linkcode mayConcern} checks a line against them. */
export interface IdSet {
  /**
   * Tells whether a piece of a line is one of the ids.
   *
   * @param line The line.
   * @param start Where the piece starts.
   * @param end Where it ends.
   * @returns Whether `line.slice(start, end)` is one of the ids.
   */
  hasSlice(line: string, start: number, end: number): boolean;
}

/** Up to this many ids are compared in place, one by one; more are looked up in a set. */
const FEW_IDS = 8;

/**
 * Builds the {@linkcode IdSet} of some ids. A few ids are compared with the
 * line in place, which spares slicing and hashing a piece of every line.
 *
 * @param ids The ids: a set, or a map's keys. A few are copied now; more are
 * looked up in `ids` itself. Build the set again when `ids` changes.
 * @returns The set.
 */
export function idSet(ids: ReadonlySet<string> | ReadonlyMap<string, unknown>): IdSet {
  if (ids.size > FEW_IDS) {
    return { hasSlice: (line, start, end) => ids.has(line.slice(start, end)) };
  }
  const few = [...ids.keys()];
  return {
    hasSlice(line, start, end) {
      const length = end - start;
      // A slice compared whole is several times quicker than `startsWith(id, start)`.
      let piece: string | undefined;
      for (const id of few) {
        if (id.length === length && (piece ??= line.slice(start, end)) === id) return true;
      }
      return false;
    },
  };
}

/**
 * Tells cheaply whether a line may be about one of `ids`: it is when one of
 * its `"ID":"..."` values is one of `ids`, or when it has none (then only
 * parsing can tell). Strings inside JSON values cannot contain `"ID":"`
 * unescaped, so a label cannot fake or hide the actor's id.
 *
 * @param line An event line.
 * @param ids The watched full ids.
 * @returns `false` only when the line is surely about another container.
 */
export function mayConcern(line: string, ids: IdSet): boolean {
  let at = indexOfActorId(line, 0);
  if (at === -1) return true;
  do {
    const start = at + ACTOR_ID.length;
    const end = line.indexOf('"', start);
    if (end === -1) return true;
    if (ids.hasSlice(line, start, end)) return true;
    at = indexOfActorId(line, end);
  } while (at !== -1);
  return false;
}

/**
 * `line.indexOf(ACTOR_ID, from)`, several times faster: it looks for the
 * key without its first quote, then checks the quote.
 */
function indexOfActorId(line: string, from: number): number {
  let at = line.indexOf(ACTOR_ID_TAIL, from + 1);
  while (at !== -1 && line.charCodeAt(at - 1) !== QUOTE) at = line.indexOf(ACTOR_ID_TAIL, at + 1);
  return at === -1 ? -1 : at - 1;
}

/**
 * Parses one event line.
 *
 * @param line The line.
 * @param timeNano The line's `timeNano` digits, when {@linkcode lineTimeNano} found them.
 * @returns The event, or `null` for an event a watch does not report (other
 * object types, `exec_*`, `health_status`, ...).
 * @throws {EventFormatError} When the line is not JSON or not shaped like an event.
 */
export function parseEventLine(line: string, timeNano: string | undefined): WireEvent | null {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    throw new EventFormatError(`an event line of ${line.length} characters is not JSON`);
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new EventFormatError("an event line is not a JSON object");
  }
  const { Type, Action: name, status, Actor, time } = message as Record<string, unknown>;
  if (Type !== undefined && Type !== "container") return null;
  const raw = typeof name === "string" ? name : status;
  if (typeof raw !== "string") throw new EventFormatError("an event has no Action");
  const action = ACTIONS.get(raw);
  if (action === undefined) return null;
  const actor = Actor as { ID?: unknown; Attributes?: unknown } | undefined;
  const id = actor?.ID ?? (message as { id?: unknown }).id;
  if (typeof id !== "string" || id === "") throw new EventFormatError("an event has no Actor.ID");
  const nanos = timeNano ?? secondsAsNanos(time);
  if (nanos === undefined) throw new EventFormatError("an event has no timeNano");
  return { id, action, attributes: stringRecord(actor?.Attributes), timeNano: nanos };
}

/** Unix seconds (`time`) as `timeNano` digits; `undefined` for a value that is no time (1e21, -5, text). */
function secondsAsNanos(time: unknown): string | undefined {
  if (typeof time !== "number" || !(time >= 0 && time <= Number.MAX_SAFE_INTEGER)) return undefined;
  return `${Math.trunc(time)}000000000`;
}

/**
 * Turns `timeNano` digits into a date (millisecond precision).
 *
 * @param timeNano Nanoseconds since the epoch, as digits.
 * @returns The date.
 */
export function nanoDate(timeNano: string): Date {
  return new Date(timeNano.length > 6 ? Number(timeNano.slice(0, -6)) : 0);
}

/**
 * Compares two `timeNano` digit strings without losing precision.
 *
 * @param a A time.
 * @param b Another time.
 * @returns Negative, zero or positive as `a` is before, equal to or after `b`.
 */
export function compareNano(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Parses a container inspection.
 *
 * @param body The parsed JSON answer of `GET /containers/{id}/json`.
 * @returns The state.
 * @throws {EventFormatError} When it has no `Id` or `State.Status`.
 */
export function parseInspect(body: unknown): ContainerState {
  const { Id, Name, Config, State } = (body ?? {}) as {
    Id?: unknown;
    Name?: unknown;
    Config?: { Image?: unknown };
    State?: { Status?: unknown; StartedAt?: unknown; FinishedAt?: unknown; ExitCode?: unknown };
  };
  if (typeof Id !== "string" || typeof State?.Status !== "string") {
    throw new EventFormatError("the daemon's inspection has no Id or State.Status");
  }
  return {
    id: Id,
    name: typeof Name === "string" ? Name.replace(/^\//, "") : "",
    image: typeof Config?.Image === "string" ? Config.Image : "",
    phase: statusPhase(State.Status),
    startedAt: parseTimestamp(State.StartedAt),
    finishedAt: parseTimestamp(State.FinishedAt),
    exitCode: typeof State.ExitCode === "number" ? State.ExitCode : 0,
  };
}

/** Docker's `State.Status` as a phase: only running and paused keep a container up. */
function statusPhase(status: string): ContainerState["phase"] {
  if (status === "running" || status === "restarting") return "running";
  if (status === "paused") return "paused";
  return "stopped";
}

/**
 * Parses an RFC 3339 time with up to nanoseconds, as both daemons write
 * `StartedAt` and `FinishedAt`.
 *
 * @param value The text.
 * @returns Nanoseconds since the epoch; `undefined` for anything else, and
 * for Go's zero time (`0001-01-01T00:00:00Z`, "never").
 */
export function parseTimestamp(value: unknown): bigint | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? "").padEnd(9, "0"));
}

/**
 * The phase a container is in after an event.
 *
 * @param phase The phase before.
 * @param action The event.
 * @returns The phase after; a kill changes nothing by itself (its die does).
 */
export function phaseAfter(phase: Phase, action: Action): Phase {
  switch (action) {
    case Action.ContainerStart:
    case Action.ContainerUnpause:
      return "running";
    case Action.ContainerPause:
      return "paused";
    case Action.ContainerStop:
    case Action.ContainerDie:
      return "stopped";
    case Action.ContainerDestroy:
      return "gone";
    default:
      return phase;
  }
}

/**
 * The events that explain a change of phase that the stream did not show.
 *
 * @param from The phase the watch last reported.
 * @param to The phase found.
 * @returns The actions, in order (empty when nothing changed).
 */
export function explainChange(from: Phase, to: Phase): Action[] {
  if (from === to || from === "gone") return [];
  switch (to) {
    case "gone":
      return [Action.ContainerDestroy];
    case "stopped":
      return [Action.ContainerDie];
    case "running":
      return [from === "paused" ? Action.ContainerUnpause : Action.ContainerStart];
    case "paused":
      return from === "running"
        ? [Action.ContainerPause]
        : [Action.ContainerStart, Action.ContainerPause];
  }
}

/** The string-valued entries of an object: the object itself when they all are (as usual). */
function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  if (!Array.isArray(value)) {
    let strings = true;
    for (const key in value) {
      if (typeof (value as Record<string, unknown>)[key] !== "string") {
        strings = false;
        break;
      }
    }
    if (strings) return value as Record<string, string>;
  }
  const record: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === "string") record[key] = item;
  }
  return record;
}
