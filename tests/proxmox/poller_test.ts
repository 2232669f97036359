import assert from "node:assert/strict";
import { ConnectionError } from "../../errors.ts";
import { Action, type Event } from "../../events/mod.ts";
import { resolveConfig } from "../../proxmox/_config.ts";
import { StatusPoller } from "../../proxmox/_poller.ts";
import { Transport } from "../../proxmox/_transport.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";
import { requestLines, setup, until, within } from "./_setup.ts";

const LIST = "GET /nodes/pve/lxc";

/** Reads a stream into an array as it goes; `done` settles when the stream closes. */
function collect<T>(stream: ReadableStream<T>): { items: T[]; done: Promise<void> } {
  const items: T[] = [];
  const done = (async () => {
    for await (const item of stream) items.push(item);
  })();
  return { items, done };
}

function actions(events: Event[]): string[] {
  return events.map((event) => event.action);
}

Deno.test("ProxmoxProvider.watch() reports state changes after a silent baseline", async () => {
  await using s = await setup({ watchInterval: 0.1 });
  s.fake.addNode("pve2", { criu: true });
  s.fake.addCt("pve2", 101, { name: "web", status: "running" });
  using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
  const { events, errors } = provider.watch();
  const seen = collect(events);
  const failures = collect(errors);
  await until(() => s.fake.requests.filter((r) => r.path.endsWith("/nodes/pve2/lxc")).length >= 2);
  assert.equal(seen.items.length, 0, "the first poll is a baseline");

  s.fake.setCt(101, { status: "stopped" });
  await until(() => seen.items.length === 1);
  s.fake.setCt(101, { status: "running" });
  await until(() => seen.items.length === 2);
  await provider.containerPause();
  await until(() => seen.items.length === 3);
  await provider.containerUnpause();
  await until(() => seen.items.length === 4);
  s.fake.setCt(101, { name: "web2" });
  s.fake.removeCt(101);
  await seen.done;
  await failures.done;

  assert.deepEqual(actions(seen.items), [
    Action.ContainerStop,
    Action.ContainerStart,
    Action.ContainerPause,
    Action.ContainerUnpause,
    Action.ContainerDestroy,
  ]);
  for (const event of seen.items) {
    assert.equal(event.type, "proxmox");
    assert.equal(event.actorId, "101");
    assert.deepEqual(event.actorAttributes, { node: "pve2" });
    assert.ok(event.time instanceof Date);
  }
  assert.equal(seen.items[0].actorName, "web");
  assert.equal(failures.items.length, 0);
});

Deno.test("ProxmoxProvider.watch() follows a CT migrated to another node", async () => {
  await using s = await setup({ watchInterval: 0.1 });
  s.fake.addNode("pve2");
  s.fake.addCt("pve", 101, { name: "web", status: "running" });
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  const { events, errors } = provider.watch();
  const seen = collect(events);
  const failures = collect(errors);
  await until(() => requestLines(s.fake).filter((line) => line === LIST).length >= 2);
  // A restart migration: stopped, moved, started on the target node.
  s.fake.setCt(101, { status: "stopped" });
  await until(() => seen.items.length === 1);
  s.fake.setCt(101, { node: "pve2" });
  await until(() => requestLines(s.fake).includes("GET /nodes/pve2/lxc"));
  s.fake.setCt(101, { status: "running" });
  await until(() => seen.items.length === 2);
  s.fake.resetRequests();
  await until(() =>
    requestLines(s.fake).filter((line) => line === "GET /nodes/pve2/lxc").length >= 2
  );
  assert.ok(!requestLines(s.fake).includes(LIST), "the old node is no longer polled");
  s.fake.removeCt(101);
  await seen.done;
  await failures.done;
  assert.deepEqual(actions(seen.items), [
    Action.ContainerStop,
    Action.ContainerStart,
    Action.ContainerDestroy,
  ]);
  assert.deepEqual(seen.items.map((event) => event.actorAttributes.node), ["pve", "pve2", "pve2"]);
  assert.deepEqual(failures.items, []);
});

