import assert from "node:assert/strict";
import { IdleEngine } from "../../serve/_engine.ts";
import { createHandler } from "../../serve/_routes.ts";
import { IdleServer } from "../../serve/_server.ts";
import { ThemeRegistry } from "../../serve/_themes/mod.ts";
import { fakeInfo, FakeRuntime, memoryLogger, until } from "./_fake_runtime.ts";

async function withServer(
  runtimes: FakeRuntime[],
  body: (base: string, server: IdleServer) => Promise<void>,
): Promise<void> {
  const server = await IdleServer.start({
    hostname: "127.0.0.1",
    port: 0,
    runtimes,
    sessionMs: 60_000,
    logger: memoryLogger(),
  });
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, server);
  } finally {
    await server.close();
  }
}

async function problemOf(response: Response): Promise<Record<string, unknown>> {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const text = await response.text();
  assert.doesNotMatch(text, /\bat .*\.ts:\d+/, "no stack trace");
  assert.ok(text.includes("\n  "), "indented, so that a browser shows it readably");
  const body = JSON.parse(text);
  assert.equal(body.status, response.status);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  return body;
}

Deno.test("GET /api/strategies/dynamic answers the loading page, not-ready then ready", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web", { healthcheck: true })]);
  await withServer([runtime], async (base) => {
    const url = `${base}/api/strategies/dynamic?names=web&display_name=Wiki&refresh_frequency=2s`;
    const first = await fetch(url);
    const page = await first.text();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-sablier-session-status"), "not-ready");
    assert.equal(first.headers.get("cache-control"), "no-cache");
    assert.match(first.headers.get("content-type")!, /^text\/html/);
    assert.ok(new TextEncoder().encode(page).length < 32 * 1024);
    assert.match(page, /Wiki/);
    assert.match(page, /content="2"/, "refreshes itself at refresh_frequency");
    await until(() => runtime.containers.get("id-web")!.status === "running");
    runtime.health("web", "healthy");
    const second = await fetch(url);
    await second.body?.cancel();
    assert.equal(second.headers.get("x-sablier-session-status"), "ready");
    assert.equal(runtime.count("start", "web"), 1);
  });
});

Deno.test("GET /api/strategies/blocking waits until ready and answers Sablier's JSON shape", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web"), fakeInfo("db")]);
  runtime.powerDelayMs = 50;
  await withServer([runtime], async (base) => {
    const response = await fetch(
      `${base}/api/strategies/blocking?names=web&names=optional:db&session_duration=1m&timeout=5s`,
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-sablier-session-status"), "ready");
    assert.match(response.headers.get("content-type")!, /^application\/json/);
    const body = await response.json();
    assert.equal(body.session.status, "ready");
    const byName = Object.fromEntries(
      body.session.instances.map((
        entry: { instance: { name: string } },
      ) => [entry.instance.name, entry]),
    );
    assert.deepEqual(byName.web, {
      instance: {
        name: "web",
        currentReplicas: 1,
        desiredReplicas: 1,
        status: "ready",
        provider: "docker",
      },
    });
    assert.equal(byName.db.optional, true);
    assert.deepEqual(Object.keys(body), ["session"]);
    assert.equal(runtime.count("start", "db"), 1, "an optional instance is woken too");
  });
});

Deno.test("Empty parameters mean their defaults, as Sablier's nginx integration sends them", async (t) => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  await withServer([runtime], async (base) => {
    await t.step("dynamic", async () => {
      const response = await fetch(
        `${base}/api/strategies/dynamic?names=web&group=&session_duration=&display_name=&theme=&refresh_frequency=&show_details=`,
      );
      await response.body?.cancel();
      assert.equal(response.status, 200);
    });
    await t.step("blocking", async () => {
      const response = await fetch(
        `${base}/api/strategies/blocking?names=&names=web&session_duration=&timeout=&refresh_frequency=`,
      );
      assert.equal(response.status, 200);
      assert.equal((await response.json()).session.status, "ready");
    });
  });
});

