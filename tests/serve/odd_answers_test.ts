/**
 * One test for each odd runtime answer or state file that the server did
 * not read safely: a raw TypeError out of a listing or a connection, a
 * container id `undefined`, every managed instance dropped on an answer
 * that is not a list, a state file that stopped the server from starting
 * or was overwritten without a trace.
 */

import assert from "node:assert/strict";
import { ApiError, ProviderError } from "../../errors.ts";
import type { ProxmoxClient } from "../../proxmox/mod.ts";
import { DockerRuntime } from "../../serve/_docker_runtime.ts";
import { IdleEngine } from "../../serve/_engine.ts";
import type { RuntimeChange } from "../../serve/_model.ts";
import { ProxmoxRuntime } from "../../serve/_proxmox_runtime.ts";
import { HostileServer, PING, respond } from "../hostile/_server.ts";
import { fakeInfo, FakeRuntime, memoryLogger } from "./_fake_runtime.ts";
import { eventOf, HEALTHCHECK, ID, INSPECT, LABELS, LIST_ENTRY, PVE_GUEST } from "./_shapes.ts";

/** A Docker engine answering each path (its start) with the body given, as 200 JSON. */
function engine(bodies: Record<string, unknown>) {
  return HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const path = request.path.replace(/^\/v\d+\.\d+/, "");
      if (path === "/_ping") {
        await conn.write(PING);
        continue;
      }
      const key = Object.keys(bodies).find((start) => path.startsWith(start));
      if (key === undefined) {
        await conn.write(respond(404, JSON.stringify({ message: `no such path ${path}` })));
      } else if (key === "/events") {
        const lines = (bodies[key] as unknown[]).map((line) =>
          typeof line === "string" ? line : JSON.stringify(line)
        );
        await conn.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
            lines.join("\n") + "\n",
        );
        return;
      } else {
        await conn.write(respond(200, JSON.stringify(bodies[key])));
      }
    }
  });
}

const DOCKER_VERSION = { Version: "20.10.24", ApiVersion: "1.41" };
const TO_STRING = { toString: 1 };

async function withDocker(
  bodies: Record<string, unknown>,
  body: (runtime: DockerRuntime, logger: ReturnType<typeof memoryLogger>) => Promise<void>,
): Promise<void> {
  await using server = await engine({ "/version": DOCKER_VERSION, ...bodies });
  const logger = memoryLogger();
  const runtime = await DockerRuntime.connect({ url: server.url, logger });
  try {
    await body(runtime, logger);
  } finally {
    runtime.close();
  }
}

Deno.test("DockerRuntime.connect() reads a /version whose component names are not text", async () => {
  await using server = await engine({
    "/version": { Components: [{ Name: TO_STRING }, null, { Name: "Podman Engine" }] },
  });
  const runtime = await DockerRuntime.connect({ url: server.url, logger: memoryLogger() });
  try {
    assert.equal(runtime.podman, true);
  } finally {
    runtime.close();
  }
});

Deno.test("DockerRuntime.list() skips listed entries without an id, with one warning each", async () => {
  const listed: string[] = [];
  await using server = await HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const path = request.path.replace(/^\/v\d+\.\d+/, "");
      if (path === "/_ping") await conn.write(PING);
      else if (path === "/version") await conn.write(respond(200, JSON.stringify(DOCKER_VERSION)));
      else if (path.startsWith("/containers/json")) {
        await conn.write(
          respond(200, JSON.stringify([{ Id: TO_STRING }, {}, null, "x", LIST_ENTRY])),
        );
      } else {
        listed.push(path);
        await conn.write(respond(200, JSON.stringify(INSPECT)));
      }
    }
  });
  const logger = memoryLogger();
  const runtime = await DockerRuntime.connect({ url: server.url, logger });
  try {
    const infos = await runtime.list();
    assert.deepEqual(infos.map((info) => info.runtimeId), [ID]);
    assert.deepEqual(listed, [`/containers/${ID}/json`], "no /containers/undefined/json");
    assert.equal(logger.lines.filter((line) => /skipped a listed container/.test(line)).length, 4);
  } finally {
    runtime.close();
  }
});

Deno.test("DockerRuntime.list() rejects a listing that is not a list with an ApiError", async () => {
  await withDocker({ "/containers/json": { message: "page not found" } }, async (runtime) => {
    await assert.rejects(runtime.list(), (error) => {
      assert.ok(error instanceof ApiError, String(error));
      assert.match(error.message, /not a list/);
      return true;
    });
  });
});

