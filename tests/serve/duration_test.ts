import assert from "node:assert/strict";
import { formatGoDuration, parseGoDuration } from "../../serve/_duration.ts";

Deno.test({
  name: "parseGoDuration() reads Go durations in milliseconds",
  permissions: "none",
  async fn(t) {
    // Expected values follow Go's time.ParseDuration (src/time/time_test.go cases).
    const cases: [string, number][] = [
      ["0", 0],
      ["-0", 0],
      ["+0", 0],
      ["0s", 0],
      ["5s", 5_000],
      ["30s", 30_000],
      ["1478s", 1_478_000],
      ["-5s", -5_000],
      ["+5s", 5_000],
      ["-0s", 0],
      ["+0s", 0],
      ["5.0s", 5_000],
      ["5.6s", 5_600],
      ["5.s", 5_000],
      [".5s", 500],
      ["1.0s", 1_000],
      ["1.00s", 1_000],
      ["1.004s", 1_004],
      ["1.0040s", 1_004],
      ["100.00100s", 100_001],
      ["10ns", 0.00001],
      ["11us", 0.011],
      ["12\u00b5s", 0.012],
      ["12\u03bcs", 0.012],
      ["13ms", 13],
      ["14s", 14_000],
      ["15m", 900_000],
      ["16h", 57_600_000],
      ["3h30m", 12_600_000],
      ["1h30m", 5_400_000],
      ["1.5h", 5_400_000],
      ["500ms", 500],
      ["10.5s4m", 250_500],
      ["-2m3.4s", -123_400],
      ["1h2m3s4ms5us6ns", 3_723_004.005006],
      ["39h9m14.425s", 140_954_425],
      ["52763797000ns", 52_763.797],
      ["0.3333333333333333333h", 1_200_000],
      ["9007199254.740993ms", 9_007_199_254.740993],
      ["9223372036854775807ns", 9_223_372_036_854.775807],
      ["9223372036854775.807us", 9_223_372_036_854.775807],
      ["9223372036s854ms775us807ns", 9_223_372_036_854.775807],
      ["-9223372036854775808ns", -9_223_372_036_854.775808],
      ["-9223372036854775.808us", -9_223_372_036_854.775808],
      ["-2562047.7880152155h", -9_223_372_036_854.775808],
      ["0.100000000000000000000h", 360_000],
      ["0.830103483285477580700h", 2_988_372.539827],
    ];
    for (const [text, ms] of cases) {
      await t.step(JSON.stringify(text), () => {
        const got = parseGoDuration(text);
        assert.ok(Math.abs(got - ms) < 1e-9, `${text}: got ${got}, expected ${ms}`);
      });
    }
  },
});

Deno.test({
  name: "parseGoDuration() reads a whole number and a unit the same on its fast path",
  permissions: "none",
  fn() {
    // The slow path, reached through a leading "+", is the reference.
    for (const unit of ["ms", "s", "m", "h"]) {
      for (const whole of [0, 1, 7, 30, 500, 2_562_047, 2_562_048, 123_456_789, 999_999_999]) {
        const reference = (() => {
          try {
            return parseGoDuration(`+${whole}${unit}`);
          } catch (error) {
            return (error as Error).message.replace("+", "");
          }
        })();
        const fast = (() => {
          try {
            return parseGoDuration(`${whole}${unit}`);
          } catch (error) {
            return (error as Error).message;
          }
        })();
        assert.equal(fast, reference, `${whole}${unit}`);
      }
    }
    assert.equal(parseGoDuration("5m"), 300_000);
    assert.equal(parseGoDuration("2562047h"), 9_223_369_200_000);
    assert.throws(() => parseGoDuration("2562048h"), /out of range/);
    assert.throws(() => parseGoDuration("9223372036855ms"), /out of range/);
  },
});

