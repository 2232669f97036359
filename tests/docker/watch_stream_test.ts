import assert from "node:assert/strict";
import { WatchHub } from "../../docker/_watch/hub.ts";
import { FakeDocker, randomId } from "../_fakes/docker.ts";
import { FAST_BACKOFF, openClient, poll, WatchRecorder } from "./_watch_helpers.ts";

const unix = { ignore: Deno.build.os === "windows" };

Deno.test({
  ...unix,
  name: "WatchHub.watch() survives a broken stream: split lines, garbage, giant lines, bad UTF-8",
  async fn() {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const stop = new AbortController();
    const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
    await poll(() => engine.openEventStreams === 1, "the events stream");

    // One event cut in three writes, then three events in one write.
    const split = engine.eventLine(web.id, "pause");
    engine.writeRaw(split.slice(0, 10));
    engine.writeRaw(split.slice(10, 100));
    engine.writeRaw(split.slice(100));
    engine.writeRaw(
      engine.eventLine(web.id, "unpause") + engine.eventLine(web.id, "pause") +
        engine.eventLine(web.id, "unpause"),
    );
    await watch.untilAction("unpaused", 2);

    const bad = [
      "this is not JSON\n",
      '{"status":"start"\n',
      "[1,2,3]\n",
      '{"Type":"container","timeNano":5}\n',
      "x".repeat(2 * 1024 * 1024) + "\n",
      new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
    ];
    for (const item of bad) engine.writeRaw(item);
    engine.emit(web.id, "kill");
    await watch.untilAction("killed");
    assert.deepEqual(watch.actions, ["paused", "unpaused", "paused", "unpaused", "killed"]);
    assert.equal(watch.errors.length, bad.length, watch.errors.map((e) => e.message).join("\n"));
    const messages = watch.errors.map((error) => error.message);
    assert.match(messages[0], /not JSON/);
    assert.match(messages[2], /not a JSON object/);
    assert.match(messages[3], /no Action/);
    assert.match(messages[4], /longer than the limit of 1048576/);
    assert.match(messages[5], /UTF-8/);
    for (const message of messages) {
      assert.match(message, /^Cannot watch container "web": skipped/);
      assert.doesNotMatch(message, /xxxx|this is not/, "lines are not echoed");
    }
    stop.abort();
    await watch.closed;
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() bounds a stalled consumer: drops, says how many, force-reloads",
  async fn(t) {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, {
      backoff: FAST_BACKOFF,
      eventBuffer: 512,
      errorBuffer: 4,
    });
    const stop = new AbortController();
    const stalled = hub.watch("web", { signal: stop.signal });
    const reader = stalled.events.getReader();
    const errorReader = stalled.errors.getReader();
    const reading = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
    await poll(() => engine.openEventStreams === 1 && engine.inspectRequests === 2, "both watches");

    const flood = 5_000;
    await t.step("the reading watch gets everything while the other stalls", async () => {
      for (let i = 0; i < flood; i++) engine.emit(web.id, i % 2 === 0 ? "pause" : "unpause");
      await reading.until(() => reading.events.length === flood, `${flood} events`, 60_000);
      assert.ok(reading.actions.every((a, i) => a === (i % 2 === 0 ? "paused" : "unpaused")));
    });

    await t.step(
      "the stalled watch kept its buffer, then reports the rest as dropped",
      async () => {
        const received: string[] = [];
        for (let i = 0; i < 513; i++) received.push((await reader.read()).value!.action);
        assert.deepEqual(
          received.slice(0, 512),
          Array.from({ length: 512 }, (_, i) => i % 2 === 0 ? "paused" : "unpaused"),
        );
        assert.equal(received[512], "force-reloaded");
        const { value: error } = await errorReader.read();
        assert.match(error!.message, new RegExp(`dropped ${flood - 512} events`));
        engine.emit(web.id, "kill");
        assert.equal((await reader.read()).value!.action, "killed");
      },
    );

    await t.step("errors nobody reads are bounded the same way", async () => {
      for (let i = 0; i < 100; i++) engine.writeRaw("garbage\n");
      engine.emit(web.id, "die");
      assert.equal((await reader.read()).value!.action, "died");
      await reading.untilAction("died");
      const errors: string[] = [];
      for (let i = 0; i < 4; i++) errors.push((await errorReader.read()).value!.message);
      assert.ok(errors.every((message) => /skipped/.test(message)), errors.join("\n"));
      engine.writeRaw("garbage\n");
      const { value: summary } = await errorReader.read();
      assert.match(summary!.message, /dropped 96 errors/);
    });

    stop.abort();
    await reader.cancel();
    await errorReader.cancel();
    await reading.closed;
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() feeds 1,000 watches from one events connection",
  async fn() {
    await using engine = await FakeDocker.start({ logSize: 10_000 });
    const containers = Array.from({ length: 1000 }, (_, i) => engine.addContainer(`app-${i}`));
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const stops = containers.map(() => new AbortController());
    const watches = containers.map((container, i) =>
      new WatchRecorder(hub.watch(container.name, { signal: stops[i].signal }))
    );
    await poll(() => hub.watching === 1000, "1,000 watches to start", 60_000);
    await poll(() => engine.openEventStreams === 1, "the events stream");

    for (const container of containers) engine.emit(container.id, "pause");
    await Promise.all(watches.map((watch) => watch.untilAction("paused")));

    // Remove half the watches and add new ones while the others' events flow.
    const later: WatchRecorder[] = [];
    for (let i = 0; i < 1000; i++) {
      const container = containers[i];
      if (i % 2 === 0) stops[i].abort();
      else if (i % 10 === 1) later.push(new WatchRecorder(hub.watch(container.id)));
      engine.emit(container.id, "unpause");
    }
    for (const [i, watch] of watches.entries()) {
      if (i % 2 === 0) {
        await watch.closed;
        assert.deepEqual(watch.actions, ["paused"]);
      } else {
        await watch.untilAction("unpaused");
        assert.deepEqual(watch.actions, ["paused", "unpaused"]);
        assert.ok(watch.events.every((event) => event.actorId === containers[i].id));
      }
    }
    await poll(() => hub.watching === 500 + later.length, "the new watches to start");
    assert.equal(engine.eventsRequests, 1, "one events connection for every watch");
    for (const watch of [...watches, ...later]) assert.deepEqual(watch.errors, []);

    for (const stop of stops) stop.abort();
    for (const container of containers.filter((_, i) => i % 10 === 1)) {
      engine.emit(container.id, "destroy");
    }
    await Promise.all([...watches, ...later].map((watch) => watch.closed));
    for (const watch of later) assert.equal(watch.actions.at(-1), "destroyed");
    await poll(() => engine.openEventStreams === 0, "the stream to close with the last watch");
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() hands a watch the events that arrived while it started",
  async fn() {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    const db = engine.addContainer("db", randomId());
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const stop = new AbortController();
    const first = new WatchRecorder(hub.watch("db", { signal: stop.signal }));
    await poll(() => engine.openEventStreams === 1, "the events stream");
    // The second watch's inspection is answered after web's events went by on the stream.
    const second = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
    engine.emit(web.id, "pause");
    engine.emit(db.id, "pause");
    await first.untilAction("paused");
    await second.untilAction("paused");
    assert.deepEqual(second.actions, ["paused"]);
    stop.abort();
    await Promise.all([first.closed, second.closed]);
  },
});
