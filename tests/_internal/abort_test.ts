import assert from "node:assert/strict";
import { delay, raceSignal, timeoutSignal } from "../../_internal/abort.ts";

const THIRTY_DAYS = 30 * 24 * 60 * 60 * 1000;
const LONGEST_TIMER = 2 ** 31 - 1;

/** Resolves once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Lets timers of a few milliseconds run. */
function moment(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 30));
}

Deno.test("timeoutSignal() aborts with a TimeoutError after its delay", async () => {
  const signal = timeoutSignal(1);
  await aborted(signal);
  assert.ok(signal.reason instanceof DOMException);
  assert.equal(signal.reason.name, "TimeoutError");
});

Deno.test("timeoutSignal() does not abort at once when the delay exceeds a timer's", async (t) => {
  for (const ms of [LONGEST_TIMER, LONGEST_TIMER + 1, THIRTY_DAYS, Infinity]) {
    await t.step(String(ms), async () => {
      const signal = timeoutSignal(ms);
      await moment();
      assert.equal(signal.aborted, false);
    });
  }
});

Deno.test("timeoutSignal() refuses a negative delay like AbortSignal.timeout()", () => {
  assert.throws(() => timeoutSignal(-1), TypeError);
});

Deno.test("delay() resolves after its delay", async (t) => {
  for (const ms of [0, 1, -5, NaN]) {
    await t.step(String(ms), () => delay(ms));
  }
  await t.step("with a signal that does not abort", () => {
    return delay(1, { signal: new AbortController().signal });
  });
});

Deno.test("delay() rejects with the signal's reason and leaves no timer", async (t) => {
  const reason = new Error("gave up");
  await t.step("an aborted signal", async () => {
    await assert.rejects(delay(10, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });
  await t.step("a signal that aborts while it waits", async () => {
    const controller = new AbortController();
    const waiting = delay(60_000, { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
  });
});

Deno.test("delay() waits, not resolves at once, when the delay exceeds a timer's", async (t) => {
  for (const ms of [LONGEST_TIMER + 1, THIRTY_DAYS, Infinity]) {
    await t.step(String(ms), async () => {
      const controller = new AbortController();
      let resolved = false;
      const waiting = delay(ms, { signal: controller.signal }).then(() => resolved = true);
      await moment();
      assert.equal(resolved, false);
      controller.abort(new Error("done"));
      await assert.rejects(waiting, /done/);
    });
  }
});

Deno.test("raceSignal() settles with the promise unless the signal aborts first", async (t) => {
  const reason = new Error("gave up");
  await t.step("resolves", async () => {
    assert.equal(await raceSignal(Promise.resolve(7), new AbortController().signal), 7);
  });
  await t.step("rejects", async () => {
    const failure = new Error("failed");
    await assert.rejects(
      raceSignal(Promise.reject(failure), new AbortController().signal),
      (e) => e === failure,
    );
  });
  await t.step("without a signal", async () => {
    assert.equal(await raceSignal(Promise.resolve("same")), "same");
  });
  await t.step("an aborted signal rejects at once", async () => {
    const never = new Promise<never>(() => {});
    await assert.rejects(raceSignal(never, AbortSignal.abort(reason)), (e) => e === reason);
  });
  await t.step("a signal that aborts while it waits; the promise goes on", async () => {
    const controller = new AbortController();
    const { promise, resolve } = Promise.withResolvers<string>();
    const racing = raceSignal(promise, controller.signal);
    controller.abort(reason);
    await assert.rejects(racing, (e) => e === reason);
    resolve("late");
    assert.equal(await promise, "late");
  });
});
