/**
 * The public calls against servers that answer every endpoint with random
 * JSON shapes (made from nothing, or near misses of the real answer) and
 * random statuses: Docker over a unix socket, Proxmox over loopback TLS.
 * Every call resolves, or rejects with a ProviderError kind or the caller's
 * own abort reason; a watch's errors are ProviderErrors and its events are
 * well formed; no call hangs (each is bounded), and nothing escapes as an
 * unhandled rejection (the test runner fails on one). A failure names the
 * round's seed and the last answers the server gave.
 */

import assert from "node:assert/strict";
import { DockerClient, newDockerProvider } from "../../docker/mod.ts";
import { ApiError, ProviderError } from "../../errors.ts";
import { Action, type Event } from "../../events/mod.ts";
import type { Provider } from "../../provider.ts";
import { newProxmoxProvider, ProxmoxClient, type ProxmoxConfig } from "../../proxmox/mod.ts";
import { describeShape, type Shape, ShapeSource, toJsonText } from "../_fakes/json_shapes.ts";
import { SECRET, TOKEN_ID } from "./_providers.ts";
import { HostileServer, pveTls, type Received, respond } from "./_server.ts";

const ID = "c0ffee".padEnd(64, "0");
const ACTIONS = new Set<string>(Object.values(Action));
const quiet = { debug() {}, error() {} };
/** A call that takes longer than this hangs. */
const HANG_MS = 8_000;
/** The caller gives up on a call after this: its reason is an allowed rejection. */
const GIVE_UP_MS = 2_500;

/** What a round's server answered lately, for a failure message. */
class Answers {
  readonly seed: number;
  readonly source: ShapeSource;
  #last: string[] = [];

  constructor(seed: number) {
    this.seed = seed;
    this.source = new ShapeSource(seed);
  }

  /** A status: mostly 200, else any the client must cope with. */
  status(ok = 200): number {
    return this.source.next() < 0.7
      ? ok
      : this.source.pick([200, 201, 204, 304, 400, 401, 404, 409, 500, 502, 595, 999]);
  }