Deno.test("ProxmoxProvider.watch() reports poll errors and carries on", async () => {
  await using s = await setup({ watchInterval: 0.1 });
  s.fake.addNode("pve2");
  s.fake.addCt("pve2", 101, { name: "web" });
  using provider = await newProxmoxProvider("pve2", 101, { client: s.client });
  const controller = new AbortController();
  const { events, errors } = provider.watch({ signal: controller.signal });
  const seen = collect(events);
  const failures = collect(errors);
  await until(() => s.fake.requests.some((r) => r.path.endsWith("/nodes/pve2/lxc")));
  s.fake.setNodeOnline("pve2", false);
  await until(() => failures.items.length >= 2);
  s.fake.setCt(101, { status: "running" }); // changes while unreachable
  s.fake.setNodeOnline("pve2", true);
  await until(() => seen.items.length === 1);
  controller.abort();
  await seen.done;
  await failures.done;
  assert.ok(failures.items.every((error) => error instanceof ConnectionError));
  assert.match(failures.items[0].message, /node "pve2"/);
  assert.deepEqual(actions(seen.items), [Action.ContainerStart]);
});

Deno.test("ProxmoxProvider.watch() ends on abort, on close, and when a reader cancels", async (t) => {
  await using s = await setup({ watchInterval: 0.1 });
  s.fake.addCt("pve", 101);
  await t.step("abort", async () => {
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    const controller = new AbortController();
    const { events, errors } = provider.watch({ signal: controller.signal });
    controller.abort();
    assert.deepEqual(await Array.fromAsync(events), []);
    assert.deepEqual(await Array.fromAsync(errors), []);
  });
  await t.step("an aborted signal", async () => {
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    const { events } = provider.watch({ signal: AbortSignal.abort() });
    assert.deepEqual(await Array.fromAsync(events), []);
  });
  await t.step("provider close; nothing after", async () => {
    const provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    const first = provider.watch();
    const second = provider.watch();
    const seen = collect(first.events);
    await until(() => requestLines(s.fake).includes(LIST));
    provider.close();
    s.fake.setCt(101, { status: "running" });
    await seen.done;
    assert.deepEqual(await Array.fromAsync(second.events), []);
    await first.errors.cancel();
    await second.errors.cancel();
    assert.deepEqual(seen.items, []);
    s.fake.setCt(101, { status: "stopped" });
  });
  await t.step("a reader's cancel ends that watch only", async () => {
    using provider = await newProxmoxProvider("pve", 101, { client: s.client });
    s.fake.resetRequests();
    const cancelled = provider.watch();
    const kept = provider.watch();
    const seen = collect(kept.events);
    await cancelled.events.cancel();
    assert.deepEqual(await Array.fromAsync(cancelled.errors), []);
    await until(() => s.fake.requests.filter((r) => r.path.endsWith("/nodes/pve/lxc")).length >= 2);
    s.fake.setCt(101, { status: "running" });
    await until(() => seen.items.length === 1);
    provider.close();
    await seen.done;
    assert.deepEqual(actions(seen.items), [Action.ContainerStart]);
  });
  await t.step("client close ends every watch", async () => {
    await using other = await setup({ watchInterval: 0.1 });
    other.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: other.client });
    const { events, errors } = provider.watch();
    other.client.close();
    assert.deepEqual(await Array.fromAsync(events), []);
    assert.deepEqual(await Array.fromAsync(errors), []);
  });
  await t.step("a watch on a closed client is over at once", async () => {
    await using other = await setup({ watchInterval: 0.1 });
    other.fake.addCt("pve", 101);
    using provider = await newProxmoxProvider("pve", 101, { client: other.client });
    other.client.close();
    other.fake.resetRequests();
    const { events, errors } = provider.watch();
    assert.deepEqual(await within(Array.fromAsync(events)), []);
    assert.deepEqual(await within(Array.fromAsync(errors)), []);
    assert.deepEqual(requestLines(other.fake), []);
  });
});