Deno.test({
  name: "parseGoDuration() refuses what Go refuses, with a RangeError naming the value",
  permissions: "none",
  async fn(t) {
    const bad: [string, RegExp][] = [
      ["", /^Invalid duration "": empty/],
      ["3", /^Invalid duration "3": missing unit/],
      ["-", /^Invalid duration "-": empty/],
      ["s", /^Invalid duration "s": expected a number/],
      [".", /^Invalid duration ".": a point with no digits/],
      ["-.", /^Invalid duration "-.": a point with no digits/],
      [".s", /^Invalid duration ".s": a point with no digits/],
      ["+.s", /^Invalid duration "\+.s": a point with no digits/],
      ["1d", /^Invalid duration "1d": unknown unit "d"/],
      ["1.0.0s", /^Invalid duration "1.0.0s": missing unit/],
      ["1 s", /^Invalid duration "1 s": unknown unit " s"/],
      [" 1s", /^Invalid duration " 1s": expected a number/],
      ["1s ", /^Invalid duration "1s ": unknown unit "s "/],
      ["1S", /^Invalid duration "1S": unknown unit "S"/],
      ["1sec", /^Invalid duration "1sec": unknown unit "sec"/],
      ["10", /^Invalid duration "10": missing unit/],
      ["1h-1m", /^Invalid duration "1h-1m": unknown unit "h-"/],
      ["9223372036854775808ns", /^Invalid duration "9223372036854775808ns": out of range/],
      ["9223372036854775.808us", /out of range/],
      ["9223372036854ms775us808ns", /out of range/],
      ["-9223372036854775809ns", /out of range/],
      ["3000000h", /out of range/],
      ["99999999999999999999s", /out of range/],
      ["\u001b[31m", /^Invalid duration "\\u001b\[31m": expected a number/],
    ];
    for (const [text, message] of bad) {
      await t.step(JSON.stringify(text), () => {
        assert.throws(() => parseGoDuration(text), (error: Error) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, message);
          assert.match(error.message, /expected a Go duration such as 500ms, 10s, 1m or 1h30m$/);
          return true;
        });
      });
    }
    await t.step("a long value is cut in the message", () => {
      const long = "9".repeat(100_000);
      assert.throws(() => parseGoDuration(long), (error: Error) => {
        assert.ok(error instanceof RangeError);
        assert.ok(error.message.length < 200, `message is ${error.message.length} chars`);
        assert.ok(error.message.includes(`"${"9".repeat(64)}…"`));
        return true;
      });
    });
    await t.step("a value that is not a string", () => {
      assert.throws(() => parseGoDuration(5 as unknown as string), RangeError);
    });
  },
});

Deno.test({
  name: "formatGoDuration() writes what Go's Duration.String writes",
  permissions: "none",
  async fn(t) {
    const cases: [number, string][] = [
      [0, "0s"],
      [0.000001, "1ns"],
      [0.0011, "1.1\u00b5s"],
      [0.3, "300\u00b5s"],
      [2.2, "2.2ms"],
      [500, "500ms"],
      [1_000, "1s"],
      [1_500, "1.5s"],
      [10_000, "10s"],
      [60_000, "1m0s"],
      [75_500, "1m15.5s"],
      [300_000, "5m0s"],
      [3_600_000, "1h0m0s"],
      [5_400_000, "1h30m0s"],
      [-5_400_000, "-1h30m0s"],
      [-0.3, "-300\u00b5s"],
      [3_723_004.005006, "1h2m3.004005006s"],
      [9_223_372_036_854, "2562047h47m16.854s"],
    ];
    for (const [ms, text] of cases) {
      await t.step(`${ms} ms`, () => assert.equal(formatGoDuration(ms), text));
    }
    await t.step("what it writes reads back", () => {
      for (const [ms] of cases) {
        assert.ok(Math.abs(parseGoDuration(formatGoDuration(ms)) - ms) < 1e-6);
      }
    });
    await t.step("refuses what Go cannot hold", () => {
      for (const bad of [NaN, Infinity, -Infinity, 9_223_372_036_855, -9_223_372_036_855]) {
        assert.throws(() => formatGoDuration(bad), RangeError);
      }
    });
  },
});
