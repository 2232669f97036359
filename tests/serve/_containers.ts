/**
 * Containers for the server's tests on real engines, created with the
 * settings `EngineApi.createContainer` does not take (healthchecks), and the
 * engine's own count of start events.
 *
 * @module
 */

import type { Engine, EngineApi } from "../_engines.ts";
import { DockerRuntime } from "../../serve/_docker_runtime.ts";
import { IdleServer } from "../../serve/_server.ts";
import { memoryLogger } from "./_fake_runtime.ts";

/** A command that exits at once on SIGTERM (busybox sh as PID 1 ignores it otherwise). */
export const QUICK_STOP_CMD = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"];

/** A command that turns healthy after `seconds`, when the healthcheck `test -f /tmp/ok` is used. */
export function healthyAfter(seconds: number): string[] {
  return [
    "sh",
    "-c",
    `trap 'exit 0' TERM; sleep ${seconds}; touch /tmp/ok; while true; do sleep 1; done`,
  ];
}

/**
 * Creates a container with a healthcheck `test -f /tmp/ok`, checked every 200 ms.
 *
 * @param api The engine's test client (it removes the container on dispose? no: call api.remove).
 * @param options Name, command and labels.
 * @returns The container's id.
 */
export async function createWithHealthcheck(
  engine: Engine,
  options: { name: string; cmd: string[]; labels: Record<string, string> },
): Promise<string> {
  const body = {
    Image: engine.image,
    Cmd: options.cmd,
    Labels: options.labels,
    Healthcheck: {
      Test: ["CMD-SHELL", "test -f /tmp/ok"],
      Interval: 200_000_000,
      Timeout: 1_000_000_000,
      Retries: 1,
    },
    HostConfig: { NetworkMode: "none", ...engine.hostConfig },
  };
  const answer = await engineRequest(
    engine,
    "POST",
    `/containers/create?name=${options.name}`,
    body,
  );
  return (answer as { Id: string }).Id;
}

/**
 * Counts the engine's `start` events of a container between two times.
 *
 * @param engine The engine.
 * @param id The container's id.
 * @param since Seconds since the epoch.
 * @returns How many starts the engine recorded.
 */
export async function countStarts(engine: Engine, id: string, since: number): Promise<number> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const filters = encodeURIComponent(JSON.stringify({ container: [id], event: ["start"] }));
  const path = `/events?since=${Math.floor(since)}&until=${until}&filters=${filters}`;
  const text = await engineRequest(engine, "GET", path, undefined, true) as string;
  return text.split("\n").filter((line) => line.includes('"start"')).length;
}

async function engineRequest(
  engine: Engine,
  method: string,
  path: string,
  body?: unknown,
  raw = false,
): Promise<unknown> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: engine.socketPath } });
  const response = await fetch(`http://engine/v1.41${path}`, {
    method,
    client,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return raw ? text : JSON.parse(text);
}

/** Starts a server on the engine, on a free port of 127.0.0.1. */
export async function serverOn(
  engines: Engine[],
  options: { stateDir?: string; sessionMs?: number } = {},
): Promise<{ server: IdleServer; base: string; logger: ReturnType<typeof memoryLogger> }> {
  const logger = memoryLogger();
  const runtimes = [];
  for (const engine of engines) {
    runtimes.push(
      await DockerRuntime.connect({
        url: `unix://${engine.socketPath}`,
        logger,
        name: engine.name,
      }),
    );
  }
  const server = await IdleServer.start({
    hostname: "127.0.0.1",
    port: 0,
    runtimes,
    sessionMs: options.sessionMs ?? 60_000,
    stateDir: options.stateDir,
    logger,
  });
  return { server, base: `http://127.0.0.1:${server.addr.port}`, logger };
}

/** Polls the container's inspection until `check` holds, at most `ms`. */
export async function waitForState(
  api: EngineApi,
  id: string,
  check: (
    state: { Status: string; Running: boolean; Paused: boolean; Health?: { Status: string } },
  ) => boolean,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (true) {
    const { State } = await api.inspect(id);
    if (check(State as never)) return;
    if (Date.now() > end) {
      throw new Error(`container state not reached in ${ms} ms: ${JSON.stringify(State)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