  /** Draws a shape for `request`, noting it. */
  draw(request: Received, valid: Shape): string {
    // Some real answers, so that calls get past their first request to the later ones.
    const roll = this.source.next();
    const text = roll < 0.05
      ? "not json {"
      : toJsonText(roll < 0.3 ? valid : this.source.draw(valid));
    this.#last.push(`${request.method} ${request.path} -> ${describeShape(text ?? "")}`);
    if (this.#last.length > 6) this.#last.shift();
    return text ?? "";
  }

  /** An answer with a drawn status and body (none for 204 and 304). */
  answer(request: Received, valid: Shape, headers: Record<string, string> = {}): Uint8Array {
    const status = this.status();
    const body = this.draw(request, valid);
    return status === 204 || status === 304 ? respond(status) : respond(status, body, headers);
  }

  toString(): string {
    return `seed ${this.seed}; last answers:\n  ${this.#last.join("\n  ")}`;
  }
}

/** How the calls of a test ended, by call: resolved, rejected (with the kinds), or given up. */
const outcomes = new Map<string, Map<string, number>>();

function count(what: string, outcome: string): void {
  const call = what.replace(/ round \d+:/, "");
  const tally = outcomes.get(call) ?? new Map<string, number>();
  tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  outcomes.set(call, tally);
}

/**
 * Asserts that each call both resolved and rejected at least once: the
 * shapes reached the parsers behind the first request, and the failures
 * were seen (a server too far off would only test the first answer).
 */
function assertReached(calls: string[]): void {
  for (const call of calls) {
    const tally = outcomes.get(call) ?? new Map();
    const rejected = [...tally].filter(([outcome]) =>
      outcome !== "resolved" && outcome !== "given up"
    );
    assert.ok(
      tally.has("resolved") && rejected.length > 0,
      `${call}: ${JSON.stringify([...tally])}`,
    );
  }
}

/** Runs one call, bounded: a value, a ProviderError, or the caller's reason; never a hang. */
async function settle<T>(
  what: string,
  answers: Answers,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  const reason = new Error("the caller gave up");
  const caller = new AbortController();
  const giveUp = setTimeout(() => caller.abort(reason), GIVE_UP_MS);
  let hang: ReturnType<typeof setTimeout> | undefined;
  try {
    const value = await Promise.race([
      call(caller.signal),
      new Promise<never>((_, reject) => {
        hang = setTimeout(() => reject(new Error(`hung for ${HANG_MS} ms`)), HANG_MS);
      }),
    ]);
    count(what, "resolved");
    return value;
  } catch (error) {
    count(what, error === reason ? "given up" : (error as Error)?.name);
    if (error === reason) return undefined;
    assert.ok(
      error instanceof ProviderError,
      `${what} rejected with ${Object.prototype.toString.call(error)} ${
        String((error as Error)?.stack ?? error).slice(0, 600)
      }\n${answers}`,
    );
    return undefined;
  } finally {
    clearTimeout(giveUp);
    clearTimeout(hang);
  }
}

/** Reads a watch for `ms`, checking every event and error, then ends it. */
async function checkWatch(
  what: string,
  answers: Answers,
  provider: Provider,
  ms: number,
): Promise<{ events: number; errors: number }> {
  const stop = new AbortController();
  const { events, errors } = provider.watch({ signal: stop.signal });
  const seen = { events: 0, errors: 0 };
  const timer = setTimeout(() => stop.abort(), ms);
  try {
    await Promise.all([
      (async () => {
        for await (const event of events) {
          seen.events++;
          assertEvent(event, `${what}: ${answers}`);
        }
      })(),
      (async () => {
        for await (const error of errors) {
          seen.errors++;
          assert.ok(
            error instanceof ProviderError,
            `${what}: the errors stream gave ${Object.prototype.toString.call(error)} ${
              String(error).slice(0, 300)
            }\n${answers}`,
          );
        }
      })(),
    ]);
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  return seen;
}

function assertEvent(event: Event, where: string): void {
  assert.ok(ACTIONS.has(event.action), `action ${event.action}; ${where}`);
  assert.equal(typeof event.actorId, "string", where);
  assert.equal(typeof event.actorName, "string", where);
  assert.ok(!Number.isNaN(event.time.getTime()), `an event without a time; ${where}`);
  for (const value of Object.values(event.actorAttributes)) {
    assert.equal(typeof value, "string", where);
  }
}

// ---------------------------------------------------------------- Docker

const EVENT = {
  status: "die",
  id: ID,
  Type: "container",
  Action: "die",
  Actor: { ID: ID, Attributes: { name: "web", exitCode: "0", signal: "15" } },
  time: 1714557600,
  timeNano: 1714557600123456789,
};
const INSPECT = {
  Id: ID,
  Name: "/web",
  Config: { Image: "busybox" },
  State: { Status: "running", ExitCode: 0, StartedAt: "2024-05-01T10:00:00.123456789Z" },
};
const PING = respond(200, "OK", { "Content-Type": "text/plain", "Api-Version": "1.41" });

/** Answers each Docker endpoint with drawn shapes; `/events` with drawn lines, then closes. */
function dockerHandler(answers: Answers) {
  return async (conn: import("./_server.ts").HostileConn): Promise<void> => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const path = request.path.replace(/^\/v1\.\d+/, "");
      if (path === "/_ping") {
        await conn.write(answers.source.next() < 0.8 ? PING : answers.answer(request, "OK"));
      } else if (path.startsWith("/events")) {
        const lines = Array.from(
          { length: 1 + answers.source.below(8) },
          () => answers.draw(request, { ...EVENT, Action: answers.source.pick(["start", "die"]) }),
        );
        await conn.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
            lines.join("\n") + "\n",
        );
        return;
      } else if (path.startsWith("/containers/json")) {
        await conn.write(answers.answer(request, [{ Id: ID, Names: ["/web"] }]));
      } else if (path.startsWith("/containers/web/json") || path.startsWith(`/containers/${ID}`)) {
        await conn.write(answers.answer(request, INSPECT));
      } else if (path.startsWith("/info")) {
        await conn.write(answers.answer(request, { SystemTime: INSPECT.State.StartedAt }));
      } else {
        await conn.write(answers.answer(request, { message: "conflict: is already in progress" }));
      }
    }
  };
}

Deno.test("Every Docker call settles with a value or a ProviderError on random answers", async () => {
  let events = 0;
  for (let round = 0; round < 30; round++) {
    const answers = new Answers(1300 + round);
    await using server = await HostileServer.unix(dockerHandler(answers));
    using client = new DockerClient({ url: server.url, logger: quiet });
    using provider = newDockerProvider({ client }, "web");
    const at = `Docker round ${round}`;
    await settle(
      `${at}: containerStatus()`,
      answers,
      (signal) => provider.containerStatus({ signal }),
    );
    await settle(
      `${at}: containerStart()`,
      answers,
      (signal) => provider.containerStart({ signal }),
    );
    await settle(
      `${at}: containerStop()`,
      answers,
      (signal) => provider.containerStop("SIGTERM", 1, { signal }),
    );
    await settle(
      `${at}: request()`,
      answers,
      (signal) => client.request("GET", "/containers/json", { signal }),
    );
    events += (await checkWatch(`${at}: watch()`, answers, provider, 250)).events;
  }
  // The shapes are near enough to real events that some are delivered.
  assert.ok(events > 0, "no event was ever delivered: the server's events are too far off");
  assertReached(
    ["containerStatus()", "containerStart()", "containerStop()", "request()"].map((call) =>
      `Docker ${call}`
    ),
  );
});

