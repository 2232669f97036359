import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../errors.ts";
import {
  checkContainerId,
  containerPath,
  mapState,
  MAX_API_VERSION,
  negotiateApiVersion,
} from "../../docker/_api.ts";

Deno.test({
  name: "checkContainerId() refuses ids that could leave their path segment",
  permissions: "none",
  async fn(t) {
    const refused = [
      "",
      ".",
      "..",
      "...",
      "../../images",
      "a/b",
      "/web",
      "a?b",
      "a#b",
      "x".repeat(257),
      "a\nb",
      "a\0b",
      "\x7f",
    ];
    for (const id of refused) {
      await t.step(JSON.stringify(id), () => {
        assert.throws(() => checkContainerId(id), InvalidArgumentError);
      });
    }
    const accepted = ["web", "0123abcd", "my_app.1-2", "%2e%2e", "a b", "ünï", "a..b", ".web"];
    accepted.push("x".repeat(256));
    for (const id of accepted) {
      await t.step(`accepts ${JSON.stringify(id.slice(0, 20))}`, () => {
        assert.equal(checkContainerId(id), id);
      });
    }
  },
});

Deno.test({
  name: "checkContainerId() names the type of an id that is not a string",
  permissions: "none",
  async fn(t) {
    const cases: [unknown, string][] = [
      [42, "expected a string, got number 42"],
      [{ id: "web" }, "expected a string, got an object"],
      [["web"], "expected a string, got an array"],
      [null, "expected a string, got null"],
      [undefined, "expected a string, got undefined"],
    ];
    for (const [id, message] of cases) {
      await t.step(String(JSON.stringify(id)), () => {
        assert.throws(() => checkContainerId(id as string), (error: Error) => {
          assert.ok(error instanceof InvalidArgumentError);
          assert.match(error.message, new RegExp(message.replace(/[[\]{}]/g, "\\$&")));
          assert.doesNotMatch(error.message, /empty/);
          return true;
        });
      });
    }
  },
});

Deno.test({
  name: "checkContainerId() refuses a 100 KB id without echoing it",
  permissions: "none",
  fn() {
    const id = "a".repeat(100_000);
    assert.throws(() => checkContainerId(id), (error: Error) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.match(error.message, /100000 characters, at most 256/);
      assert.ok(error.message.length < 200);
      return true;
    });
  },
});

Deno.test({
  name: "containerPath() percent-encodes the id and leaves out empty query values",
  permissions: "none",
  fn() {
    assert.equal(containerPath("%2e%2e", "json"), "/containers/%252e%252e/json");
    assert.equal(containerPath("a b", "kill", { signal: "" }), "/containers/a%20b/kill");
    assert.equal(
      containerPath("web", "stop", { t: "2", signal: "SIGHUP" }),
      "/containers/web/stop?t=2&signal=SIGHUP",
    );
  },
});

Deno.test({
  name: "mapState() maps every Docker state",
  permissions: "none",
  fn() {
    const expected = {
      running: "running",
      restarting: "running",
      paused: "paused",
      exited: "stopped",
      created: "stopped",
      dead: "error",
      removing: "error",
      stopping: "error",
      "": "error",
      constructor: "error",
    };
    for (const [state, status] of Object.entries(expected)) {
      assert.equal(mapState(state), status, state);
    }
  },
});

Deno.test({
  name: "negotiateApiVersion() speaks the older of the daemon's version and ours",
  permissions: "none",
  fn() {
    assert.equal(negotiateApiVersion("1.41"), "1.41");
    assert.equal(negotiateApiVersion("1.9"), "1.9");
    assert.equal(negotiateApiVersion("1.99"), MAX_API_VERSION);
    assert.equal(negotiateApiVersion("2.0"), MAX_API_VERSION);
    assert.equal(negotiateApiVersion(null), "1.24");
    assert.equal(negotiateApiVersion("garbage"), "1.24");
  },
});
