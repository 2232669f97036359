import assert from "node:assert/strict";
import { type Engine, requireEngines, uniqueName } from "../_engines.ts";
import {
  containerActions,
  containerState,
  engineRequest,
  eventually,
  removeContainer,
  ServeProcess,
} from "../_proxy_harness.ts";

const CONCURRENT = 1_000;

async function createSleeper(engine: Engine, name: string): Promise<string> {
  const created = await engineRequest(engine, "POST", `/containers/create?name=${name}`, {
    Image: engine.image,
    Cmd: ["sleep", "3600"],
    Labels: { "sablier.enable": "true" },
    StopSignal: "SIGKILL",
    HostConfig: { NetworkMode: "none", ...engine.hostConfig },
  }) as { Id: string };
  return created.Id;
}

async function withSleeper(
  engine: Engine,
  label: string,
  fn: (id: string, name: string) => Promise<void>,
): Promise<void> {
  const name = uniqueName(label);
  const id = await createSleeper(engine, name);
  try {
    await fn(id, name);
  } finally {
    await removeContainer(engine, id);
  }
}

function dynamic(server: ServeProcess, name: string, session: string): string {
  return `${server.url}/api/strategies/dynamic?names=${name}&session_duration=${session}`;
}

async function status(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  await response.body?.cancel();
  return `${response.status} ${response.headers.get("x-sablier-session-status")}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name: "idlewatcher serve starts a stopped instance once for 1,000 concurrent requests",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    for (const engine of requireEngines(t)) {
      await t.step(engine.name, async () => {
        const prefix = await Deno.makeTempDir({ prefix: "idlewatcher-load-" });
        try {
          await using server = await ServeProcess.start({
            engines: [engine],
            stateDir: `${prefix}/state`,
            sessionDuration: "1m",
            logPath: `${prefix}/serve.log`,
          });
          await withSleeper(engine, "herd", async (id, name) => {
            await server.managing(name);
            const since = Math.floor(Date.now() / 1000) - 1;
            const url = dynamic(server, name, "1m");
            const answers = await Promise.all(
              Array.from({ length: CONCURRENT }, () => status(url)),
            );
            const counts = new Map<string, number>();
            for (const answer of answers) counts.set(answer, (counts.get(answer) ?? 0) + 1);
            for (const answer of counts.keys()) {
              assert.match(answer, /^200 (not-ready|ready)$/, JSON.stringify([...counts]));
            }
            await eventually(
              "the instance running",
              async () =>
                (await containerState(engine, id)).status === "running" ? true : undefined,
            );
            await eventually(
              "the instance ready",
              async () => (await status(url)) === "200 ready" ? true : undefined,
            );
            // A second wave on the ready instance starts nothing either.
            await Promise.all(Array.from({ length: 100 }, () => status(url)));
            const actions = await containerActions(engine, id, since);
            assert.deepEqual(
              actions.filter((action) => action === "start"),
              ["start"],
              `engine events: ${actions.join(", ")}\n${server.child.log().slice(-3_000)}`,
            );
          });
        } finally {
          await Deno.remove(prefix, { recursive: true });
        }
      });
    }
  },
});

Deno.test({
  name:
    "idlewatcher serve killed with SIGKILL and restarted keeps an in-use instance up until its session ends",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    const IN_USE_MS = 20_000;
    const IDLE_MS = 4_000;
    for (const engine of requireEngines(t)) {
      await t.step(engine.name, async () => {
        const prefix = await Deno.makeTempDir({ prefix: "idlewatcher-restart-" });
        const stateDir = `${prefix}/state`;
        try {
          await withSleeper(engine, "in-use", async (inUse, inUseName) => {
            await withSleeper(engine, "idle", async (idle, idleName) => {
              const first = await ServeProcess.start({
                engines: [engine],
                stateDir,
                sessionDuration: "5m",
                logPath: `${prefix}/serve-1.log`,
              });
              let inUseEnds = 0;
              let idleEnds = 0;
              try {
                await first.managing(inUseName);
                await first.managing(idleName);
                for (const [name, ms] of [[inUseName, IN_USE_MS], [idleName, IDLE_MS]] as const) {
                  const url = dynamic(first, name, `${ms}ms`);
                  await status(url);
                  await eventually(
                    `${name} ready`,
                    async () => (await status(url)) === "200 ready" ? true : undefined,
                  );
                }
                // The last requests: each session now ends `ms` from here.
                inUseEnds = Date.now() + IN_USE_MS;
                assert.equal(
                  await status(dynamic(first, inUseName, `${IN_USE_MS}ms`)),
                  "200 ready",
                );
                idleEnds = Date.now() + IDLE_MS;
                assert.equal(await status(dynamic(first, idleName, `${IDLE_MS}ms`)), "200 ready");
              } finally {
                await first.crash();
              }
              assert.equal((await containerState(engine, inUse)).status, "running");

              // Same state folder, new process, default session of 5 minutes.
              await using second = await ServeProcess.start({
                engines: [engine],
                stateDir,
                sessionDuration: "5m",
                logPath: `${prefix}/serve-2.log`,
              });
              const log = () => `${second.child.log().slice(-3_000)}`;
              // The idle one still stops on time (not 5 minutes later).
              await eventually(
                `${idleName} stopped`,
                async () =>
                  (await containerState(engine, idle)).status === "exited" ? true : undefined,
                {
                  timeoutMs: Math.max(0, idleEnds - Date.now()) + 20_000,
                  everyMs: 250,
                },
              ).catch((error) => {
                throw new Error(`${error}\n${log()}`);
              });
              // The one in use stays up until its session ends...
              while (Date.now() < inUseEnds - 1_000) {
                assert.equal(
                  (await containerState(engine, inUse)).status,
                  "running",
                  `stopped ${inUseEnds - Date.now()} ms before its session ended\n${log()}`,
                );
                await sleep(500);
              }
              // ...then stops.
              await eventually(
                `${inUseName} stopped`,
                async () =>
                  (await containerState(engine, inUse)).status === "exited" ? true : undefined,
                {
                  timeoutMs: Math.max(0, inUseEnds - Date.now()) + 20_000,
                  everyMs: 250,
                },
              ).catch((error) => {
                throw new Error(`${error}\n${log()}`);
              });
              assert.ok(Date.now() >= inUseEnds, "stopped only after its session ended");
            });
          });
        } finally {
          await Deno.remove(prefix, { recursive: true });
        }
      });
    }
  },
});
