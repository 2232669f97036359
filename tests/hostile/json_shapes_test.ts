/**
 * Every parser of server JSON, fed a few hundred random shapes each (made
 * from nothing, or near misses of a real answer): it returns a value of the
 * type it documents, or throws the error it documents (a ProviderError
 * kind; `EventFormatError` for the event-line and inspection parsers, which
 * the watch turns into ProviderErrors). Never a TypeError, RangeError,
 * SyntaxError or URIError. A failure names the parser, the seed, the draw
 * and the shape.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../errors.ts";
import { Action } from "../../events/mod.ts";
import { ContainerStatus } from "../../provider.ts";
import { negotiateApiVersion } from "../../docker/_api.ts";
import { ContainerPower } from "../../docker/_power.ts";
import { responseError, type Transport as DockerTransport } from "../../docker/_transport.ts";
import { DaemonCalls, type WatchClient } from "../../docker/_watch/_daemon.ts";
import { EventLineParser } from "../../docker/_watch/_line_parser.ts";
import {
  EventFormatError,
  lineTimeNano,
  nanoDate,
  parseEventLine,
  parseInspect,
  type WireEvent,
} from "../../docker/_watch/_wire.ts";
import { NODE_NAME } from "../../proxmox/_api.ts";
import { answerError, nodeOfPath } from "../../proxmox/_errors.ts";
import { clusterGuests, GuestLocation, unknownNodeError } from "../../proxmox/_locate.ts";
import { readCurrentStatus } from "../../proxmox/_power_call.ts";
import { archiveEstimate, latestPowerTask, parseUpid, waitForTask } from "../../proxmox/_tasks.ts";
import type { Transport as PveTransport } from "../../proxmox/_transport.ts";
import { vmStatusOf } from "../../proxmox/_vm_status.ts";
import { ApiError, NotFoundError } from "../../errors.ts";
import { describeShape, type Shape, ShapeSource, toJsonText } from "../_fakes/json_shapes.ts";

/** Draws per parser. */
const DRAWS = 300;
const encoder = new TextEncoder();
const quiet = { debug() {}, error() {} };
const STATUSES = Object.values(ContainerStatus) as string[];
const ACTIONS = new Set<string>(Object.values(Action));

/** A real docker event line's fields. */
const EVENT = {
  status: "start",
  id: "c0ffee",
  from: "busybox",
  Type: "container",
  Action: "start",
  Actor: { ID: "c0ffee", Attributes: { image: "busybox", name: "web", exitCode: "0" } },
  scope: "local",
  time: 1714557600,
  timeNano: 1714557600123456789,
};
/** A real inspection, cut to what is read. */
const INSPECT = {
  Id: "c0ffee",
  Name: "/web",
  Config: { Image: "busybox" },
  State: {
    Status: "exited",
    Running: false,
    ExitCode: 137,
    StartedAt: "2024-05-01T10:00:00.123456789Z",
    FinishedAt: "2024-05-01T10:05:00Z",
  },
};
const UPID = "UPID:pve:0000A1B2:0001C3D4:65700000:vzstart:101:root@pam:";
const GUESTS = [{ vmid: 101, type: "lxc", node: "pve", status: "running", name: "web" }];
const TASKS = [
  { type: "vzsuspend", status: "OK", starttime: 1714557600, endtime: 1714557602, upid: UPID },
  { type: "vzstart", status: "OK", starttime: 1714557500, endtime: 1714557501 },
  { type: "vzstart", status: "OK", starttime: 1714557400, endtime: 1714557401 },
  { type: "vzstart", status: "OK", starttime: 1714557300, endtime: 1714557302 },
];

/**
 * Runs `check` on {@linkcode DRAWS} shapes of one seed; an error the check
 * does not accept fails the test with the parser, seed, draw and shape.
 */
async function forShapes(
  parser: string,
  seed: number,
  valid: Shape,
  check: (shape: Shape) => unknown,
  accepts: (error: unknown) => boolean = (error) => error instanceof ProviderError,
): Promise<void> {
  const source = new ShapeSource(seed);
  for (let draw = 0; draw < DRAWS; draw++) {
    const shape = source.draw(valid);
    try {
      await check(shape);
    } catch (error) {
      if (error instanceof assert.AssertionError || !accepts(error)) {
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        assert.fail(
          `${parser}, seed ${seed}, draw ${draw}: ${what.slice(0, 300)}\n  shape: ${
            describeShape(shape)
          }`,
        );
      }
    }
  }
}

/** A value as an answer's status: mostly 200, else any. */
function statusOf(source: ShapeSource): number {
  return source.next() < 0.6
    ? 200
    : source.pick([204, 304, 400, 401, 403, 404, 409, 500, 502, 595, 596, 999]);
}

function assertWireEvent(event: WireEvent | null): void {
  if (event === null) return;
  assert.equal(typeof event.id, "string");
  assert.ok(event.id !== "", "an event without an id");
  assert.ok(ACTIONS.has(event.action), `action ${event.action}`);
  for (const value of Object.values(event.attributes)) assert.equal(typeof value, "string");
  assert.match(event.timeNano, /^\d+$/);
  assert.ok(!Number.isNaN(nanoDate(event.timeNano).getTime()), `no date: ${event.timeNano}`);
  BigInt(event.timeNano);
}