Deno.test("GET /api/strategies/blocking answers 504 with the instances past its timeout", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web", { healthcheck: true })]);
  await withServer([runtime], async (base) => {
    const response = await fetch(`${base}/api/strategies/blocking?names=web&timeout=300ms`);
    assert.equal(response.status, 504);
    const problem = await problemOf(response);
    assert.match(String(problem.detail), /not ready after 300ms: web is starting/);
    assert.deepEqual(
      (problem.instances as { name: string; status: string }[]).map((i) => [i.name, i.status]),
      [["web", "starting"]],
    );
  });
});

Deno.test("A blocking request the client abandons is answered 503", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web", { healthcheck: true })]);
  await withServer([runtime], async (base, server) => {
    await fetch(`${base}/api/strategies/blocking?names=web&timeout=30s`, {
      signal: AbortSignal.timeout(200),
    }).then((r) => r.body?.cancel(), () => {});
    await until(() => /status="503"/.test(server.engine.metrics.render()), 3_000);
  });
});

Deno.test("Hostile input gets the right problem+json status and no runtime request", async (t) => {
  const docker = new FakeRuntime("docker", [fakeInfo("web"), fakeInfo("both")]);
  const podman = new FakeRuntime("podman", [fakeInfo("both")]);
  await withServer([docker, podman], async (base, server) => {
    const before = server.engine.metrics.runtimeRequests;
    const callsBefore = docker.calls.length + podman.calls.length;
    const cases: [string, string, number, RegExp][] = [
      ["bad duration", "dynamic?names=web&session_duration=abc", 400, /Invalid duration "abc"/],
      ["negative duration", "blocking?names=web&session_duration=-5s", 400, /positive/],
      ["zero refresh", "dynamic?names=web&refresh_frequency=0", 400, /positive/],
      ["bad timeout", "blocking?names=web&timeout=1x", 400, /Invalid duration/],
      ["bad boolean", "dynamic?names=web&show_details=maybe", 400, /true or false/],
      ["names and group", "dynamic?names=web&group=default", 400, /both set/],
      ["neither", "blocking?display_name=x", 400, /must be set/],
      ["unknown theme", "dynamic?names=web&theme=nope", 404, /theme "nope" does not exist/],
      ["unknown group", "blocking?group=nope", 404, /group "nope"/],
      ["unknown name", "blocking?names=nope", 404, /named "nope"/],
      ["path characters", "dynamic?names=..%2F..%2Fetc%2Fpasswd", 404, /passwd/],
      ["engine and path", "dynamic?names=docker%2F..%2Fweb", 404, /named/],
      ["a control character", "dynamic?names=web%00", 404, /named/],
      ["a very long name", `dynamic?names=${"a".repeat(300)}`, 400, /too long/],
      ["too many names", `blocking?${"names=web&".repeat(101)}`, 400, /Too many names/],
      ["a name on two engines", "blocking?names=both", 409, /docker\/both, podman\/both/],
    ];
    for (const [what, query, status, detail] of cases) {
      await t.step(what, async () => {
        const response = await fetch(`${base}/api/strategies/${query}`);
        assert.equal(response.status, status);
        const problem = await problemOf(response);
        assert.match(String(problem.detail), detail);
      });
    }
    await t.step("50 KB of query: problem+json 400 from the server", async () => {
      const port = Number(new URL(base).port);
      const query = `names=web&display_name=${"x".repeat(50_000)}`;
      const { status, headers, body } = await rawGet(port, `/api/strategies/dynamic?${query}`);
      assert.equal(status, 400);
      assert.equal(headers.get("content-type"), "application/problem+json");
      assert.match(JSON.parse(body).detail, /query is too long/);
    });
    await t.step(
      "100 KB of query: 400 from the HTTP layer (past its 64 KiB URI limit)",
      async () => {
        const port = Number(new URL(base).port);
        const query = `names=web&display_name=${"x".repeat(100_000)}`;
        const { status } = await rawGet(port, `/api/strategies/dynamic?${query}`);
        assert.equal(status, 400);
      },
    );
    await t.step("another method", async () => {
      const response = await fetch(`${base}/api/strategies/dynamic?names=web`, { method: "POST" });
      assert.equal(response.status, 405);
      await problemOf(response);
    });
    await t.step("an unknown path", async () => {
      const response = await fetch(`${base}/api/strategies/%2e%2e/%2e%2e/etc`);
      assert.equal(response.status, 404);
      await problemOf(response);
    });
    assert.equal(server.engine.metrics.runtimeRequests, before);
    assert.equal(docker.calls.length + podman.calls.length, callsBefore);
    assert.equal(docker.containers.get("id-web")!.status, "stopped", "never started");
  });
});

