/**
 * Random JSON shapes for property tests of the code that reads server
 * answers: a small seeded generator (no dependency), so that a failing draw
 * is named by its seed and index and can be replayed.
 *
 * A draw is either a shape made from nothing (null, booleans, numbers of
 * every awkward kind, strings with control characters, unicode and lone
 * surrogates, arrays, nested objects whose keys include the names real
 * answers use and `__proto__`, `toString`, `valueOf`), or a "near miss": a
 * valid real answer with one to three mutations (a field dropped, its type
 * changed, wrapped in an array, a nested object nulled, the whole answer
 * replaced by a part of it).
 *
 * Values may hold `Infinity` and `-Infinity`: {@linkcode toJsonText} writes
 * them as `1e309` and `-1e309`, which `JSON.parse` reads back as such.
 */

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Field names of real Docker and PVE answers, and names that trip careless readers. */
const KEYS = [
  "data",
  "message",
  "cause",
  "errors",
  "State",
  "Status",
  "Running",
  "Id",
  "Name",
  "Config",
  "Image",
  "StartedAt",
  "FinishedAt",
  "ExitCode",
  "SystemTime",
  "Type",
  "Action",
  "status",
  "id",
  "Actor",
  "ID",
  "Attributes",
  "name",
  "time",
  "timeNano",
  "exitstatus",
  "upid",
  "node",
  "vmid",
  "type",
  "lock",
  "qmpstatus",
  "template",
  "starttime",
  "endtime",
  "ticket",
  "CSRFPreventionToken",
  "username",
  "__proto__",
  "toString",
  "valueOf",
  "constructor",
  "then",
  "length",
];

/** Strings real answers carry, and hostile ones. */
const STRINGS = [
  "",
  " ",
  "running",
  "stopped",
  "paused",
  "exited",
  "restarting",
  "created",
  "dead",
  "start",
  "die",
  "destroy",
  "container",
  "lxc",
  "qemu",
  "pve",
  "OK",
  "WARNINGS: 2",
  "vzstart",
  "vzsuspend",
  "suspended",
  "prelaunch",
  "shutdown",
  "io-error",
  "2024-05-01T10:00:00.123456789Z",
  "0001-01-01T00:00:00Z",
  "9999-99-99T99:99:99Z",
  "UPID:pve:0000A1B2:0001C3D4:65700000:vzstart:101:root@pam:",
  "UPID:..:0:0:0:x:1:u:",
  "..",
  "../../etc",
  "%zz",
  "%",
  "a%2Fb",
  "NaN",
  "Infinity",
  "-1",
  "1e309",
  "0x10",
  "101",
  "c0ffee",
  "\x00",
  "\x1b[2J\x1b]0;owned\x07",
  "line\r\nforged: yes",
  "\x9b31m",
  "\x7f",
  "ünï\u202ecode 😀",
  "\ud800",
  "\udfff\ud800",
  "x".repeat(10_000),
];

/** Numbers real answers carry, and ones that break arithmetic or dates. */
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  101,
  1.5,
  -2.5,
  0.1,
  1e21,
  -1e21,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  Number.MIN_VALUE,
  Infinity,
  -Infinity,
  1714557600,
  1714557600123456789,
];

/** A JSON value, possibly holding `Infinity` (written as `1e309`). */
export type Shape = unknown;

/** Draws shapes from a seed. */
export class ShapeSource {
  readonly next: () => number;

  /**
   * @param seed The seed; the same seed draws the same shapes.
   */
  constructor(seed: number) {
    this.next = random(seed);
  }

  /** An item of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A shape made from nothing, at most `depth` levels deep. */
  value(depth = 3): Shape {
    switch (this.below(depth > 0 ? 9 : 6)) {
      case 0:
        return null;
      case 1:
        return this.next() < 0.5;
      case 2:
      case 3:
        return this.pick(NUMBERS);
      case 4:
      case 5:
        return this.pick(STRINGS);
      case 6:
        return Array.from({ length: this.below(4) }, () => this.value(depth - 1));
      default: {
        const object: Record<string, Shape> = {};
        for (let i = this.below(5); i > 0; i--) {
          Object.defineProperty(object, this.pick(KEYS), {
            value: this.value(depth - 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return object;
      }
    }
  }

  /** A valid answer with one to three mutations. */
  nearMiss(valid: Shape): Shape {
    let shape = structuredClone(valid);
    for (let i = 1 + this.below(3); i > 0; i--) shape = this.#mutate(shape);
    return shape;
  }

  /** Half the time a shape from nothing, half the time a near miss of `valid`. */
  draw(valid: Shape): Shape {
    return this.next() < 0.5 ? this.value() : this.nearMiss(valid);
  }

  #mutate(shape: Shape): Shape {
    const containers = collect(shape);
    if (containers.length === 0 || this.next() < 0.1) {
      // The whole answer: wrapped, nulled, or made of a part of it.
      const part = containers.length > 0 ? Object.values(this.pick(containers))[0] : undefined;
      return this.pick([[shape], null, this.value(1), part ?? shape]);
    }
    const holder = this.pick(containers);
    const keys = Object.keys(holder);
    if (keys.length === 0) return shape;
    const key = this.pick(keys);
    const old = (holder as Record<string, Shape>)[key];
    switch (this.below(6)) {
      case 0:
        if (Array.isArray(holder)) holder.splice(Number(key), 1);
        else delete (holder as Record<string, Shape>)[key];
        break;
      case 1:
        (holder as Record<string, Shape>)[key] = null;
        break;
      case 2:
        (holder as Record<string, Shape>)[key] = [old];
        break;
      case 3:
        (holder as Record<string, Shape>)[key] = typeof old === "string"
          ? this.pick(NUMBERS)
          : this.pick(STRINGS);
        break;
      default:
        (holder as Record<string, Shape>)[key] = this.value(2);
    }
    return shape;
  }
}

/** Every object and array inside `shape`, itself included. */
function collect(shape: Shape, into: object[] = []): object[] {
  if (typeof shape !== "object" || shape === null) return into;
  into.push(shape);
  for (const item of Object.values(shape)) collect(item, into);
  return into;
}

/** JSON text of a shape; `Infinity` is written as `1e309`, which parses back to it. */
export function toJsonText(shape: Shape): string {
  return JSON.stringify(
    shape,
    (_key, value) => value === Infinity ? "\u0000inf" : value === -Infinity ? "\u0000-inf" : value,
  )
    .replaceAll('"\\u0000inf"', "1e309")
    .replaceAll('"\\u0000-inf"', "-1e309");
}

/** A shape for an assertion message: its JSON text, cut at 400 characters. */
export function describeShape(shape: Shape): string {
  const text = toJsonText(shape) ?? String(shape);
  return text.length > 400 ? `${text.slice(0, 400)}... (${text.length} characters)` : text;
}
