import assert from "node:assert/strict";
import { ConnectionError } from "../../errors.ts";
import { FakeDocker } from "../_fakes/docker.ts";
import { FaultProxy } from "../_fakes/fault_proxy.ts";
import { hubFixture, poll, WatchRecorder } from "./_watch_helpers.ts";

const unix = { ignore: Deno.build.os === "windows" };

for (const podman of [false, true]) {
  const engineName = podman ? "Podman" : "dockerd";

  Deno.test({
    ...unix,
    name:
      `WatchHub.watch() delivers the events of an outage once, in order, then force-reloads (${engineName})`,
    async fn() {
      await using engine = await FakeDocker.start({ podman });
      const web = engine.addContainer("web");
      const db = engine.addContainer("db");
      await using proxy = await FaultProxy.start(engine.socketPath);
      await using fixture = hubFixture(proxy.socketPath);
      const watch = new WatchRecorder(fixture.hub.watch("web", { signal: fixture.signal }));
      await poll(() => engine.openEventStreams === 1, "the events stream");
      engine.emit(web.id, "pause");
      await watch.untilAction("paused");

      proxy.refuse();
      await watch.until(() => watch.errors.length >= 3, "errors while cut off");
      const gap = ["unpause", "kill", "die", "start", "pause"];
      for (const action of gap) {
        engine.emit(web.id, action);
        engine.emit(db.id, action);
      }
      proxy.restore();
      await watch.untilAction("force-reloaded");
      engine.emit(web.id, "unpause");
      await watch.untilAction("unpaused", 2);

      assert.deepEqual(watch.actions, [
        "paused",
        "unpaused",
        "killed",
        "died",
        "started",
        "paused",
        "force-reloaded",
        "unpaused",
      ]);
      assert.ok(watch.errors.every((error) => error instanceof ConnectionError));
      assert.match(watch.errors[0].message, /^Cannot watch container "web": /);
      assert.equal(engine.inspectRequests, 1, "nothing was lost: no inspection needed");
    },
  });

  Deno.test({
    ...unix,
    name: `WatchHub.watch() repeats nothing when the stream breaks amid a burst (${engineName})`,
    async fn() {
      await using engine = await FakeDocker.start({ podman, logSize: 100_000 });
      const web = engine.addContainer("web");
      await using proxy = await FaultProxy.start(engine.socketPath);
      await using fixture = hubFixture(proxy.socketPath);
      const watch = new WatchRecorder(fixture.hub.watch("web", { signal: fixture.signal }));
      await poll(() => engine.openEventStreams === 1, "the events stream");
      const total = 3_000;
      for (let i = 0; i < total; i++) {
        engine.emit(web.id, i % 2 === 0 ? "pause" : "unpause");
        if (i % 500 === 250) {
          // Let part of the burst through, then break the connection mid-stream.
          await new Promise((resolve) => setTimeout(resolve, 1));
          proxy.cut();
        }
      }
      await watch.until(
        () => watch.actions.filter((a) => a !== "force-reloaded").length >= total,
        `${total} events`,
      );
      const lifecycle = watch.actions.filter((a) => a !== "force-reloaded");
      assert.equal(lifecycle.length, total);
      assert.ok(lifecycle.every((a, i) => a === (i % 2 === 0 ? "paused" : "unpaused")));
    },
  });

  Deno.test({
    ...unix,
    name: `WatchHub.watch() explains what a daemon restart hid (${engineName})`,
    async fn(t) {
      await using engine = await FakeDocker.start({ podman });
      await using fixture = hubFixture(engine.socketPath);

      await t.step("a container that died while the daemon was down", async () => {
        const web = engine.addContainer("web");
        const watch = new WatchRecorder(fixture.hub.watch("web", { signal: fixture.signal }));
        await poll(() => engine.openEventStreams === 1, "the events stream");
        engine.emit(web.id, "pause");
        engine.emit(web.id, "unpause");
        await watch.untilAction("unpaused");
        await engine.stop();
        await watch.until(() => watch.errors.length >= 2, "errors while the daemon is down");
        web.status = "exited";
        web.exitCode = 137;
        web.finishedAt = new Date().toISOString();
        await engine.restart();
        await watch.untilAction("force-reloaded");
        assert.deepEqual(watch.actions, ["paused", "unpaused", "died", "force-reloaded"]);
        assert.equal(watch.events[2].actorAttributes.exitCode, "137");
        assert.equal(watch.events[2].actorName, "web");
        engine.emit(web.id, "start");
        await watch.untilAction("started");
        engine.emit(web.id, "destroy");
        await watch.closed;
        await poll(() => engine.openEventStreams === 0, "the stream to close");
      });

      await t.step("a container removed while the daemon was down", async () => {
        const db = engine.addContainer("db");
        const watch = new WatchRecorder(fixture.hub.watch("db", { signal: fixture.signal }));
        await poll(() => engine.openEventStreams === 1, "the events stream");
        engine.emit(db.id, "pause");
        await watch.untilAction("paused");
        await engine.stop();
        engine.emit(db.id, "destroy"); // logged, but the restart forgets it
        await engine.restart();
        await watch.closed;
        assert.deepEqual(watch.actions, ["paused", "destroyed"]);
        await poll(() => engine.openEventStreams === 0, "the stream to close");
      });

      await t.step("a container that did not change", async () => {
        const cache = engine.addContainer("cache");
        const watch = new WatchRecorder(fixture.hub.watch("cache", { signal: fixture.signal }));
        await poll(() => engine.openEventStreams === 1, "the events stream");
        await engine.restart();
        await watch.untilAction("force-reloaded");
        engine.emit(cache.id, "pause");
        await watch.untilAction("paused");
        assert.deepEqual(watch.actions, ["force-reloaded", "paused"]);
        engine.emit(cache.id, "destroy");
        await watch.closed;
      });
    },
  });
}