Deno.test("GET /api/themes, /health and /metrics", async (t) => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  await withServer([runtime], async (base) => {
    await t.step("/api/themes lists the built-in themes", async () => {
      for (const path of ["/api/themes", "/api/dynamic/themes"]) {
        const body = await (await fetch(base + path)).json();
        for (const theme of ["ghost", "hacker-terminal", "matrix", "shuffle"]) {
          assert.ok(body.themes.includes(theme), `${path} lists ${theme}`);
        }
      }
    });
    await t.step("/health", async () => {
      const response = await fetch(`${base}/health`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "OK");
    });
    await t.step("/metrics counts wakes, sessions and requests", async () => {
      const woke = await fetch(`${base}/api/strategies/blocking?names=web&timeout=5s`);
      await woke.body?.cancel();
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /^idlewatcher_wakes_total\{instance="docker\/id-web"\} 1$/m);
      assert.match(text, /^idlewatcher_active_sessions 1$/m);
      assert.match(text, /^idlewatcher_wake_duration_seconds_count 1$/m);
      assert.match(text, /^idlewatcher_requests_total\{strategy="blocking",status="200"\} 1$/m);
      assert.match(text, /^# TYPE idlewatcher_runtime_errors_total counter$/m);
    });
  });
});

Deno.test("/health answers 503 once the server drains", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web")]);
  const logger = memoryLogger();
  const engine = new IdleEngine({ runtimes: [runtime], logger, defaultSessionMs: 60_000 });
  await engine.start();
  const draining = new AbortController();
  const handler = createHandler({
    engine,
    themes: await ThemeRegistry.load(),
    logger,
    draining: draining.signal,
    cancelWaits: new AbortController().signal,
    defaults: { sessionMs: 1, refreshMs: 1, timeoutMs: 1, showDetails: true, theme: "ghost" },
  });
  try {
    const before = await handler(new Request("http://x/health"));
    assert.equal(before.status, 200);
    draining.abort();
    const after = await handler(new Request("http://x/health"));
    assert.equal(after.status, 503);
    assert.equal(await after.text(), "Service Unavailable");
  } finally {
    await engine.close();
  }
});

Deno.test("IdleServer.close() answers the requests in flight before it ends", async () => {
  const runtime = new FakeRuntime("docker", [fakeInfo("web", { healthcheck: true })]);
  const server = await IdleServer.start({
    hostname: "127.0.0.1",
    port: 0,
    runtimes: [runtime],
    sessionMs: 60_000,
    logger: memoryLogger(),
  });
  const inFlight = fetch(
    `http://127.0.0.1:${server.addr.port}/api/strategies/blocking?names=web&timeout=30s`,
  );
  await until(() => runtime.containers.get("id-web")!.status === "running");
  const closing = server.close();
  runtime.health("web", "healthy");
  const answered = await inFlight;
  assert.equal(answered.status, 200, "the request in flight got its answer");
  assert.equal((await answered.json()).session.status, "ready");
  await closing;
  assert.ok(runtime.closed);
});

/** Sends a GET over a raw connection (fetch refuses very long URLs) and reads the answer. */
async function rawGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: Headers; body: string }> {
  using connection = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
  const bytes = new TextEncoder().encode(request);
  let written = 0;
  while (written < bytes.length) written += await connection.write(bytes.subarray(written));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  try {
    while (true) {
      const read = await connection.read(buffer);
      if (read === null) break;
      chunks.push(buffer.slice(0, read));
    }
  } catch (error) {
    // The server may reset after answering a request it refused to read whole.
    if (!(error instanceof Deno.errors.ConnectionReset) || chunks.length === 0) throw error;
  }
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const [head, ...rest] = text.split("\r\n\r\n");
  const [statusLine, ...fields] = head.split("\r\n");
  const headers = new Headers(fields.map((f) => {
    const colon = f.indexOf(":");
    return [f.slice(0, colon).trim(), f.slice(colon + 1).trim()] as [string, string];
  }));
  return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
}