const isFormatError = (error: unknown) => error instanceof EventFormatError;

Deno.test("parseEventLine() returns an event, null or an EventFormatError for any line", async (t) => {
  await t.step("parseEventLine()", async () => {
    await forShapes("parseEventLine", 601, EVENT, (shape) => {
      const line = toJsonText(shape) ?? "";
      assertWireEvent(parseEventLine(line, lineTimeNano(line)));
    }, isFormatError);
  });
  await t.step("EventLineParser.parse(), which remembers lines", async () => {
    const parser = new EventLineParser();
    await forShapes("EventLineParser.parse", 602, EVENT, (shape) => {
      const line = toJsonText(shape) ?? "";
      assertWireEvent(parser.parse(line, lineTimeNano(line)));
    }, isFormatError);
  });
  await t.step("a regression: a time of 1e21 or -5 seconds is no time", () => {
    for (const time of [1e21, -5, Infinity]) {
      const line = toJsonText({ ...EVENT, timeNano: undefined, time });
      assert.throws(() => parseEventLine(line, lineTimeNano(line)), EventFormatError);
    }
  });
});

Deno.test("parseInspect() returns a state or an EventFormatError for any answer", async () => {
  await forShapes("parseInspect", 603, INSPECT, (shape) => {
    const state = parseInspect(shape);
    assert.equal(typeof state.id, "string");
    assert.ok(["running", "paused", "stopped"].includes(state.phase));
    assert.equal(typeof state.exitCode, "number");
    for (const at of [state.startedAt, state.finishedAt]) {
      if (at !== undefined) assert.ok(!Number.isNaN(new Date(Number(at / 1_000_000n)).getTime()));
    }
  }, isFormatError);
});

Deno.test("responseError() makes a ProviderError of any Docker error body", async () => {
  const source = new ShapeSource(604);
  await forShapes("responseError", 604, { message: "No such container: web" }, (shape) => {
    const body = source.next() < 0.1 ? "not json {" : toJsonText(shape) ?? "";
    const error = responseError(statusOf(source), encoder.encode(body), { action: "start" });
    assert.ok(error instanceof ProviderError);
  }, () => false);
});

/** A Docker transport that answers every request with `answer`. */
function dockerStub(answer: () => { status: number; body: string }): DockerTransport {
  const stub: Partial<DockerTransport> = {
    url: "unix:///stub.sock",
    send: () => {
      const { status, body } = answer();
      return Promise.resolve({
        status,
        headers: new Headers({ date: new Date().toUTCString() }),
        body: encoder.encode(body),
      });
    },
    apiVersion: () => Promise.resolve("1.41"),
  };
  return stub as DockerTransport;
}

Deno.test("ContainerPower.inspect() returns a status or a ProviderError for any answer", async () => {
  let body = "";
  const power = new ContainerPower(dockerStub(() => ({ status: 200, body })), "web", quiet);
  await forShapes("ContainerPower.inspect", 605, INSPECT, async (shape) => {
    body = toJsonText(shape) ?? "";
    const status = await power.inspect(AbortSignal.timeout(1_000), { action: "status" });
    assert.ok(STATUSES.includes(status), `status ${status}`);
  });
});

Deno.test("DaemonCalls reads any /info and inspection answer of a watch", async (t) => {
  let answer = { status: 200, body: "" };
  const calls = new DaemonCalls(
    dockerStub(() => answer) as unknown as WatchClient,
    { action: "watch" },
    1_000,
  );
  const source = new ShapeSource(606);
  await t.step("clock()", async () => {
    await forShapes(
      "DaemonCalls.clock",
      606,
      { SystemTime: INSPECT.State.StartedAt },
      async (shape) => {
        answer = { status: statusOf(source), body: toJsonText(shape) ?? "" };
        const now = await calls.clock(AbortSignal.timeout(1_000));
        if (now !== undefined) assert.equal(typeof now, "bigint");
      },
    );
  });
  await t.step("inspect()", async () => {
    await forShapes("DaemonCalls.inspect", 607, INSPECT, async (shape) => {
      answer = { status: statusOf(source), body: toJsonText(shape) ?? "" };
      const { state } = await calls.inspect("web", AbortSignal.timeout(1_000));
      if (state !== null) assert.equal(typeof state.id, "string");
    });
  });
});

Deno.test("negotiateApiVersion() gives a version for any API-Version header", async () => {
  await forShapes("negotiateApiVersion", 608, "1.41", (shape) => {
    const header = typeof shape === "string" ? shape : toJsonText(shape) ?? null;
    assert.match(negotiateApiVersion(header), /^\d+\.\d+$/);
  }, () => false);
});

