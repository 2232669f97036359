/**
 * `startServer()` against a Docker engine (a unix socket) whose listing,
 * inspections and event lines are random JSON shapes and near misses of a
 * Compose container's real answers, for a bounded number of event streams,
 * while clients ask `/api/strategies/dynamic` and `/health`. The server
 * keeps answering (problem+json errors are fine, a 500 is not), logs no
 * raw JavaScript error, and closes cleanly (sanitizers on). A failure names
 * the seed and the engine's last answers.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../errors.ts";
import { startServer } from "../../serve/mod.ts";
import { HostileServer } from "../hostile/_server.ts";
import { memoryLogger } from "./_fake_runtime.ts";
import { Answers, assertClear, dockerHandler } from "./_shapes.ts";

const ROUNDS = 5;
/** Event streams of each round that get drawn lines; later ones stay open and quiet. */
const DRAWN_STREAMS = 12;
/** How long clients ask the server in each round. */
const ASKING_MS = 1_500;

const ASKED = [
  "/api/strategies/dynamic?names=shop-web-1&session_duration=1m&refresh_frequency=1s",
  "/api/strategies/dynamic?group=shop&session_duration=1m",
  "/api/strategies/dynamic?names=docker/shop-web-1&names=optional:db&session_duration=1m",
  "/health",
];

Deno.test("startServer() keeps answering while the engine sends random listings, inspections and events", async () => {
  const statuses = new Map<number, number>();
  const counts = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const answers = new Answers(7500 + round);
    answers.realShare = 0.4;
    const logger = memoryLogger();
    const stateDir = await Deno.makeTempDir({ prefix: "iw-random-" });
    await using engine = await HostileServer.unix(
      dockerHandler(answers, { drawnStreams: DRAWN_STREAMS, counts }),
    );
    const where = () => `round ${round}: ${answers}\nlog:\n  ${logger.lines.join("\n  ")}`;
    let server;
    try {
      server = await startServer({ port: 0, docker: [engine.url], stateDir, logger });
    } catch (error) {
      assert.ok(error instanceof ProviderError, `${String(error)}\n${where()}`);
      await Deno.remove(stateDir, { recursive: true });
      continue;
    }
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const end = Date.now() + ASKING_MS;
      for (let i = 0; Date.now() < end; i++) {
        const path = ASKED[i % ASKED.length];
        const response = await fetch(base + path, { signal: AbortSignal.timeout(5_000) });
        const body = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const at = `${path} answered ${response.status}: ${body.slice(0, 300)}\n${where()}`;
        if (path === "/health") assert.equal(response.status, 200, at);
        else if (response.status !== 200) {
          assert.ok([404, 409].includes(response.status), at);
          assert.equal(response.headers.get("content-type"), "application/problem+json", at);
        }
        assert.doesNotMatch(body, /\n\s+at |TypeError|SyntaxError/, at);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await server.close();
      await Deno.remove(stateDir, { recursive: true });
    }
    for (const line of logger.lines) {
      assertClear(line, `round ${round}`);
      assert.doesNotMatch(line, /^error Request failed/, where());
    }
  }
  // The shapes reached past the first request, and some rounds managed the container.
  assert.ok((statuses.get(200) ?? 0) > 0, `no request found the container: ${[...statuses]}`);
  for (const what of ["list", "inspect", "events"]) {
    assert.ok((counts.get(what) ?? 0) > ROUNDS, `${what}: ${JSON.stringify([...counts])}`);
  }
});
