/**
 * The server's own readers of runtime answers, fed random JSON shapes and
 * near misses of real answers (tests/_fakes/json_shapes.ts): a Compose
 * container's inspection, the listing, event lines and Podman's
 * healthcheck over a Docker engine on a unix socket; a tagged PVE guest in
 * `/cluster/resources`; the saved state file. Each reader gives a
 * well-typed value, skips with one warning naming what it skipped, or
 * rejects with a ProviderError; no raw TypeError or SyntaxError, in a
 * rejection or in a log line. A failure names the seed and the shape.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../errors.ts";
import type { ProxmoxClient } from "../../proxmox/mod.ts";
import { dockerInfo } from "../../serve/_docker_info.ts";
import { DockerRuntime } from "../../serve/_docker_runtime.ts";
import type { RuntimeChange } from "../../serve/_model.ts";
import { ProxmoxRuntime } from "../../serve/_proxmox_runtime.ts";
import { SessionStore } from "../../serve/_session_store.ts";
import { describeShape, ShapeSource, toJsonText } from "../_fakes/json_shapes.ts";
import { HostileServer } from "../hostile/_server.ts";
import { memoryLogger } from "./_fake_runtime.ts";
import {
  Answers,
  assertChange,
  assertClear,
  assertInfo,
  dockerHandler,
  ID,
  INSPECT,
  PVE_GUEST,
  STATE_FILE,
} from "./_shapes.ts";

const DRAWS = 300;

/** The caller's signal for one call: no call of the readers may hang. */
const bounded = () => AbortSignal.timeout(5_000);

Deno.test("dockerInfo() reads any inspection, or skips the container with one warning", () => {
  const source = new ShapeSource(7101);
  let read = 0;
  for (let draw = 0; draw < DRAWS * 2; draw++) {
    const shape = source.draw(INSPECT);
    const where = `seed 7101, draw ${draw}: ${describeShape(shape)}`;
    const warnings: string[] = [];
    const info = dockerInfo(JSON.parse(toJsonText(shape)), {
      engine: "docker",
      askedId: ID,
      warn: (message) => warnings.push(message),
    });
    for (const line of warnings) assertClear(line, where);
    if (info === undefined) {
      assert.ok(warnings.length <= 1, `${where}\n${warnings.join("\n")}`);
      for (const line of warnings) assert.match(line, /^docker\/\S+: skipped: /, where);
    } else {
      read++;
      assertInfo(info, where);
      assert.ok(warnings.every((line) => line.startsWith(`docker/${info.name}: `)), where);
    }
  }
  assert.ok(read > 20, `only ${read} inspections were read: the shapes are too far off`);
});

Deno.test("DockerRuntime reads any listing, inspection, event line and healthcheck answer", async () => {
  const counts = new Map<string, number>();
  let infos = 0, changes = 0;
  for (let round = 0; round < 40; round++) {
    const answers = new Answers(7200 + round);
    const logger = memoryLogger();
    await using server = await HostileServer.unix(
      dockerHandler(answers, { drawVersion: true, counts }),
    );
    const settled = async <T>(what: string, call: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await call();
      } catch (error) {
        assert.ok(
          error instanceof ProviderError,
          `round ${round}, ${what}: ${
            String((error as Error)?.stack ?? error).slice(0, 600)
          }\n${answers}`,
        );
        assertClear(error.message, `round ${round}, ${what}`);
        return undefined;
      }
    };
    const runtime = await settled(
      "connect()",
      () => DockerRuntime.connect({ url: server.url, logger, signal: bounded() }),
    );
    if (runtime === undefined) continue;
    try {
      for (const info of await settled("list()", () => runtime.list({ signal: bounded() })) ?? []) {
        assertInfo(info, `round ${round}, list(): ${answers}`);
        infos++;
      }
      const info = await settled("inspect()", () => runtime.inspect(ID, { signal: bounded() }));
      if (info !== undefined) assertInfo(info, `round ${round}, inspect(): ${answers}`);
      if (runtime.runHealthcheck !== undefined) {
        const health = await settled(
          "runHealthcheck()",
          () => runtime.runHealthcheck!(ID, { signal: bounded() }),
        );
        assert.ok([undefined, "starting", "healthy", "unhealthy"].includes(health), `${answers}`);
      }
      const stop = new AbortController();
      const seen: RuntimeChange[] = [];
      const timer = setTimeout(() => stop.abort(), 400);
      await runtime.follow((change) => seen.push(change), { signal: stop.signal });
      clearTimeout(timer);
      for (const change of seen) assertChange(change, `round ${round}, follow(): ${answers}`);
      changes += seen.length;
    } finally {
      runtime.close();
    }
    for (const line of logger.lines) assertClear(line, `round ${round}: ${answers}`);
  }
  assert.ok(
    infos > 0 && changes > 0,
    `${infos} infos, ${changes} changes: the shapes are too far off`,
  );
  for (const what of ["list", "inspect", "events", "healthcheck"]) {
    assert.ok(
      (counts.get(what) ?? 0) > 0,
      `${what} was never asked: ${JSON.stringify([...counts])}`,
    );
  }
});