Deno.test("DockerClient.request() rejects an answer said to be JSON that is not with an ApiError", async () => {
  await using server = await HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      await conn.write(request.path === "/_ping" ? PING : respond(200, '[{"Id": "c0ffee"'));
    }
  });
  using client = new DockerClient({ url: server.url, logger: quiet });
  await assert.rejects(client.request("GET", "/containers/json"), (error) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 200);
    assert.match(error.message, /not JSON/);
    return true;
  });
});

// ---------------------------------------------------------------- Proxmox

const UPID = "UPID:pve:0000A1B2:0001C3D4:65700000:vzstart:101:root@pam:";
const GUESTS = [{ vmid: 101, type: "lxc", node: "pve", status: "running", name: "web" }];
const TASKS = [{ type: "vzstart", status: "OK", starttime: 1714557600, endtime: 1714557601 }];

/** Answers each PVE endpoint with `{ data: <drawn shape> }`, or a drawn body now and then. */
function pveHandler(answers: Answers) {
  const valid = (request: Received): Shape => {
    const path = request.path.replace(/^\/api2\/json/, "").replace(/\?.*/, "");
    if (path === "/access/ticket") {
      return {
        ticket: "PVE:root@pam:65700000::c2lnbmF0dXJl",
        CSRFPreventionToken: "65700000:abc",
        username: "root@pam",
      };
    }
    if (path === "/cluster/resources") return GUESTS;
    if (path === "/nodes") return [{ node: "pve" }];
    if (/\/tasks\/[^/]+\/status$/.test(path)) return { status: "stopped", exitstatus: "OK" };
    if (path.endsWith("/tasks")) return TASKS;
    if (path.endsWith("/status/current")) return { status: "running", name: "web", vmid: 101 };
    if (request.method === "POST") return UPID;
    return GUESTS;
  };
  return async (conn: import("./_server.ts").HostileConn): Promise<void> => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const wrapped = answers.source.next() < 0.85;
      const body = answers.draw(request, valid(request));
      const status = answers.status();
      const text = wrapped && body !== "not json {" ? `{"data":${body}}` : body;
      await conn.write(status === 204 || status === 304 ? respond(status) : respond(status, text));
    }
  };
}

Deno.test("Every Proxmox call settles with a value or a ProviderError on random answers", async () => {
  const tls = await pveTls();
  for (let round = 0; round < 40; round++) {
    const answers = new Answers(4200 + round);
    await using server = HostileServer.tls(tls, pveHandler(answers));
    const credentials = round % 2 === 0
      ? { tokenId: TOKEN_ID, secret: SECRET }
      : { username: "root", password: "correct horse battery staple" };
    const config: ProxmoxConfig = {
      url: server.url,
      ...credentials,
      caCerts: [tls.ca],
      timeout: 2,
      watchInterval: 0.1,
      logger: quiet,
    };
    using client = new ProxmoxClient(config);
    const at = `Proxmox round ${round}`;
    const provider = await settle(
      `${at}: newProxmoxProvider()`,
      answers,
      (signal) =>
        newProxmoxProvider(round % 3 === 0 ? "" : "pve", 101, {
          client,
          signal,
          actionTimeout: 1,
          type: round % 4 === 1 ? "qemu" : undefined,
        }),
    );
    await settle(
      `${at}: request()`,
      answers,
      (signal) => client.request("GET", "/cluster/resources", { signal }),
    );
    await settle(
      `${at}: request() of /nodes/%zz`,
      answers,
      (signal) => client.request("GET", "/nodes/%zz/status", { signal }),
    );
    if (provider === undefined) continue;
    await settle(
      `${at}: containerStatus()`,
      answers,
      (signal) => provider.containerStatus({ signal }),
    );
    await settle(
      `${at}: containerStart()`,
      answers,
      (signal) => provider.containerStart({ signal }),
    );
    await checkWatch(`${at}: watch()`, answers, provider, 350);
    provider.close();
  }
  assertReached(
    ["newProxmoxProvider()", "request()", "containerStatus()", "containerStart()"].map((call) =>
      `Proxmox ${call}`
    ),
  );
});
