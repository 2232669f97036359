import assert from "node:assert/strict";
import { withDeadline } from "../../_internal/deadline.ts";

/** Resolves when `signal` aborts, rejecting with its reason, like an I/O call would. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

const onTimeout = () => new Error("timed out");
const onClosed = () => new Error("closed");

Deno.test("withDeadline() tells the caller's abort, the close and the deadline apart", async (t) => {
  await t.step("the caller's abort rejects with its reason", async () => {
    const caller = new AbortController();
    const reason = new Error("caller gave up");
    const closed = new AbortController();
    const call = withDeadline(
      { signal: caller.signal, closed: closed.signal, ms: 60_000, onTimeout, onClosed },
      untilAborted,
    );
    caller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });

  await t.step("closing rejects with onClosed()", async () => {
    const closed = new AbortController();
    const call = withDeadline(
      { closed: closed.signal, ms: 60_000, onTimeout, onClosed },
      untilAborted,
    );
    closed.abort();
    await assert.rejects(call, /closed/);
  });

  await t.step("the deadline rejects with onTimeout()", async () => {
    const closed = new AbortController();
    await assert.rejects(
      withDeadline({ closed: closed.signal, ms: 10, onTimeout, onClosed }, untilAborted),
      /timed out/,
    );
  });

  await t.step("an already aborted caller signal rejects before the call starts", async () => {
    const reason = new Error("too late");
    let started = false;
    await assert.rejects(
      withDeadline(
        {
          signal: AbortSignal.abort(reason),
          closed: new AbortController().signal,
          ms: 10,
          onTimeout,
          onClosed,
        },
        () => {
          started = true;
          return Promise.resolve();
        },
      ),
      (error) => error === reason,
    );
    assert.equal(started, false);
  });

  await t.step("other failures pass through", async () => {
    const failure = new TypeError("boom");
    await assert.rejects(
      withDeadline(
        { closed: new AbortController().signal, ms: 60_000, onTimeout, onClosed },
        () => Promise.reject(failure),
      ),
      (error) => error === failure,
    );
  });
});