/** A Proxmox client that answers `/cluster/resources` with `answer()`. */
function fakeClient(answer: () => unknown): ProxmoxClient {
  return {
    request: () => Promise.resolve(answer()),
    close() {},
  } as unknown as ProxmoxClient;
}

Deno.test("ProxmoxRuntime.list() reads any /cluster/resources answer", async () => {
  const source = new ShapeSource(7301);
  let read = 0;
  for (let draw = 0; draw < DRAWS; draw++) {
    const shape = source.draw([PVE_GUEST, { ...PVE_GUEST, vmid: 102, type: "qemu", name: "db" }]);
    const where = `seed 7301, draw ${draw}: ${describeShape(shape)}`;
    const logger = memoryLogger();
    const runtime = new ProxmoxRuntime({
      client: fakeClient(() => JSON.parse(toJsonText(shape))),
      logger,
    });
    try {
      for (const info of await runtime.list()) {
        assertInfo(info, where);
        assert.match(info.runtimeId, /^[A-Za-z0-9][A-Za-z0-9.-]*\/\d+$/, where);
        read++;
      }
    } catch (error) {
      assert.ok(error instanceof ProviderError, `${where}: ${String(error)}`);
    }
    for (const line of logger.lines) assertClear(line, where);
    assert.ok(logger.lines.every((line) => line.startsWith("warn proxmox")), where);
  }
  assert.ok(read > 20, `only ${read} guests were read: the shapes are too far off`);
});

Deno.test("SessionStore.load() reads any state file, and keeps a bad one aside", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("random shapes and near misses", async () => {
      const source = new ShapeSource(7401);
      for (let draw = 0; draw < DRAWS; draw++) {
        const text = source.next() < 0.05
          ? '{"version": 1, "sessions": {'
          : toJsonText(source.draw(STATE_FILE));
        const where = `seed 7401, draw ${draw}: ${describeShape(text)}`;
        const stateDir = `${dir}/${draw}`;
        await Deno.mkdir(stateDir);
        await Deno.writeTextFile(`${stateDir}/sessions.json`, text);
        const warnings: string[] = [];
        const store = new SessionStore(stateDir, {
          onWriteError: (error) => assert.fail(`${where}: ${error}`),
          warn: (message) => warnings.push(message),
        });
        const sessions = await store.load();
        for (const [key, session] of sessions) {
          assert.ok(key !== "" && typeof session.name === "string", where);
          assert.ok(Number.isFinite(session.until), where);
        }
        assert.ok(warnings.length <= 1, where);
        const files = [...Deno.readDirSync(stateDir)].map((entry) => entry.name);
        const bad = files.filter((name) => name.endsWith(".bad"));
        if (warnings.length === 1) {
          assertClear(warnings[0], where);
          assert.equal(bad.length, 1, where);
          assert.equal(Deno.readTextFileSync(`${stateDir}/${bad[0]}`), text, where);
          assert.ok(warnings[0].includes(bad[0]), where);
        } else {
          assert.deepEqual(bad, [], where);
        }
        // The store goes on: a new session is written over whatever was there.
        await store.extend("docker/web", { name: "web", until: Date.now() + 60_000 }, Date.now());
        const saved = JSON.parse(Deno.readTextFileSync(`${stateDir}/sessions.json`));
        assert.equal(saved.version, 1, where);
        assert.equal(saved.sessions["docker/web"].name, "web", where);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
