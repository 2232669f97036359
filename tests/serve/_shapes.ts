/**
 * Real runtime answers as the server reads them (a Compose container's
 * listing entry, inspection and events; a tagged PVE guest; the state file),
 * a Docker engine on a unix socket that answers them with drawn shapes, and
 * the checks every value the server read must pass.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { InstanceInfo, RuntimeChange } from "../../serve/_model.ts";
import { describeShape, type Shape, ShapeSource, toJsonText } from "../_fakes/json_shapes.ts";
import { type HostileConn, PING, type Received, respond } from "../hostile/_server.ts";

/** A Compose container's id. */
export const ID = "5e1f".padEnd(64, "a");
/** Its Compose labels, with the server's own. */
export const LABELS = {
  "sablier.enable": "true",
  "sablier.group": "shop",
  "com.docker.compose.project": "shop",
  "com.docker.compose.service": "web",
  "com.docker.compose.depends_on": "db:service_healthy:false,cache:service_started:true",
  "com.docker.compose.container-number": "1",
  "idlewatcher.sleep": "pause",
  "idlewatcher.stop-timeout": "5",
  "idlewatcher.ready-tcp": "127.0.0.1:18080",
};
/** An entry of `GET /containers/json`. */
export const LIST_ENTRY = {
  Id: ID,
  Names: ["/shop-web-1"],
  Image: "busybox",
  Command: "httpd -f",
  Created: 1714557600,
  State: "running",
  Status: "Up 2 minutes (healthy)",
  Labels: LABELS,
};
/** `GET /containers/{id}/json`. */
export const INSPECT = {
  Id: ID,
  Name: "/shop-web-1",
  Config: {
    Image: "busybox",
    Labels: LABELS,
    Healthcheck: { Test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"] },
  },
  State: {
    Status: "running",
    Running: true,
    Paused: false,
    StartedAt: "2024-05-01T10:00:00.123456789Z",
    Health: { Status: "healthy", FailingStreak: 0, Log: [] },
  },
};
/** A line of `GET /events`. */
export function eventOf(action: string): Record<string, unknown> {
  return {
    status: action,
    id: ID,
    from: "busybox",
    Type: "container",
    Action: action,
    Actor: { ID, Attributes: { name: "shop-web-1", ...LABELS } },
    scope: "local",
    time: 1714557600,
    timeNano: 1714557600123456789,
  };
}
/** The actions drawn for event lines. */
export const EVENT_ACTIONS = [
  "start",
  "die",
  "pause",
  "unpause",
  "create",
  "rename",
  "destroy",
  "health_status: healthy",
  "health_status: unhealthy",
];
/** `GET /version` of Podman. */
export const VERSION = {
  Components: [{ Name: "Podman Engine", Version: "4.3.1" }],
  Version: "4.3.1",
  ApiVersion: "1.41",
};
/** Podman's `GET /libpod/containers/{id}/healthcheck`. */
export const HEALTHCHECK = { Status: "healthy", FailingStreak: 0, Log: [] };
/** An entry of PVE's `GET /cluster/resources?type=vm`. */
export const PVE_GUEST = {
  id: "lxc/101",
  type: "lxc",
  node: "pve",
  vmid: 101,
  name: "web",
  status: "running",
  tags: "sablier;sablier-group-shop;idlewatcher-stop-timeout-30",
  maxmem: 536870912,
  template: 0,
};
/** The server's state file. */
export const STATE_FILE = {
  version: 1,
  sessions: {
    [`docker/${ID}`]: { name: "shop-web-1", until: 1714557900000 },
    "proxmox/pve/101": { name: "web", until: 1714557960000 },
  },
};

/** Words that show a raw JavaScript error reached a log line or an answer. */
const RAW_ERROR =
  /TypeError|SyntaxError|RangeError: Invalid|is not a function|Cannot read properties|is not iterable|\[object /;

/**
 * Asserts that a log line or message carries no raw JavaScript error.
 *
 * @param line The line.
 * @param where Where it came from, for the failure message.
 */
export function assertClear(line: string, where: string): void {
  assert.doesNotMatch(line, RAW_ERROR, `${where}: ${line.slice(0, 600)}`);
}

/**
 * Asserts that an instance description has the types the engine relies on.
 *
 * @param info The description.
 * @param where Where it came from, for the failure message.
 */
export function assertInfo(info: InstanceInfo, where: string): void {
  const at = `${where}: ${JSON.stringify(info).slice(0, 600)}`;
  assert.ok(/^[A-Za-z0-9][A-Za-z0-9_.\/-]*$/.test(info.runtimeId), at);
  assert.ok(typeof info.name === "string" && info.name !== "", at);
  for (const list of [info.aliases, info.groups, info.dependsOn]) {
    assert.ok(Array.isArray(list), at);
    for (const item of list) assert.ok(typeof item === "string" && item !== "", at);
  }
  assert.ok(info.groups.length > 0, at);
  assert.ok(["stop", "pause"].includes(info.sleep.method), at);
  assert.equal(typeof info.sleep.signal, "string", at);
  assert.ok(Number.isSafeInteger(info.sleep.timeoutSeconds) && info.sleep.timeoutSeconds >= 0, at);
  assert.equal(typeof info.healthcheck, "boolean", at);
  for (const text of [info.composeProject, info.composeService]) {
    assert.ok(text === undefined || typeof text === "string", at);
  }
  if (info.probe !== undefined) {
    assert.ok(
      info.probe.kind === "http"
        ? typeof info.probe.url === "string"
        : Number.isInteger(info.probe.port) && typeof info.probe.hostname === "string",
      at,
    );
  }
  assert.ok(["running", "stopped", "paused", "error"].includes(info.state.status), at);
  assert.ok([undefined, "starting", "healthy", "unhealthy"].includes(info.state.health), at);
}

/**
 * Asserts that a runtime change has the types the engine relies on.
 *
 * @param change The change.
 * @param where Where it came from, for the failure message.
 */
export function assertChange(change: RuntimeChange, where: string): void {
  const at = `${where}: ${JSON.stringify(change).slice(0, 600)}`;
  switch (change.kind) {
    case "resync":
      for (const info of change.infos) assertInfo(info, where);
      break;
    case "upsert":
      assertInfo(change.info, where);
      break;
    case "health":
      assert.ok(["starting", "healthy", "unhealthy"].includes(change.health), at);
      assert.match(change.runtimeId, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, at);
      break;
    default:
      assert.match(change.runtimeId, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, at);
  }
}

/** What a round's engine answered lately, for a failure message. */
export class Answers {
  readonly seed: number;
  readonly source: ShapeSource;
  /** How often the real answer is sent as it is. */
  realShare = 0.3;
  #last: string[] = [];

  constructor(seed: number) {
    this.seed = seed;
    this.source = new ShapeSource(seed);
  }

  /** Draws a body for `request`: the real answer, a shape, or text that is not JSON. */
  draw(request: Received | string, valid: Shape): string {
    const roll = this.source.next();
    const text = roll < 0.05
      ? "not json {"
      : toJsonText(roll < this.realShare ? valid : this.source.draw(valid)) ?? "";
    const what = typeof request === "string" ? request : `${request.method} ${request.path}`;
    this.#last.push(`${what} -> ${describeShape(text)}`);
    if (this.#last.length > 8) this.#last.shift();
    return text;
  }

  toString(): string {
    return `seed ${this.seed}; last answers:\n  ${this.#last.join("\n  ")}`;
  }
}

/** Options of {@linkcode dockerHandler}. */
export interface DockerHandlerOptions {
  /** Whether `/version` is drawn too (else always Docker's). */
  drawVersion?: boolean;
  /** How many event streams get drawn lines; later ones stay open and quiet. */
  drawnStreams?: number;
  /** Counts what was answered. */
  counts?: Map<string, number>;
}

/**
 * A Docker engine whose listing, inspections, events and healthchecks are
 * drawn shapes; power calls answer 204, waits `{"StatusCode": 0}`.
 *
 * @param answers The round's draws.
 * @param options What is drawn.
 * @returns A handler for a hostile server.
 */
export function dockerHandler(answers: Answers, options: DockerHandlerOptions = {}) {
  let streams = 0;
  const counts = options.counts ?? new Map<string, number>();
  const counted = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
  return async (conn: HostileConn): Promise<void> => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const path = request.path.replace(/^\/v\d+\.\d+/, "");
      if (path === "/_ping") {
        await conn.write(PING);
      } else if (path === "/version") {
        const body = options.drawVersion
          ? answers.draw(request, VERSION)
          : JSON.stringify({ Version: "20.10.24", ApiVersion: "1.41" });
        await conn.write(respond(200, body));
      } else if (path.startsWith("/events")) {
        counted("events");
        if (streams++ >= (options.drawnStreams ?? Infinity)) {
          await conn.write(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
          );
          await conn.waitForClose();
          return;
        }
        const lines = Array.from(
          { length: 1 + answers.source.below(8) },
          () => answers.draw(request, eventOf(answers.source.pick(EVENT_ACTIONS))),
        );
        await conn.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
            lines.join("\n") + "\n",
        );
        return;
      } else if (path.startsWith("/containers/json")) {
        counted("list");
        await conn.write(respond(200, answers.draw(request, [LIST_ENTRY, LIST_ENTRY])));
      } else if (/^\/containers\/[^/]+\/json/.test(path)) {
        counted("inspect");
        await conn.write(respond(200, answers.draw(request, INSPECT)));
      } else if (path.includes("/healthcheck")) {
        counted("healthcheck");
        await conn.write(respond(200, answers.draw(request, HEALTHCHECK)));
      } else if (path.includes("/wait")) {
        await conn.write(respond(200, JSON.stringify({ StatusCode: 0 })));
      } else if (request.method === "POST") {
        await conn.write(respond(204));
      } else {
        await conn.write(respond(404, JSON.stringify({ message: "page not found" })));
      }
    }
  };
}
