import assert from "node:assert/strict";
import { Action, type Event } from "../../events/mod.ts";
import { WATCH_BUFFER, WatchSink } from "../../proxmox/_watch.ts";

function event(action: Action): Event {
  return {
    type: "proxmox",
    actorId: "101",
    actorName: "web",
    actorAttributes: { node: "pve" },
    action,
    time: new Date(),
  };
}

function sink(signal?: AbortSignal): { sink: WatchSink; ended: () => number } {
  let ends = 0;
  const created = new WatchSink({
    signal,
    reloadEvent: () => event(Action.ForceReload),
    onEnd: () => ends++,
  });
  return { sink: created, ended: () => ends };
}

async function drain<T>(stream: ReadableStream<T>): Promise<T[]> {
  return await Array.fromAsync(stream);
}

Deno.test("WatchSink drops events beyond its bound, then tells the reader to reload", {
  permissions: "none",
}, async () => {
  const { sink: watch } = sink();
  for (let i = 0; i < WATCH_BUFFER + 10; i++) {
    watch.event(event(i % 2 ? Action.ContainerStart : Action.ContainerStop));
  }
  const reader = watch.streams.events.getReader();
  const first = await reader.read();
  assert.equal(first.value?.action, Action.ContainerStop);
  watch.end();
  const rest: Event[] = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    rest.push(read.value);
  }
  assert.equal(rest.length, WATCH_BUFFER);
  assert.equal(rest.at(-1)?.action, Action.ForceReload);
  await drain(watch.streams.errors);
});

Deno.test(
  "WatchSink ends once, on abort, and queues nothing after",
  { permissions: "none" },
  async () => {
    const controller = new AbortController();
    const { sink: watch, ended } = sink(controller.signal);
    watch.event(event(Action.ContainerStart));
    watch.error(new Error("poll failed"));
    controller.abort();
    watch.event(event(Action.ContainerStop));
    watch.error(new Error("late"));
    watch.end();
    assert.equal(ended(), 1);
    assert.deepEqual((await drain(watch.streams.events)).map((e) => e.action), [
      Action.ContainerStart,
    ]);
    assert.deepEqual((await drain(watch.streams.errors)).map((e) => e.message), ["poll failed"]);
  },
);

Deno.test(
  "WatchSink ends when a reader cancels either stream",
  { permissions: "none" },
  async (t) => {
    for (const which of ["events", "errors"] as const) {
      await t.step(which, async () => {
        const { sink: watch, ended } = sink();
        await watch.streams[which].cancel();
        assert.equal(ended(), 1);
        assert.ok(watch.ended);
        const other = which === "events" ? watch.streams.errors : watch.streams.events;
        assert.deepEqual(await drain(other as ReadableStream<unknown>), []);
      });
    }
  },
);

Deno.test("WatchSink given an aborted signal starts ended", { permissions: "none" }, async () => {
  const { sink: watch, ended } = sink(AbortSignal.abort());
  assert.equal(ended(), 1);
  assert.deepEqual(await drain(watch.streams.events), []);
});
