import assert from "node:assert/strict";
import { ApiError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { ContainerSignal } from "../provider.ts";
import type { LogLine } from "./docker/_containers.ts";
import { FIXTURES } from "./_providers.ts";

const unix = { ignore: Deno.build.os === "windows" };

function errors(lines: LogLine[]): LogLine[] {
  return lines.filter((line) => line.level === "error");
}

Deno.test({
  ...unix,
  name: "Provider logs a failed power call at ERROR once, with its action and container",
  async fn(t) {
    for (const [runtime, start] of FIXTURES) {
      await t.step(runtime, async () => {
        await using fixture = await start();
        fixture.failNextStart();
        const error = await fixture.provider.containerStart().catch((error) => error);
        assert.ok(error instanceof ApiError, String(error));
        const logged = errors(fixture.logger.lines);
        assert.equal(logged.length, 1);
        assert.equal(logged[0].msg, error.message);
        assert.equal(logged[0].context.action, "start");
        assert.equal(logged[0].context.container, fixture.container);
        assert.equal(logged[0].context.error, error);
      });
    }
  },
});

Deno.test({
  ...unix,
  name: "Provider.containerStatus() of a missing container logs no ERROR",
  async fn(t) {
    for (const [runtime, start] of FIXTURES) {
      await t.step(runtime, async () => {
        await using fixture = await start();
        fixture.remove();
        await assert.rejects(fixture.provider.containerStatus(), NotFoundError);
        assert.deepEqual(errors(fixture.logger.lines), []);
        assert.ok(fixture.logger.calls.length > 0, "each API call is still logged at DEBUG");
      });
    }
  },
});

Deno.test({
  ...unix,
  name: "Provider.containerStatus() that cannot read the status logs one ERROR",
  async fn(t) {
    for (const [runtime, start] of FIXTURES) {
      await t.step(runtime, async () => {
        await using fixture = await start();
        fixture.refuseAll();
        const error = await fixture.provider.containerStatus().catch((error) => error);
        assert.ok(error instanceof ApiError, String(error));
        const logged = errors(fixture.logger.lines);
        assert.equal(logged.length, 1);
        assert.equal(logged[0].msg, error.message);
        assert.equal(logged[0].context.action, "status");
        assert.equal(logged[0].context.container, fixture.container);
      });
    }
  },
});

Deno.test({
  ...unix,
  name: "Provider logs no ERROR for an invalid argument or the caller's own abort",
  async fn(t) {
    for (const [runtime, start] of FIXTURES) {
      await t.step(runtime, async (t) => {
        await using fixture = await start();
        const { provider } = fixture;
        await t.step("a negative stop timeout", async () => {
          await assert.rejects(provider.containerStop("", -1), InvalidArgumentError);
        });
        await t.step("an unknown signal", async () => {
          await assert.rejects(
            provider.containerKill("SIGUSR1" as ContainerSignal),
            InvalidArgumentError,
          );
        });
        await t.step("an aborted status read and start", async () => {
          const reason = new Error("the user went away");
          const signal = AbortSignal.abort(reason);
          await assert.rejects(provider.containerStatus({ signal }), (e) => e === reason);
          await assert.rejects(provider.containerStart({ signal }), (e) => e === reason);
        });
        await t.step("a call on the closed provider", async () => {
          provider.close();
          await assert.rejects(provider.containerStart(), /closed/);
        });
        assert.deepEqual(errors(fixture.logger.lines), []);
      });
    }
  },
});
