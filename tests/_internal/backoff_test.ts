import assert from "node:assert/strict";
import { backoff } from "../../_internal/backoff.ts";

/** The first `count` waits of a backoff. */
function first(count: number, waits: Generator<number>): number[] {
  return Array.from({ length: count }, () => waits.next().value);
}

Deno.test("backoff() grows by its multiplier up to maxTimeout", async (t) => {
  await t.step("doubling", () => {
    const waits = backoff({ minTimeout: 100, maxTimeout: 1_000, multiplier: 2 });
    assert.deepEqual(first(6, waits), [100, 200, 400, 800, 1_000, 1_000]);
  });
  await t.step("by half", () => {
    const waits = backoff({ minTimeout: 15, maxTimeout: 60, multiplier: 1.5 });
    assert.deepEqual(first(5, waits), [15, 22.5, 33.75, 50.625, 60]);
  });
  await t.step("a minTimeout above maxTimeout is capped too", () => {
    const waits = backoff({ minTimeout: 100, maxTimeout: 40, multiplier: 2 });
    assert.deepEqual(first(3, waits), [40, 40, 40]);
  });
  await t.step("a jitter of 0 takes nothing off", () => {
    const waits = backoff({ minTimeout: 5, maxTimeout: 40, multiplier: 2, jitter: 0 });
    assert.deepEqual(first(5, waits), [5, 10, 20, 40, 40]);
  });
});

Deno.test("backoff() takes off at most its jitter's share of each wait", () => {
  const waits = backoff({ minTimeout: 100, maxTimeout: 400, multiplier: 2, jitter: 0.5 });
  const plain = [100, 200, 400, 400, 400, 400, 400, 400];
  const jittered = first(plain.length, waits);
  jittered.forEach((wait, i) => {
    assert.ok(
      wait > plain[i] / 2 && wait <= plain[i],
      `${wait} within (${plain[i] / 2}, ${plain[i]}]`,
    );
  });
  assert.notDeepEqual(jittered, plain, "some waits shortened");
});
