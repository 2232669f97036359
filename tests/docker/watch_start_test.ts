import assert from "node:assert/strict";
import { WatchHub } from "../../docker/_watch/hub.ts";
import { type FakeContainer, FakeDocker } from "../_fakes/docker.ts";
import { FAST_BACKOFF, openClient, poll, WatchRecorder } from "./_watch_helpers.ts";

const unix = { ignore: Deno.build.os === "windows" };

/** A slow `/info` that takes its `SystemTime` when it answers, like Podman's. */
const SLOW_INFO_MS = 200;

function stopped(container: FakeContainer): FakeContainer {
  container.status = "exited";
  return container;
}

Deno.test({
  ...unix,
  name:
    "WatchHub.watch() reports a start that comes just after it was called, the clock being slow",
  async fn(t) {
    await t.step("the start comes once the inspection read the state", async () => {
      await using engine = await FakeDocker.start({ infoDelayMs: SLOW_INFO_MS });
      const web = stopped(engine.addContainer("web"));
      engine.onInspect = () => {
        engine.onInspect = undefined;
        engine.emit(web.id, "start");
      };
      using client = openClient(engine.socketPath);
      const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
      const stop = new AbortController();
      const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
      await watch.untilAction("started");
      await poll(() => hub.connected, "the stream");
      engine.emit(web.id, "die");
      await watch.untilAction("died");
      assert.deepEqual(watch.actions, ["started", "died"]);
      assert.deepEqual(watch.errors, []);
      stop.abort();
      await watch.closed;
    });

    await t.step("the start comes as the clock is asked for", async () => {
      await using engine = await FakeDocker.start({ infoDelayMs: SLOW_INFO_MS });
      const web = stopped(engine.addContainer("web"));
      engine.onInfo = () => {
        engine.onInfo = undefined;
        engine.emit(web.id, "start");
      };
      using client = openClient(engine.socketPath);
      const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
      const stop = new AbortController();
      const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
      await watch.untilAction("started");
      assert.deepEqual(watch.actions, ["started"]);
      assert.deepEqual(watch.errors, []);
      stop.abort();
      await watch.closed;
    });
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() called for many containers at once asks the daemon's clock once",
  async fn() {
    await using engine = await FakeDocker.start({ infoDelayMs: SLOW_INFO_MS });
    const containers = Array.from({ length: 10 }, (_, i) => stopped(engine.addContainer(`c${i}`)));
    // Every container starts once the first inspection read its state, before most are inspected.
    engine.onInspect = () => {
      engine.onInspect = undefined;
      for (const container of containers) engine.emit(container.id, "start");
    };
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const stop = new AbortController();
    const watches = Array.from(
      { length: 40 },
      (_, i) => new WatchRecorder(hub.watch(`c${i % 10}`, { signal: stop.signal })),
    );
    for (const watch of watches) await watch.untilAction("started");
    await poll(() => hub.watching === 40 && hub.connected, "every watch");
    assert.equal(engine.infoRequests, 1, "one clock for every watch");
    assert.equal(engine.inspectRequests, 40);
    assert.equal(engine.eventsRequests, 1);
    for (const watch of watches) {
      assert.deepEqual(watch.actions, ["started"]);
      assert.deepEqual(watch.errors, []);
    }
    stop.abort();
    await Promise.all(watches.map((watch) => watch.closed));
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() stops waiting for the daemon's clock when it ends",
  async fn(t) {
    await using engine = await FakeDocker.start({ infoDelayMs: 60_000 });
    engine.addContainer("web");
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });

    await t.step("an aborted watch closes while the clock is asked for", async () => {
      const stop = new AbortController();
      const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
      await poll(() => engine.inspectRequests === 1 && engine.infoRequests === 1, "both requests");
      stop.abort();
      await watch.closed;
      assert.deepEqual([watch.actions, watch.errors], [[], []]);
    });

    await t.step("a closed hub ends every watch waiting for the clock", async () => {
      const watches = [new WatchRecorder(hub.watch("web")), new WatchRecorder(hub.watch("web"))];
      await poll(() => engine.inspectRequests === 3, "both inspections");
      assert.equal(engine.infoRequests, 2, "a new clock: the first one was dropped with its watch");
      hub.close();
      await Promise.all(watches.map((watch) => watch.closed));
      for (const watch of watches) assert.deepEqual([watch.actions, watch.errors], [[], []]);
    });
    assert.equal(engine.eventsRequests, 0);
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() inspects again when the stream restarted since it was called, " +
    "and reports what changed",
  async fn(t) {
    for (const called of ["while the stream ran", "while no stream ran"]) {
      await t.step(called, async () => {
        await using engine = await FakeDocker.start();
        engine.addContainer("db");
        engine.addContainer("other");
        const web = stopped(engine.addContainer("web"));
        // Web's first inspection reads "exited", then waits for the test.
        const held = Promise.withResolvers<void>();
        engine.onInspect = (container) => {
          if (container !== web) return;
          engine.onInspect = undefined;
          return held.promise;
        };
        using client = openClient(engine.socketPath);
        const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
        const stop = new AbortController();
        const first = new AbortController();
        const db = new WatchRecorder(hub.watch("db", { signal: first.signal }));
        if (called === "while the stream ran") {
          await poll(() => engine.openEventStreams === 1, "the first run of the stream");
        }
        const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
        await poll(() => engine.openEventStreams === 1, "the first run of the stream");
        await poll(() => engine.onInspect === undefined, "web's inspection");
        first.abort();
        await db.closed;
        await poll(() => engine.openEventStreams === 0, "the stream to stop");
        // No stream sees this start, and the next run starts well after it.
        engine.emit(web.id, "start");
        engine.skip(100);
        const other = new WatchRecorder(hub.watch("other", { signal: stop.signal }));
        await poll(
          () => engine.openEventStreams === 1 && hub.watching === 1,
          "the second run of the stream",
        );
        held.resolve();
        await watch.untilAction("started");
        await poll(() => hub.watching === 2, "the web watch attached");
        engine.emit(web.id, "die");
        await watch.untilAction("died");
        assert.deepEqual(watch.actions, ["started", "died"]);
        assert.deepEqual(watch.errors, []);
        assert.equal(engine.requests.filter((r) => r.endsWith("/containers/web/json")).length, 2);
        stop.abort();
        await Promise.all([watch.closed, other.closed]);
      });
    }
  },
});