Deno.test("StatusPoller drops what a slow reader cannot take, then asks it to reload", async () => {
  await using s = await setup({ watchInterval: 0.1 });
  s.fake.addCt("pve", 101, { name: "web" });
  const transport = new Transport(resolveConfig(s.config));
  const poller = new StatusPoller(transport, 20, { events: 2, errors: 2 });
  try {
    const { events, errors } = poller.watch({ node: "pve", vmid: 101, name: "web" });
    const polls = () => requestLines(s.fake).filter((line) => line === LIST).length;
    await until(() => polls() >= 1);
    for (let i = 0; i < 5; i++) {
      s.fake.setCt(101, { status: i % 2 ? "stopped" : "running" });
      const seen = polls();
      await until(() => polls() >= seen + 2);
    }
    const reader = events.getReader();
    const read: string[] = [];
    for (let i = 0; i < 3; i++) read.push((await reader.read()).value!.action);
    assert.deepEqual(read, [Action.ContainerStart, Action.ContainerStop, Action.ForceReload]);
    reader.releaseLock();
    const dropped = await errors.getReader().read();
    assert.match(String(dropped.value), /dropped 3 events the consumer did not read in time/);
  } finally {
    poller.close();
    transport.close();
  }
});

Deno.test("ProxmoxClient polls each node once per interval for all its watches", async () => {
  const watches = 500;
  const cts = 50;
  await using s = await setup({ watchInterval: 0.1 });
  for (let i = 0; i < cts; i++) s.fake.addCt("pve", 200 + i);
  const providers = await Promise.all(
    Array.from({ length: cts }, (_, i) => newProxmoxProvider("pve", 200 + i, { client: s.client })),
  );
  try {
    const streams = Array.from({ length: watches }, (_, i) => providers[i % cts].watch());
    const readers = streams.map((stream) => stream.events.getReader());
    s.fake.resetRequests();
    await until(() => requestLines(s.fake).filter((line) => line === LIST).length >= 2);
    // Measured, not asserted: polls of an idle cluster during one second.
    s.fake.resetRequests();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = requestLines(s.fake).filter((line) => line === LIST).length;
    console.log(`${watches} watches, 50 ms interval: ${idle} GET /nodes/pve/lxc in 1 s`);

    s.fake.resetRequests();
    for (let i = 0; i < cts; i++) s.fake.setCt(200 + i, { status: "running" });
    const first = await Promise.all(readers.map((reader) => reader.read()));
    assert.ok(first.every((read) => read.value?.action === Action.ContainerStart));
    const lines = requestLines(s.fake);
    const lists = lines.filter((line) => line === LIST).length;
    // One list per poll, and nothing else: a start needs no task read, nor does any watch.
    assert.equal(lines.length - lists, 0, lines.filter((line) => line !== LIST).join("\n"));
    assert.ok(lists < watches / 10, `${lists} list requests for ${watches} watches`);

    s.fake.resetRequests();
    for (let i = 0; i < cts; i++) s.fake.setCt(200 + i, { status: "stopped" });
    const second = await Promise.all(readers.map((reader) => reader.read()));
    assert.ok(second.every((read) => read.value?.action === Action.ContainerStop));
    const after = requestLines(s.fake);
    // A stop: one task read per CT that stopped (was it a suspend?), however many watch it.
    assert.equal(after.filter((line) => line !== LIST).length, cts);
    assert.ok(after.filter((line) => line !== LIST).every((line) => line.endsWith("/tasks")));
    for (const reader of readers) reader.releaseLock();
    await Promise.all(streams.map((stream) => stream.errors.cancel()));
  } finally {
    for (const provider of providers) provider.close();
  }
});

Deno.test("ProxmoxClient with a watchInterval beyond a timer's 24.8 days polls once", async () => {
  await using s = await setup({ watchInterval: 30 * 24 * 60 * 60 });
  s.fake.addCt("pve", 101);
  using provider = await newProxmoxProvider("pve", 101, { client: s.client });
  s.fake.resetRequests();
  const controller = new AbortController();
  const { events, errors } = provider.watch({ signal: controller.signal });
  await until(() => requestLines(s.fake).includes(LIST));
  await new Promise((resolve) => setTimeout(resolve, 100));
  controller.abort();
  assert.deepEqual(await Array.fromAsync(events), []);
  assert.deepEqual(await Array.fromAsync(errors), []);
  assert.deepEqual(requestLines(s.fake), [LIST]);
});
