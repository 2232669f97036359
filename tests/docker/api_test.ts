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
      "a..b",
      "a\nb",
      "a\0b",
      "\x7f",
    ];
    for (const id of refused) {
      await t.step(JSON.stringify(id), () => {
        assert.throws(() => checkContainerId(id), InvalidArgumentError);
      });
    }
    const accepted = ["web", "0123abcd", "my_app.1-2", "%2e%2e", "a b", "ünï"];
    for (const id of accepted) {
      await t.step(`accepts ${JSON.stringify(id)}`, () => assert.equal(checkContainerId(id), id));
    }
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