Deno.test("DockerRuntime.follow() reports a listing that is not a list as such, and never resyncs to nothing", async () => {
  await withDocker(
    { "/containers/json": { message: "busy" }, "/events": [] },
    async (runtime, logger) => {
      const changes: RuntimeChange[] = [];
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 200);
      await runtime.follow((change) => changes.push(change), { signal: stop.signal });
      assert.deepEqual(changes, [], "no resync with an empty list");
      const warned = logger.lines.filter((line) => line.startsWith("warn "));
      assert.ok(warned.length > 0);
      for (const line of warned) {
        assert.match(line, /event stream failed \(Cannot list .*not a list\)/);
        assert.doesNotMatch(line, /cannot reach/);
      }
    },
  );
});

Deno.test("DockerRuntime.inspect() skips an inspection it cannot read, with one warning naming the container", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["null", null, new RegExp(`^warn docker/${ID}: skipped: its inspection is not an object`)],
    ["no Id", { ...INSPECT, Id: undefined }, /its Id is not an id/],
    ["an Id that is not text", { ...INSPECT, Id: TO_STRING }, /its Id is not an id/],
    ["a Name that is not text", { ...INSPECT, Name: TO_STRING }, /it has no name/],
    ["no State", { ...INSPECT, State: "running" }, /^warn docker\/shop-web-1: skipped: its State/],
    [
      "a Status that is not text",
      { ...INSPECT, State: { ...INSPECT.State, Status: TO_STRING } },
      /its State is not an object with a Status/,
    ],
  ];
  for (const [name, answer, warning] of cases) {
    await t.step(name, async () => {
      await withDocker({ "/containers/": answer }, async (runtime, logger) => {
        assert.equal(await runtime.inspect(ID), undefined);
        assert.equal(logger.lines.length, 1, logger.lines.join("\n"));
        assert.match(logger.lines[0], warning);
      });
    });
  }
});

Deno.test("DockerRuntime.inspect() ignores labels that are not text, with one warning", async () => {
  const labels = {
    ...LABELS,
    "sablier.group": 5,
    "com.docker.compose.depends_on": ["db"],
    "idlewatcher.stop-timeout": TO_STRING,
    "idlewatcher.ready-tcp": null,
  };
  const answer = {
    ...INSPECT,
    Config: { ...INSPECT.Config, Labels: labels },
    State: { ...INSPECT.State, Health: { Status: TO_STRING } },
  };
  await withDocker({ "/containers/": answer }, async (runtime, logger) => {
    const info = await runtime.inspect(ID);
    assert.ok(info !== undefined);
    assert.deepEqual(info.groups, ["default"]);
    assert.deepEqual(info.dependsOn, []);
    assert.equal(info.sleep.timeoutSeconds, 10);
    assert.equal(info.probe, undefined);
    assert.deepEqual(info.state, { status: "running", health: "starting" });
    assert.deepEqual(logger.lines, [
      'warn docker/shop-web-1: labels that are not text are ignored: ["sablier.group",' +
      '"com.docker.compose.depends_on","idlewatcher.stop-timeout","idlewatcher.ready-tcp"]',
    ]);
  });
});

Deno.test("DockerRuntime.runHealthcheck() reads a Status that is not text as starting", async () => {
  await using server = await engine({
    "/version": { Components: [{ Name: "Podman Engine" }] },
    "/libpod/": { ...HEALTHCHECK, Status: TO_STRING },
  });
  const runtime = await DockerRuntime.connect({ url: server.url, logger: memoryLogger() });
  try {
    assert.equal(await runtime.runHealthcheck!(ID), "starting");
  } finally {
    runtime.close();
  }
});

Deno.test("DockerRuntime.follow() reads odd event lines and applies the good ones", async () => {
  const odd = [
    "null",
    "[1]",
    '"start"',
    { ...eventOf("die"), Action: TO_STRING, status: TO_STRING },
    { ...eventOf("die"), Actor: { ID: TO_STRING }, id: TO_STRING },
    { ...eventOf("die"), Actor: "x", id: "../../etc" },
    eventOf("die"),
  ];
  await withDocker(
    { "/containers/json": [], "/events": odd },
    async (runtime, logger) => {
      const changes: RuntimeChange[] = [];
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), 2_000);
      await runtime.follow((change) => {
        changes.push(change);
        if (change.kind === "state") stop.abort();
      }, { signal: stop.signal });
      clearTimeout(timer);
      assert.deepEqual(changes, [
        { kind: "resync", infos: [] },
        { kind: "state", runtimeId: ID, action: "died" },
      ]);
      assert.deepEqual(logger.lines, []);
    },
  );
});

/** A Proxmox client that answers every request with `answer`. */
function pveClient(answer: unknown): ProxmoxClient {
  return { request: () => Promise.resolve(answer), close() {} } as unknown as ProxmoxClient;
}

