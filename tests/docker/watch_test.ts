import assert from "node:assert/strict";
import { ConnectionError, NotFoundError } from "../../errors.ts";
import { WatchHub } from "../../docker/_watch/hub.ts";
import { newDockerProvider } from "../../docker/mod.ts";
import { FakeDocker, randomId } from "../_fakes/docker.ts";
import { RecordingLogger } from "./_containers.ts";
import { FAST_BACKOFF, openClient, poll, WatchRecorder } from "./_watch_helpers.ts";

const unix = { ignore: Deno.build.os === "windows" };

Deno.test({
  ...unix,
  name: "WatchHub.watch() reports its container's lifecycle, and nothing of prefix-sharing ones",
  async fn() {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web", randomId("0123abcd"));
    // dockerd's `container` filter matches names and ids by prefix: these would leak in.
    const twin = engine.addContainer("web-2", randomId("0123abce"));
    const namesake = engine.addContainer("0123abcd-copy");
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const stop = new AbortController();
    const byId = new WatchRecorder(hub.watch("0123abcd", { signal: stop.signal }));
    const byName = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
    await poll(() => engine.inspectRequests === 2, "both watches to start");
    await poll(() => engine.openEventStreams === 1, "the events stream");

    const sequence = ["pause", "unpause", "kill", "die", "stop", "start"];
    for (const action of sequence) {
      engine.emit(twin.id, action);
      engine.emit(namesake.id, action);
      engine.emit(web.id, action, action === "kill" ? { signal: "9" } : {});
      engine.emit(web.id, "exec_start: sh -c true");
      engine.emit(twin.id, "health_status: healthy");
    }
    for (const recorder of [byId, byName]) {
      await recorder.untilAction("started");
      assert.deepEqual(recorder.actions, [
        "paused",
        "unpaused",
        "killed",
        "died",
        "stopped",
        "started",
      ]);
      for (const event of recorder.events) {
        assert.equal(event.type, "docker");
        assert.equal(event.actorId, web.id);
        assert.equal(event.actorName, "web");
        assert.equal(event.actorAttributes.image, "busybox");
        assert.ok(event.time instanceof Date && !Number.isNaN(event.time.getTime()));
      }
      assert.equal(recorder.events[2].actorAttributes.signal, "9");
      assert.deepEqual(recorder.errors, []);
    }
    assert.equal(engine.eventsRequests, 1, "one events stream for both watches");
    stop.abort();
    await Promise.all([byId.closed, byName.closed]);
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() ends with the container: destroyed, then both streams close",
  async fn() {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const watch = new WatchRecorder(hub.watch("web"));
    await poll(() => engine.openEventStreams === 1, "the events stream");
    engine.emit(web.id, "die");
    engine.emit(web.id, "destroy");
    await watch.closed;
    assert.deepEqual(watch.actions, ["died", "destroyed"]);
    await poll(() => engine.openEventStreams === 0, "the stream to close with the last watch");
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() ends on abort and on cancel, and reports nothing after",
  async fn(t) {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });

    await t.step("an aborted signal", async () => {
      const stop = new AbortController();
      const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
      await poll(() => engine.openEventStreams === 1, "the events stream");
      engine.emit(web.id, "pause");
      await watch.untilAction("paused");
      stop.abort();
      engine.emit(web.id, "unpause");
      await watch.closed;
      assert.deepEqual(watch.actions, ["paused"]);
      await poll(() => engine.openEventStreams === 0, "the stream to close");
    });

    await t.step("a signal aborted before the call", async () => {
      const watch = new WatchRecorder(hub.watch("web", { signal: AbortSignal.abort() }));
      await watch.closed;
      assert.deepEqual([watch.actions, watch.errors], [[], []]);
    });

    // A watch's replay starts a little before its call (by up to the round trip of the
    // daemon's clock reading): the engine's clock moves on, so the earlier steps' events stay out.
    await t.step("a cancelled events reader ends the watch, errors included", async () => {
      engine.skip(1_000);
      const { events, errors } = hub.watch("web");
      const reader = events.getReader();
      await poll(() => engine.openEventStreams === 1, "the events stream");
      engine.emit(web.id, "unpause");
      assert.equal((await reader.read()).value?.action, "unpaused");
      await reader.cancel();
      const errorsRead = await Array.fromAsync(errors);
      assert.deepEqual(errorsRead, []);
      await poll(() => engine.openEventStreams === 0, "the stream to close");
    });

    await t.step("a cancelled errors reader ends the watch, events included", async () => {
      engine.skip(1_000);
      const { events, errors } = hub.watch("web");
      await poll(() => engine.openEventStreams === 1, "the events stream");
      await errors.cancel();
      const eventsRead = await Array.fromAsync(events);
      assert.deepEqual(eventsRead, []);
      await poll(() => engine.openEventStreams === 0, "the stream to close");
    });
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() of a missing container reports NotFoundError and closes",
  async fn() {
    await using engine = await FakeDocker.start();
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const watch = new WatchRecorder(hub.watch("ghost"));
    await watch.closed;
    assert.deepEqual(watch.actions, []);
    assert.equal(watch.errors.length, 1);
    assert.ok(watch.errors[0] instanceof NotFoundError);
    assert.match(watch.errors[0].message, /container "ghost"/);
    assert.equal(engine.eventsRequests, 0, "no stream for a watch that never started");
  },
});

Deno.test({
  ...unix,
  name: "WatchHub.watch() retries its start while the daemon is down",
  async fn() {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    await engine.stop();
    using client = openClient(engine.socketPath);
    const hub = new WatchHub(client, { backoff: FAST_BACKOFF });
    const stop = new AbortController();
    const watch = new WatchRecorder(hub.watch("web", { signal: stop.signal }));
    await watch.until(() => watch.errors.length >= 3, "three failed starts");
    assert.ok(watch.errors.every((error) => error instanceof ConnectionError));
    await engine.restart();
    await poll(() => engine.openEventStreams === 1, "the events stream");
    engine.emit(web.id, "pause");
    await watch.untilAction("paused");
    assert.deepEqual(watch.actions, ["paused"]);
    stop.abort();
    await watch.closed;
  },
});

Deno.test({
  ...unix,
  name: "DockerProvider.watch() shares one stream between providers and ends when closed",
  async fn() {
    await using engine = await FakeDocker.start();
    const web = engine.addContainer("web");
    const db = engine.addContainer("db");
    const webProvider = newDockerProvider({ socketPath: engine.socketPath }, "web");
    using dbProvider = newDockerProvider({ socketPath: engine.socketPath }, db.id.slice(0, 12));
    const stop = new AbortController();
    const webWatch = new WatchRecorder(webProvider.watch());
    const webWatch2 = new WatchRecorder(webProvider.watch());
    const dbWatch = new WatchRecorder(dbProvider.watch({ signal: stop.signal }));
    await poll(() => engine.inspectRequests === 3 && engine.openEventStreams === 1, "the stream");
    engine.emit(web.id, "pause");
    engine.emit(db.id, "pause");
    await webWatch.untilAction("paused");
    await webWatch2.untilAction("paused");
    await dbWatch.untilAction("paused");
    assert.equal(engine.eventsRequests, 1, "the providers share one stream");

    webProvider.close();
    await Promise.all([webWatch.closed, webWatch2.closed]);
    engine.emit(db.id, "unpause");
    await dbWatch.untilAction("unpaused");
    const late = new WatchRecorder(webProvider.watch());
    await late.closed;
    assert.deepEqual([late.actions, late.errors], [[], []], "a closed provider watches nothing");

    stop.abort();
    await dbWatch.closed;
    assert.deepEqual(webWatch.actions, ["paused"]);
    assert.deepEqual(webWatch2.actions, ["paused"]);
    assert.deepEqual(dbWatch.actions, ["paused", "unpaused"]);
    await poll(() => engine.openEventStreams === 0, "the stream to close with the last watch");
  },
});

Deno.test({
  ...unix,
  name:
    "DockerProvider.watch() logs to its own provider's logger, and nothing after that one closed",
  async fn() {
    await using engine = await FakeDocker.start();
    const db = engine.addContainer("db");
    engine.addContainer("web");
    const webLogger = new RecordingLogger();
    const dbLogger = new RecordingLogger();
    const webProvider = newDockerProvider(
      { socketPath: engine.socketPath, logger: webLogger },
      "web",
    );
    using dbProvider = newDockerProvider({ socketPath: engine.socketPath, logger: dbLogger }, "db");
    const stop = new AbortController();
    const webWatch = new WatchRecorder(webProvider.watch());
    await poll(() => engine.openEventStreams === 1, "the stream, opened for the web watch");
    const dbWatch = new WatchRecorder(dbProvider.watch({ signal: stop.signal }));
    await poll(() => engine.inspectRequests === 2, "the db watch's inspection");
    engine.emit(db.id, "pause");
    await dbWatch.untilAction("paused");
    const inspections = (logger: RecordingLogger) =>
      logger.calls.filter((call) => /^GET \S*\/containers\/\S+\/json 200$/.test(call));
    assert.match(inspections(webLogger).join(), /\/containers\/web\/json/);
    assert.doesNotMatch(inspections(webLogger).join(), /\/containers\/db\//);
    assert.match(inspections(dbLogger).join(), /\/containers\/db\/json/);
    assert.doesNotMatch(inspections(dbLogger).join(), /\/containers\/web\//);

    webProvider.close();
    const webLinesAtClose = webLogger.lines.length;
    await webWatch.closed;
    const dbLinesAtClose = dbLogger.lines.length;
    // The same logger twice: each of the stream's lines reaches it once.
    const dbWatch2 = new WatchRecorder(dbProvider.watch({ signal: stop.signal }));
    await poll(() => engine.inspectRequests === 3, "the second db watch's inspection");
    engine.cutEvents();
    await dbWatch.untilAction("force-reloaded");
    await dbWatch2.untilAction("force-reloaded");
    engine.emit(db.id, "unpause");
    await dbWatch.untilAction("unpaused");
    await dbWatch2.untilAction("unpaused");
    stop.abort();
    await Promise.all([dbWatch.closed, dbWatch2.closed]);

    assert.equal(webLogger.lines.length, webLinesAtClose, "nothing logged to a closed provider");
    const dbLines = dbLogger.lines.slice(dbLinesAtClose);
    const lost = dbLines.filter((line) => /event stream .* lost/.test(line.msg));
    assert.equal(lost.length, 1, "the drop, logged once to the provider of two watches");
    const dbCalls = dbLines.filter((line) => typeof line.context.path === "string")
      .map((line) => `${line.context.method} ${line.context.path}`);
    assert.equal(dbCalls.filter((call) => /\/containers\/db\/json$/.test(call)).length, 1);
    assert.ok(dbCalls.some((call) => /\/_ping$/.test(call)), "the resync's ping");
    assert.equal(
      dbCalls.filter((call) => /\/events\?/.test(call)).length,
      2,
      "the gap's replay and the new stream",
    );
  },
});
