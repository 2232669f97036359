import assert from "node:assert/strict";
import {
  errorOfKind,
  failurePrefix,
  kindOf,
  kindOfStatus,
  restate,
} from "../../_internal/errdefs.ts";
import {
  ApiError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  ProviderError,
  TaskError,
  TimeoutError,
} from "../../errors.ts";

Deno.test("kindOfStatus() maps each runtime's answers to one kind", () => {
  const missing = "Configuration file 'nodes/pve/lxc/101.conf' does not exist";
  const cases: [Parameters<typeof kindOfStatus>, string][] = [
    [["docker", 404, "No such container: web"], "not-found"],
    [["docker", 409, "conflict"], "api"],
    [["docker", 500, missing], "api"],
    [["proxmox", 404, "Method not found"], "api"],
    [["proxmox", 500, missing], "not-found"],
    [["proxmox", 500, "CT 101 already running"], "api"],
    [["proxmox", 595, "No route to host"], "connection"],
    [["proxmox", 596, ""], "connection"],
    [["proxmox", 401, "authentication failure"], "api"],
  ];
  for (const [args, kind] of cases) assert.equal(kindOfStatus(...args), kind, args.join(" "));
});

Deno.test("errorOfKind() builds the class of each kind, and kindOf() reads it back", () => {
  const classes = {
    connection: ConnectionError,
    "not-found": NotFoundError,
    timeout: TimeoutError,
    api: ApiError,
    task: TaskError,
    "invalid-argument": InvalidArgumentError,
    provider: ProviderError,
  } as const;
  for (const [kind, type] of Object.entries(classes)) {
    const error = errorOfKind(kind as keyof typeof classes, "boom", { runtime: "docker" });
    assert.equal(error.constructor, type);
    assert.equal(kindOf(error), kind);
    assert.equal(error.runtime, "docker");
  }
  assert.equal(kindOf(new Error("plain")), undefined);
});

Deno.test("restate() keeps the kind and fields of a shared stream's failure", () => {
  const api = new ApiError('Cannot watch container "*": daemon returned 500: boom', {
    runtime: "docker",
    status: 500,
    serverMessage: "boom",
  });
  const options = { runtime: "docker" as const, action: "watch", container: "web" };
  const restated = restate(api, 'Cannot watch container "web": daemon returned 500: boom', options);
  assert.ok(restated instanceof ApiError);
  assert.equal(restated.status, 500);
  assert.equal(restated.serverMessage, "boom");
  assert.equal(restated.container, "web");
  assert.equal(restated.cause, api);
  const task = new TaskError("x", { task: "vzstart", exitStatus: "locked" });
  const restatedTask = restate(task, "y", options);
  assert.ok(restatedTask instanceof TaskError);
  assert.equal(restatedTask.exitStatus, "locked");
  assert.ok(restate(new NotFoundError("gone"), "m", options) instanceof NotFoundError);
  assert.ok(restate(new TimeoutError("slow"), "m", options) instanceof TimeoutError);
  // A failure no provider made (a Deno error) means the stream broke.
  const broken = restate(new Deno.errors.ConnectionReset("reset"), "m", options);
  assert.ok(broken instanceof ConnectionError);
});

Deno.test("failurePrefix() words a request's context", () => {
  assert.equal(
    failurePrefix({ action: "start", container: "web" }),
    'Cannot start container "web"',
  );
  assert.equal(
    failurePrefix({ action: "status", container: "web" }),
    'Cannot read the status of container "web"',
  );
  assert.equal(
    failurePrefix({ action: "start", container: "101", what: 'start CT 101 on node "pve"' }),
    'Cannot start CT 101 on node "pve"',
  );
});
