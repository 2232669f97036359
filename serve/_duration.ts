/**
 * Go durations (`500ms`, `10s`, `1m`, `1h30m`, `1.5h`, `300us`, `0`), read and
 * written with exactly the grammar of Go's `time.ParseDuration` and
 * `time.Duration.String`, because Sablier's API and its plugins speak them.
 *
 * The grammar is `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or the bare `0`; each
 * element needs a digit on one side of its point and one of the units `ns`,
 * `us` (or `µs`, `μs`), `ms`, `s`, `m` and `h`. The total is counted in whole
 * nanoseconds and must fit a signed 64-bit integer, as in Go.
 *
 * @module
 */

const NANOS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n], // MICRO SIGN
  ["\u03bcs", 1_000n], // GREEK SMALL LETTER MU
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

/** One whole number of at most 9 digits and a unit of a millisecond or more: exact integers. */
const SIMPLE = /^(\d{1,9})(ms|s|m|h)$/;
const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
/** The most whole milliseconds within Go's range (2^63 - 1 ns). */
const MAX_WHOLE_MS = 9_223_372_036_854;
const LIMIT = 1n << 63n;
const NANOS_PER_MS = 1_000_000n;
const SHOWN_LENGTH = 64;

/** Quotes a value for an error message: escaped, and cut when it is long. */
function shown(text: string): string {
  const cut = text.length > SHOWN_LENGTH ? `${text.slice(0, SHOWN_LENGTH)}…` : text;
  return JSON.stringify(cut);
}

function invalid(text: string, why: string): RangeError {
  return new RangeError(
    `Invalid duration ${
      shown(text)
    }: ${why}; expected a Go duration such as 500ms, 10s, 1m or 1h30m`,
  );
}

function isDigit(char: string): boolean {
  return char >= "0" && char <= "9";
}

/**
 * Reads a Go duration, as Go's `time.ParseDuration` does.
 *
 * @param text The duration, such as `"1h30m"`, `"1.5s"` or `"0"`.
 * @returns The duration in milliseconds, fractional below a millisecond
 * (`"300us"` is `0.3`); negative when the text starts with `-`, as in Go.
 * @throws {RangeError} When the text is not a Go duration, or exceeds Go's
 * range (about 292 years); the message quotes the text.
 *
 * @example Read a session duration
 * ```ts
 * import { parseGoDuration } from "./_duration.ts";
 *
 * console.log(parseGoDuration("1h30m")); // 5400000
 * console.log(parseGoDuration("300us")); // 0.3
 * ```
 */
export function parseGoDuration(text: string): number {
  if (typeof text !== "string") throw invalid(String(text), "not a string");
  // The common case (`30s`, `5m`, `500ms`): one whole number and a unit, exact as a float.
  const simple = SIMPLE.exec(text);
  if (simple !== null) {
    const ms = Number(simple[1]) * MS_PER_UNIT[simple[2]];
    if (ms <= MAX_WHOLE_MS) return ms;
  }
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid(text, "empty");
  let total = 0n;
  while (rest !== "") {
    if (rest[0] !== "." && !isDigit(rest[0])) throw invalid(text, "expected a number");
    let index = 0;
    let whole = 0n;
    while (index < rest.length && isDigit(rest[index])) {
      if (whole > LIMIT / 10n) throw invalid(text, "out of range");
      whole = whole * 10n + BigInt(rest.charCodeAt(index) - 48);
      if (whole > LIMIT) throw invalid(text, "out of range");
      index++;
    }
    const hasWhole = index > 0;
    let fraction = 0n;
    let scale = 1;
    let hasFraction = false;
    if (rest[index] === ".") {
      index++;
      let overflow = false;
      const start = index;
      while (index < rest.length && isDigit(rest[index])) {
        // Like Go, digits past int64 precision are read but ignored.
        const next = fraction * 10n + BigInt(rest.charCodeAt(index) - 48);
        if (!overflow && fraction <= (LIMIT - 1n) / 10n && next <= LIMIT) {
          fraction = next;
          scale *= 10;
        } else {
          overflow = true;
        }
        index++;
      }
      hasFraction = index > start;
    }
    if (!hasWhole && !hasFraction) throw invalid(text, "a point with no digits");
    const unitStart = index;
    while (index < rest.length && rest[index] !== "." && !isDigit(rest[index])) index++;
    if (index === unitStart) throw invalid(text, "missing unit");
    const unitText = rest.slice(unitStart, index);
    const unit = NANOS_PER_UNIT.get(unitText);
    if (unit === undefined) throw invalid(text, `unknown unit ${shown(unitText)}`);
    rest = rest.slice(index);
    if (whole > LIMIT / unit) throw invalid(text, "out of range");
    let nanos = whole * unit;
    if (fraction > 0n) {
      // Go adds the fraction through a float64, exact to the nanosecond for hours.
      nanos += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (nanos > LIMIT) throw invalid(text, "out of range");
    }
    total += nanos;
    if (total > LIMIT) throw invalid(text, "out of range");
  }
  if (!negative && total > LIMIT - 1n) throw invalid(text, "out of range");
  return toMillis(negative ? -total : total);
}

function toMillis(nanos: bigint): number {
  const millis = nanos / NANOS_PER_MS;
  const rest = nanos % NANOS_PER_MS;
  return Number(millis) + Number(rest) / 1e6;
}

/** Writes `value / 10^digits` with its fraction, trailing zeros dropped. */
function withFraction(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = value / scale;
  let fraction = (value % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  if (fraction !== "") fraction = `.${fraction}`;
  return `${whole}${fraction}`;
}

/**
 * Writes a duration as Go's `time.Duration.String` does: `0s`, `300µs`,
 * `1.5ms`, `10s`, `1m0s`, `1h30m0s`.
 *
 * @param ms The duration in milliseconds; rounded to the nanosecond.
 * @returns The Go text of the duration, which {@linkcode parseGoDuration} reads back.
 * @throws {RangeError} When `ms` is not a finite number or exceeds Go's range.
 *
 * @example Show a session duration
 * ```ts
 * import { formatGoDuration } from "./_duration.ts";
 *
 * console.log(formatGoDuration(5400000)); // "1h30m0s"
 * console.log(formatGoDuration(0.3)); // "300µs"
 * ```
 */
export function formatGoDuration(ms: number): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new RangeError(
      `Invalid duration ${String(ms)}: expected a finite number of milliseconds`,
    );
  }
  const wholeMs = Math.trunc(ms);
  const nanos = BigInt(wholeMs) * NANOS_PER_MS + BigInt(Math.round((ms - wholeMs) * 1e6));
  if (nanos >= LIMIT || nanos < -LIMIT) {
    throw new RangeError(`Invalid duration ${ms}: exceeds a Go duration (about 292 years)`);
  }
  const sign = nanos < 0n ? "-" : "";
  const size = nanos < 0n ? -nanos : nanos;
  if (size === 0n) return "0s";
  if (size < 1_000n) return `${sign}${size}ns`;
  if (size < 1_000_000n) return `${sign}${withFraction(size, 3)}\u00b5s`;
  if (size < 1_000_000_000n) return `${sign}${withFraction(size, 6)}ms`;
  const seconds = size / 1_000_000_000n;
  const secondsText = `${withFraction(size % 60_000_000_000n, 9)}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return `${sign}${secondsText}`;
  const hours = minutes / 60n;
  if (hours === 0n) return `${sign}${minutes}m${secondsText}`;
  return `${sign}${hours}h${minutes % 60n}m${secondsText}`;
}