Deno.test("answerError() makes a ProviderError of any PVE error answer and path", async () => {
  const source = new ShapeSource(609);
  const paths = ["/nodes/pve/lxc/101/status/current", "/nodes/%zz/x", "/nodes/%E0%A4%A/x", "/x"];
  await forShapes("answerError", 609, { data: null, message: "CT 101 not running\n" }, (shape) => {
    const body = source.next() < 0.1 ? "<html>" : toJsonText(shape) ?? "";
    const answer = {
      status: statusOf(source),
      statusText: source.pick(["", "X", "\x1b[2J"]),
      body,
    };
    assert.ok(
      answerError(answer, source.pick(paths), { action: "start" }) instanceof ProviderError,
    );
  }, () => false);
});

Deno.test("nodeOfPath() reads any path, malformed escapes too", async () => {
  await forShapes("nodeOfPath", 610, "/nodes/pve/status", (shape) => {
    const node = nodeOfPath(`/nodes/${typeof shape === "string" ? shape : toJsonText(shape)}/x`);
    if (node !== undefined) assert.equal(typeof node, "string");
  }, () => false);
});

Deno.test("parseUpid() and vmStatusOf() read any value", async () => {
  await forShapes("parseUpid", 611, UPID, (shape) => {
    const upid = parseUpid(shape);
    if (upid !== undefined) assert.match(upid.node, NODE_NAME);
  }, () => false);
  await forShapes("vmStatusOf", 612, { status: "running", qmpstatus: "paused" }, (shape) => {
    const fields = typeof shape === "object" && shape !== null ? shape : { status: shape };
    assert.ok(STATUSES.includes(vmStatusOf(fields)));
  }, () => false);
});

/** A PVE transport whose `request` resolves with what `answer` gives for a path. */
function pveStub(answer: (method: string, path: string) => unknown): PveTransport {
  const stub = {
    config: { logger: quiet },
    closed: new AbortController().signal,
    request: (method: string, path: string) => Promise.resolve(answer(method, path)),
  };
  return stub as unknown as PveTransport;
}

const context = { action: "status", container: "101" };

Deno.test("The Proxmox readers of lists and tasks take any data", async (t) => {
  let data: Shape;
  const transport = pveStub(() => data);
  const signal = () => AbortSignal.timeout(2_000);
  await t.step("clusterGuests()", async () => {
    await forShapes("clusterGuests", 613, GUESTS, async (shape) => {
      data = shape;
      for (const [vmid, guest] of await clusterGuests(transport, { signal: signal(), context })) {
        assert.ok(Number.isSafeInteger(vmid), `vmid ${vmid}`);
        assert.match(guest.node, NODE_NAME);
        assert.equal(typeof guest.type, "string");
      }
    });
  });
  await t.step("latestPowerTask()", async () => {
    await forShapes("latestPowerTask", 614, TASKS, async (shape) => {
      data = shape;
      const task = await latestPowerTask(transport, "pve", 101, { signal: signal(), context });
      if (task !== undefined) assert.equal(typeof task.type, "string");
    });
  });
  await t.step("archiveEstimate()", async () => {
    const upid = parseUpid(UPID)!;
    await forShapes("archiveEstimate", 615, TASKS, async (shape) => {
      data = shape;
      const end = await archiveEstimate(transport, upid, { signal: signal(), context });
      if (end === undefined) return;
      for (const time of [end.running, end.done]) {
        assert.ok(Number.isFinite(time) && time >= 0, `estimate ${time}`);
      }
    });
  });
  await t.step("unknownNodeError()", async () => {
    const cause = new ApiError("500", { status: 500 });
    const where = { node: "gone", vmid: 101, type: "lxc" as const };
    await forShapes("unknownNodeError", 616, [{ node: "pve" }, { node: "pve2" }], async (shape) => {
      data = shape;
      const error = await unknownNodeError(transport, where, cause, signal());
      if (error !== undefined) assert.ok(error instanceof NotFoundError);
    });
  });
  await t.step("readCurrentStatus()", async () => {
    const location = new GuestLocation(transport, { node: "pve", vmid: 101, type: "lxc" });
    await forShapes("readCurrentStatus", 617, { status: "running", name: "web" }, async (shape) => {
      data = shape;
      const fields = await readCurrentStatus(transport, { location, context, signal: signal() });
      assert.ok(typeof fields === "object" && fields !== null && !Array.isArray(fields));
    });
  });
});

Deno.test("waitForTask() reads any task status", async () => {
  let first: Shape;
  let calls = 0;
  // The first status read gets the shape, the later ones a stopped task (a "running" shape polls).
  const transport = pveStub((_method, path) =>
    path.endsWith("/tasks") ? [] : calls++ === 0 ? first : { status: "stopped", exitstatus: "OK" }
  );
  const upid = parseUpid(UPID)!;
  await forShapes("waitForTask", 618, { status: "stopped", exitstatus: "OK" }, async (shape) => {
    first = shape;
    calls = 0;
    const exit = await waitForTask(transport, upid, {
      signal: AbortSignal.timeout(3_000),
      context,
    });
    assert.equal(typeof exit, "string");
  });
});
