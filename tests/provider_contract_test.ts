import assert from "node:assert/strict";
import { MAX_STOP_TIMEOUT } from "../_internal/validate.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { ContainerSignal, Provider } from "../provider.ts";
import { FIXTURES } from "./_providers.ts";

const unix = { ignore: Deno.build.os === "windows" };

const TIMEOUT_RULE = "expected whole seconds, 0 to 2147483647";
const SIGNAL_RULE = "expected one of SIGINT, SIGTERM, SIGKILL, SIGQUIT, SIGHUP, INT, TERM, " +
  `KILL, QUIT, HUP, or "" for the runtime's default`;

/** A call with one bad argument, and the error it must reject with. */
interface BadCall {
  /** The argument, as the message shows it: `1.5`, `"5"`. */
  shown: string;
  action: "stop" | "kill";
  /** The message's start, before ` for container "<container>"`. */
  what: string;
  /** The message's end, after `: `. */
  rule: string;
  call(provider: Provider): Promise<void>;
}

function badTimeout(timeout: unknown, shown: string): BadCall {
  return {
    shown,
    action: "stop",
    what: `Invalid stop timeout ${shown}`,
    rule: TIMEOUT_RULE,
    call: (provider) => provider.containerStop("SIGTERM", timeout as number),
  };
}

function badSignal(action: "stop" | "kill", signal: unknown, shown: string): BadCall {
  return {
    shown,
    action,
    what: `Invalid signal ${shown}`,
    rule: SIGNAL_RULE,
    call: (provider) =>
      action === "stop"
        ? provider.containerStop(signal as ContainerSignal, 1)
        : provider.containerKill(signal as ContainerSignal),
  };
}

const BAD: readonly BadCall[] = [
  badTimeout(-1, "-1"),
  badTimeout(1.5, "1.5"),
  badTimeout(NaN, "NaN"),
  badTimeout(Infinity, "Infinity"),
  badTimeout(MAX_STOP_TIMEOUT + 1, "2147483648"),
  badTimeout("5", '"5"'),
  badSignal("stop", "SIGUSR1", '"SIGUSR1"'),
  badSignal("kill", "sigkill", '"sigkill"'),
  badSignal("kill", 9, "9"),
];

Deno.test({
  ...unix,
  name: "Provider refuses a bad stop timeout or signal the same way on both runtimes",
  async fn(t) {
    for (const [runtime, start] of FIXTURES) {
      await t.step(runtime, async (t) => {
        await using fixture = await start();
        for (const bad of BAD) {
          await t.step(`${bad.action} with ${bad.shown}`, async () => {
            const error = await bad.call(fixture.provider).catch((error) => error);
            assert.ok(error instanceof InvalidArgumentError, String(error));
            assert.equal(
              error.message,
              `${bad.what} for container ${JSON.stringify(fixture.container)}: ${bad.rule}`,
            );
            assert.equal(error.runtime, fixture.runtime);
            assert.equal(error.action, bad.action);
            assert.equal(error.container, fixture.container);
          });
        }
        assert.deepEqual(fixture.requests(), [], "no request for a bad argument");
        assert.deepEqual(fixture.logger.lines.filter((line) => line.level === "error"), []);
      });
    }
  },
});

Deno.test({
  ...unix,
  name: "Provider.containerStop() takes whole seconds up to MAX_STOP_TIMEOUT on both runtimes",
  async fn(t) {
    for (const [runtime, start] of FIXTURES) {
      await t.step(runtime, async (t) => {
        await using fixture = await start();
        for (const timeout of [0, MAX_STOP_TIMEOUT]) {
          await t.step(String(timeout), async () => {
            await fixture.provider.containerStop("", timeout);
            assert.equal(await fixture.provider.containerStatus(), "stopped");
          });
        }
        assert.ok(fixture.requests().some((line) => line.startsWith("POST ")));
      });
    }
  },
});
