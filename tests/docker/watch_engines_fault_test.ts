import assert from "node:assert/strict";
import { ConnectionError } from "../../errors.ts";
import { type Engine, EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { FaultProxy } from "../_fakes/fault_proxy.ts";
import { hubFixture, poll, WatchRecorder } from "./_watch_helpers.ts";

/** Exits on SIGTERM, so that stops (and a daemon shutdown) are quick. */
const COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"];

Deno.test("WatchHub.watch() delivers what happened while cut off from a real engine", async (t) => {
  for (const engine of requireEngines(t)) {
    await t.step(engine.name, async () => {
      await using api = new EngineApi(engine);
      const name = uniqueName("cut");
      const id = await api.createContainer({ name, cmd: COMMAND });
      await api.start(id);
      await using proxy = await FaultProxy.start(engine.socketPath);
      await using fixture = hubFixture(proxy.socketPath);
      const watch = new WatchRecorder(fixture.hub.watch(name, { signal: fixture.signal }));
      await poll(() => fixture.hub.connected, "the events stream");
      await api.pause(id);
      await watch.untilAction("paused");

      proxy.refuse();
      await watch.until(() => watch.errors.length >= 2, "errors while cut off");
      await api.unpause(id);
      await api.kill(id);
      await api.start(id);
      await api.pause(id);
      await api.unpause(id);
      proxy.restore();
      await watch.untilAction("force-reloaded");
      await api.remove(id);
      await watch.closed;

      const tail = engine.name === "docker"
        ? ["killed", "died", "destroyed"] // force-removing a running container kills it first
        : ["died", "destroyed"];
      assert.deepEqual(withoutPodmanStops(engine, afterCall(watch.actions)), [
        "paused",
        "unpaused",
        "killed",
        "died",
        "started",
        "paused",
        "unpaused",
        "force-reloaded",
        ...tail,
      ]);
      assert.ok(watch.errors.every((error) => error instanceof ConnectionError));
    });
  }
});

Deno.test({
  name: "WatchHub.watch() recovers from a dockerd restart and reports the container's real state",
  ignore: !restartsAllowed(),
  async fn(t) {
    const engine = requireEngines(t).find((e) => e.name === "docker");
    if (engine === undefined) return;
    await using api = new EngineApi(engine);

    await t.step("the stream sees the container die as dockerd stops", async () => {
      const name = uniqueName("restart");
      const id = await api.createContainer({ name, cmd: COMMAND });
      await api.start(id);
      await using fixture = hubFixture(engine.socketPath);
      const watch = new WatchRecorder(fixture.hub.watch(name, { signal: fixture.signal }));
      await poll(() => fixture.hub.connected, "the events stream");
      await api.pause(id);
      await api.unpause(id);
      await watch.untilAction("unpaused");

      await stopDockerd(engine);
      await watch.until(() => watch.errors.length >= 2, "errors while dockerd is down");
      await startEngines();
      await watch.untilAction("force-reloaded");
      assert.equal((await api.inspect(id)).State.Status, "exited", "it died with dockerd");
      // dockerd stops its containers before it closes the API: kill, die, stop get through.
      assert.deepEqual(afterCall(watch.actions), [
        "paused",
        "unpaused",
        "killed",
        "died",
        "stopped",
        "force-reloaded",
      ]);
      assert.ok(watch.errors.every((error) => error instanceof ConnectionError));
      await api.start(id);
      await watch.untilAction("started");
      await api.remove(id);
      await watch.closed;
    });

    await t.step("cut off while dockerd restarts: the inspection explains the exit", async () => {
      const name = uniqueName("restart");
      const id = await api.createContainer({ name, cmd: COMMAND });
      await api.start(id);
      await using proxy = await FaultProxy.start(engine.socketPath);
      await using fixture = hubFixture(proxy.socketPath);
      const watch = new WatchRecorder(fixture.hub.watch(name, { signal: fixture.signal }));
      await poll(() => fixture.hub.connected, "the events stream");
      await api.pause(id);
      await api.unpause(id);
      await watch.untilAction("unpaused");

      proxy.refuse();
      await stopDockerd(engine);
      await startEngines();
      await watch.until(() => watch.errors.length >= 2, "errors while cut off");
      proxy.restore();
      await watch.untilAction("force-reloaded");
      // The daemon forgot the events of its shutdown: the watch made up the one that explains it.
      const actions = afterCall(watch.actions);
      assert.deepEqual(actions, ["paused", "unpaused", "died", "force-reloaded"]);
      const died = watch.events[watch.actions.length - actions.length + 2];
      assert.equal(died.actorId, id);
      assert.equal(died.actorName, name);
      assert.equal(died.actorAttributes.exitCode, String((await api.inspect(id)).State.ExitCode));
      await api.remove(id);
      await watch.untilAction("destroyed");
      await watch.closed;
    });
  },
});

/**
 * The actions after `watch()` was called. The start awaited just before the
 * call may be reported too: a watch's replay starts a little before its call
 * (by up to the round trip of the daemon's clock reading), so that nothing
 * after the call is missed.
 */
function afterCall(actions: string[]): string[] {
  return actions[0] === "started" ? actions.slice(1) : actions;
}

/**
 * Podman 4.3 reports a stop that the container obeys sometimes as `stop`
 * then `die`, sometimes as `die` alone: its `stop` is left out of comparisons.
 */
function withoutPodmanStops(engine: Engine, actions: string[]): string[] {
  return engine.name === "podman" ? actions.filter((action) => action !== "stopped") : actions;
}

/**
 * Restarting dockerd disturbs every other test using it, so it runs in CI
 * (where the suite owns the engines) or when asked for.
 */
function restartsAllowed(): boolean {
  const allowed = Deno.env.get("IDLEWATCHER_RESTART_DOCKER") === "1" ||
    ["1", "true"].includes(Deno.env.get("CI") ?? "");
  if (!allowed) {
    console.error(
      "SKIPPED dockerd restart test: set IDLEWATCHER_RESTART_DOCKER=1 (it restarts the shared dockerd)",
    );
  }
  return allowed;
}

/** Stops dockerd the way `scripts/engines.sh stop` does (SIGTERM to the pid file's process). */
async function stopDockerd(engine: Engine): Promise<void> {
  const dir = engine.socketPath.slice(0, engine.socketPath.lastIndexOf("/"));
  const pid = Number((await Deno.readTextFile(`${dir}/docker.pid`)).trim());
  assert.ok(Number.isSafeInteger(pid) && pid > 1, `a dockerd pid in ${dir}/docker.pid`);
  Deno.kill(pid, "SIGTERM");
  await poll(() => !isAlive(pid), "dockerd to exit", 60_000);
}

/** Starts what is down with the engines script (dockerd here; Podman is left as is). */
async function startEngines(): Promise<void> {
  const script = new URL("../../scripts/engines.sh", import.meta.url).pathname;
  const { code, stderr } = await new Deno.Command("bash", {
    args: [script, "start"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

function isAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