Deno.test("ProxmoxRuntime.list() skips a tagged guest without a usable node or vmid, with one warning", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["tags that are not text", { tags: TO_STRING }],
    ["a vmid that is not a number", { vmid: TO_STRING }],
    ["a vmid in hexadecimal", { vmid: "0x10" }],
    ["a vmid true", { vmid: true }],
    ["a negative vmid", { vmid: -1 }],
    ["a node with a slash", { node: "pve/../x" }],
    ["a node that is not text", { node: TO_STRING }],
  ];
  for (const [name, patch] of cases) {
    await t.step(name, async () => {
      const logger = memoryLogger();
      const runtime = new ProxmoxRuntime({
        client: pveClient([{ ...PVE_GUEST, vmid: 100, name: "ok" }, { ...PVE_GUEST, ...patch }]),
        logger,
      });
      const infos = await runtime.list();
      assert.deepEqual(infos.map((info) => info.runtimeId), ["pve/100"]);
      const skipped = "tags" in patch ? 0 : 1; // Tags that are not text opt nothing in.
      assert.equal(logger.lines.length, skipped, logger.lines.join("\n"));
      for (const line of logger.lines) assert.match(line, /^warn proxmox: skipped a tagged guest/);
    });
  }
});

Deno.test("ProxmoxRuntime.list() rejects a /cluster/resources answer that is not a list with an ApiError", async () => {
  const runtime = new ProxmoxRuntime({ client: pveClient({ data: [] }), logger: memoryLogger() });
  await assert.rejects(runtime.list(), (error) => {
    assert.ok(error instanceof ApiError && error instanceof ProviderError, String(error));
    assert.match(error.message, /not a list/);
    return true;
  });
});

/** Starts an engine on `stateDir` with one stopped instance; returns its log lines. */
async function startOn(stateDir: string): Promise<{ lines: string[]; sessions: number }> {
  const logger = memoryLogger();
  const engine = new IdleEngine({
    runtimes: [new FakeRuntime("docker", [fakeInfo("web")])],
    logger,
    stateDir,
    defaultSessionMs: 60_000,
  });
  await engine.start();
  try {
    const sessions = engine.instances().filter((instance) => instance.inSession).length;
    return { lines: logger.lines.filter((line) => !line.startsWith("info")), sessions };
  } finally {
    await engine.close();
  }
}

Deno.test("IdleEngine.start() starts with no sessions on a bad state file, and keeps it aside", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "iw-bad-state-" });
  try {
    const cases: [string, (path: string) => Promise<void>, RegExp][] = [
      ["not JSON", (path) => Deno.writeTextFile(path, '{"version": 1, "sess'), /not JSON/],
      ["null", (path) => Deno.writeTextFile(path, "null"), /is not \{"version": 1/],
      ["a directory", (path) => Deno.mkdir(path), /./],
    ];
    for (const [name, write, problem] of cases) {
      await t.step(name, async () => {
        const stateDir = `${root}/${name.replaceAll(" ", "-")}`;
        await Deno.mkdir(stateDir);
        await write(`${stateDir}/sessions.json`);
        const { lines } = await startOn(stateDir);
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(lines[0], /^warn Cannot read the saved sessions in .*sessions\.json: /);
        assert.match(lines[0], problem);
        assert.match(lines[0], /starting with no saved sessions; the file is kept as .*\.bad$/);
        const kept = [...Deno.readDirSync(stateDir)].filter((e) => e.name.endsWith(".bad"));
        assert.equal(kept.length, 1);
        assert.ok(lines[0].endsWith(`${stateDir}/${kept[0].name}`));
      });
    }
    await t.step("some entries that are not sessions", async () => {
      const stateDir = `${root}/partly`;
      await Deno.mkdir(stateDir);
      const text = JSON.stringify({
        version: 1,
        sessions: {
          "docker/id-web": { name: "web", until: Date.now() + 600_000 },
          "docker/a": { name: "a", until: "soon" },
          "docker/b": null,
        },
      }).replace('"soon"', "1e309");
      await Deno.writeTextFile(`${stateDir}/sessions.json`, text);
      const { lines, sessions } = await startOn(stateDir);
      assert.equal(sessions, 1, "the good session was kept");
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(
        lines[0],
        /2 of its entries are not sessions .*; 1 kept; starting with the others/,
      );
      const kept = [...Deno.readDirSync(stateDir)].filter((e) => e.name.endsWith(".bad"));
      assert.equal(Deno.readTextFileSync(`${stateDir}/${kept[0].name}`), text);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("DockerRuntime.follow() reports an endless event line as the engine's fault", async () => {
  await withDocker(
    { "/containers/json": [], "/events": ["x".repeat((1 << 20) + 10)] },
    async (runtime, logger) => {
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), 150);
      await runtime.follow(() => {}, { signal: stop.signal });
      clearTimeout(timer);
      const warned = logger.lines.filter((line) => line.startsWith("warn "));
      assert.ok(warned.length > 0);
      for (const line of warned) {
        assert.match(line, /sent an event line longer than 1048576 characters\); reconnecting$/);
      }
    },
  );
});
