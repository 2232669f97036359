import assert from "node:assert/strict";
import { ConnectionError } from "../../errors.ts";
import type { Event } from "../../events/mod.ts";
import { EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { hubFixture, poll, WatchRecorder } from "./_watch_helpers.ts";

/** Exits on SIGTERM, so that a stop is a clean TERM, die, stop on every engine. */
const COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"];

/** What each engine reports for the sequence below. */
const EXPECTED: Record<string, string[]> = {
  docker: [
    "started",
    "paused",
    "unpaused",
    "killed",
    "died",
    "started",
    "killed",
    "died",
    "stopped",
    "destroyed",
  ],
  podman: [
    "started",
    "paused",
    "unpaused",
    "killed",
    "died",
    // Podman 4.3 reports a stop that the container obeys without kill, and its stop only
    // sometimes: stopped is left out of the comparison.
    "started",
    "died",
    "destroyed",
  ],
};

Deno.test("WatchHub.watch() follows a real container, and only it", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("watch");
      const id = await api.createContainer({ name, cmd: COMMAND });
      // dockerd's `container` filter matches these by prefix; they must stay out.
      const twins = [
        await api.createContainer({ name: `${name}-twin`, cmd: COMMAND }),
        await api.createContainer({ name: `${id.slice(0, 12)}-twin`, cmd: COMMAND }),
      ];
      await using fixture = hubFixture(engine.socketPath);
      const byName = new WatchRecorder(fixture.hub.watch(name, { signal: fixture.signal }));
      const byShortId = new WatchRecorder(
        fixture.hub.watch(id.slice(0, 12), { signal: fixture.signal }),
      );
      await poll(() => fixture.hub.watching === 2 && fixture.hub.connected, "the watches");

      for (const target of [id, ...twins]) await api.start(target);
      for (const target of [id, ...twins]) await api.pause(target);
      for (const target of [id, ...twins]) await api.unpause(target);
      for (const target of [id, ...twins]) await api.kill(target);
      for (const target of [id, ...twins]) await api.start(target);
      for (const target of [id, ...twins]) await api.stop(target, 10);
      for (const target of [id, ...twins]) await api.remove(target);

      for (const watch of [byName, byShortId]) {
        await watch.closed;
        const actions = engine.name === "podman"
          ? watch.actions.filter((action) => action !== "stopped")
          : watch.actions;
        assert.deepEqual(actions, EXPECTED[engine.name]);
        assert.deepEqual(watch.errors, []);
        for (const event of watch.events) checkEvent(event, id, name);
      }
      const died = byName.events.filter((event) => event.action === "died");
      assert.deepEqual(died.map((event) => event.actorAttributes.exitCode), ["137", "0"]);
      const times = byName.events.map((event) => event.time.getTime());
      assert.deepEqual(times, [...times].sort((a, b) => a - b), "in time order");
    });
  }
});

function checkEvent(event: Event, id: string, name: string): void {
  assert.equal(event.type, "docker");
  assert.equal(event.actorId, id);
  assert.equal(event.actorName, name);
  assert.equal(event.actorAttributes.name, name);
  assert.match(event.actorAttributes.image, /idlewatcher-busybox/);
  assert.ok(Math.abs(event.time.getTime() - Date.now()) < 600_000, "a recent time");
}

/** Rounds of watch(), then a start at once: each round begins with no stream running. */
const START_ROUNDS = 20;

Deno.test("WatchHub.watch() reports a start sent right after it was called", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("watch-start");
      const id = await api.createContainer({ name, cmd: COMMAND });
      await using fixture = hubFixture(engine.socketPath);
      for (let round = 1; round <= START_ROUNDS; round++) {
        const stop = new AbortController();
        const signal = AbortSignal.any([stop.signal, fixture.signal]);
        const watch = new WatchRecorder(fixture.hub.watch(name, { signal }));
        await api.start(id);
        await watch.until(
          () => watch.actions.includes("started"),
          `the start of round ${round} of ${START_ROUNDS}`,
        );
        await api.kill(id);
        await watch.untilAction("died");
        stop.abort();
        await watch.closed;
        // A stream the daemon ends is resumed (and reported); it is not what this test is about.
        for (const error of watch.errors) {
          assert.ok(error instanceof ConnectionError, `round ${round}: ${error.message}`);
        }
        await poll(
          () => fixture.hub.watching === 0 && !fixture.hub.connected,
          "the stream to stop between rounds",
        );
      }
    });
  }
});
