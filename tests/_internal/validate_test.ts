import assert from "node:assert/strict";
import { checkSignal, checkStopTimeout, MAX_STOP_TIMEOUT } from "../../_internal/validate.ts";
import { InvalidArgumentError } from "../../errors.ts";
import { type ContainerSignal, parseContainerSignal } from "../../provider.ts";

const STOP = { runtime: "docker", action: "stop", container: "web" } as const;

Deno.test({
  name: "checkStopTimeout() accepts whole seconds from 0 to MAX_STOP_TIMEOUT",
  permissions: "none",
  async fn(t) {
    assert.equal(MAX_STOP_TIMEOUT, 2 ** 31 - 1);
    for (const good of [0, 1, 60, MAX_STOP_TIMEOUT]) {
      await t.step(String(good), () => assert.equal(checkStopTimeout(good, STOP), good));
    }
    const bad: [unknown, string][] = [
      [-1, "-1"],
      [1.5, "1.5"],
      [NaN, "NaN"],
      [Infinity, "Infinity"],
      [MAX_STOP_TIMEOUT + 1, String(MAX_STOP_TIMEOUT + 1)],
      ["10", '"10"'],
      [undefined, "undefined"],
    ];
    for (const [value, shown] of bad) {
      await t.step(`refuses ${shown}`, () => {
        assert.throws(() => checkStopTimeout(value as number, STOP), (error: Error) => {
          assert.ok(error instanceof InvalidArgumentError);
          assert.equal(
            error.message,
            `Invalid stop timeout ${shown} for container "web": ` +
              "expected whole seconds, 0 to 2147483647",
          );
          assert.equal(error.runtime, "docker");
          assert.equal(error.action, "stop");
          assert.equal(error.container, "web");
          return true;
        });
      });
    }
  },
});

Deno.test({
  name: "checkSignal() refuses what parseContainerSignal() refuses, naming the container",
  permissions: "none",
  fn() {
    const kill = { runtime: "proxmox", action: "kill", container: "101" } as const;
    assert.equal(checkSignal("SIGHUP", kill), "SIGHUP");
    assert.equal(checkSignal("", kill), "");
    for (const bad of ["sigterm", "SIGUSR1", "9", 9, undefined]) {
      assert.throws(() => parseContainerSignal(bad as string), InvalidArgumentError);
      assert.throws(() => checkSignal(bad as ContainerSignal, kill), (error: Error) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.match(error.message, /^Invalid signal \S+ for container "101": expected one of /);
        assert.equal(error.runtime, "proxmox");
        assert.equal(error.action, "kill");
        assert.equal(error.container, "101");
        return true;
      });
    }
    assert.throws(
      () => parseContainerSignal("SIGFOO"),
      {
        message: 'Invalid signal "SIGFOO": expected one of SIGINT, SIGTERM, SIGKILL, SIGQUIT, ' +
          'SIGHUP, INT, TERM, KILL, QUIT, HUP, or "" for the runtime\'s default',
      },
    );
  },
});
