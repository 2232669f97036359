import assert from "node:assert/strict";
import { type Engine, requireEngines, uniqueName } from "../_engines.ts";
import { withEnv } from "../_env.ts";
import {
  type BackendOptions,
  containerState,
  createBackend,
  eventually,
  exampleSite,
  freePort,
  NGINX_PROBE,
  NginxProcess,
  removeContainer,
  requireNginx,
  ServeProcess,
} from "../_proxy_harness.ts";

/** A stand-in for the idle watcher that records what the glue asks and answers by name. */
function recordingServer(): { server: Deno.HttpServer<Deno.NetAddr>; seen: URL[] } {
  const seen: URL[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    seen.push(url);
    const names = url.searchParams.getAll("names");
    if (names.includes("warm") || url.searchParams.get("group") === "warm-group") {
      return new Response("ready page", { headers: { "x-sablier-session-status": "ready" } });
    }
    if (names.includes("missing")) {
      return Response.json({ title: "Not Found", status: 404, detail: "unknown instance" }, {
        status: 404,
        headers: { "content-type": "application/problem+json" },
      });
    }
    return new Response("<!DOCTYPE html><p>loading</p>", {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "x-sablier-session-status": "not-ready",
      },
    });
  });
  return { server, seen };
}

function site(serverPort: number, backendPort: number): string {
  const location = (path: string, sets: string) => `
    location ${path} {
${sets}
        set $sablierNginxInternalRedirect @backend;
        js_content idlewatcher.call;
    }`;
  return `js_import idlewatcher from idlewatcher.js;
server {
    listen 127.0.0.1:{{port}};
    subrequest_output_buffer_size 32k;
    set $sablierUrl /watcher;
    location /watcher/ {
        internal;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_pass_request_headers off;
        proxy_set_header Content-Length "";
        proxy_pass http://127.0.0.1:${serverPort}/;
    }
    location @backend { proxy_pass http://127.0.0.1:${backendPort}; }
    location = / { return 204; }
${location("/dynamic", "set $sablierNames ' cold , other ';")}
${
    location(
      "/full",
      `set $sablierNames cold;
        set $sablierSessionDuration 1m;
        set $sablierDynamicName "Team wiki";
        set $sablierDynamicTheme ghost;
        set $sablierDynamicShowDetails true;
        set $sablierDynamicRefreshFrequency 2s;`,
    )
  }
${location("/warm", "set $sablierNames warm;")}
${location("/group", "set $sablierGroup warm-group;")}
${
    location(
      "/blocking",
      `set $sablierNames warm;
        set $sablierSessionDuration 30s;
        set $sablierBlockingTimeout 10s;`,
    )
  }
${location("/missing", "set $sablierNames missing;")}
    location /misconfigured { js_content idlewatcher.call; }
}`;
}

Deno.test({
  name: "idlewatcher.js asks with Sablier's query shape and acts on X-Sablier-Session-Status",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    if (!requireNginx(t)) return;
    const prefix = await Deno.makeTempDir({ prefix: "idlewatcher-nginx-" });
    const watcher = recordingServer();
    const backend = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => new Response(`backend ${new URL(request.url).pathname}`),
    );
    try {
      await using nginx = await NginxProcess.start(
        site(watcher.server.addr.port, backend.addr.port),
        prefix,
      );
      const get = async (path: string) => {
        watcher.seen.length = 0;
        const response = await fetch(`${nginx.url}${path}`, {
          signal: AbortSignal.timeout(10_000),
        });
        return { response, body: await response.text(), seen: [...watcher.seen] };
      };

      await t.step("dynamic: every unset variable goes as an empty value", async () => {
        const { response, body, seen } = await get("/dynamic");
        assert.equal(seen.length, 1);
        assert.equal(seen[0].pathname, "/api/strategies/dynamic");
        assert.equal(
          seen[0].search,
          "?names=cold&names=other&session_duration=&display_name=&theme=&refresh_frequency=&show_details=",
        );
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("x-sablier-session-status"), "not-ready");
        assert.equal(response.headers.get("cache-control"), "no-cache");
        assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
        assert.equal(body, "<!DOCTYPE html><p>loading</p>");
      });
      await t.step("dynamic: the loading page's settings are escaped into the query", async () => {
        const { seen } = await get("/full");
        assert.equal(
          seen[0].search,
          "?names=cold&session_duration=1m&display_name=Team%20wiki&theme=ghost&refresh_frequency=2s&show_details=true",
        );
      });
      await t.step("ready: the request reaches the backend", async () => {
        const { response, body, seen } = await get("/warm/page?x=1");
        assert.equal(seen.length, 1);
        assert.equal(response.status, 200);
        assert.equal(body, "backend /warm/page");
      });
      await t.step("a group is asked by name", async () => {
        const { body, seen } = await get("/group");
        assert.equal(seen[0].search.split("&")[0], "?group=warm-group");
        assert.equal(body, "backend /group");
      });
      await t.step("blocking: asks with the timeout, then reaches the backend", async () => {
        const { body, seen } = await get("/blocking");
        assert.equal(seen[0].pathname, "/api/strategies/blocking");
        assert.equal(seen[0].search, "?names=warm&session_duration=30s&timeout=10s");
        assert.equal(body, "backend /blocking");
      });
      await t.step("an error answer is shown with its own status and body", async () => {
        const { response, body } = await get("/missing");
        assert.equal(response.status, 404);
        assert.equal(response.headers.get("content-type"), "application/problem+json");
        assert.equal(JSON.parse(body).detail, "unknown instance");
      });
      await t.step("a location without names or group is a 500 that says why", async () => {
        const { response, body, seen } = await get("/misconfigured");
        assert.equal(seen.length, 0);
        assert.equal(response.status, 500);
        assert.equal(body, "Misconfigured idle watcher: set $sablierNames or $sablierGroup\n");
        assert.match(nginx.errorLog(), /idlewatcher: set \$sablierNames or \$sablierGroup/);
      });
      await t.step("the idle watcher down is a 502", async () => {
        await watcher.server.shutdown();
        const { response } = await get("/dynamic");
        assert.equal(response.status, 502);
      });
    } finally {
      await watcher.server.shutdown();
      await backend.shutdown();
      await Deno.remove(prefix, { recursive: true });
    }
  },
});

const SESSION = "4s";
const SESSION_MS = 4_000;

interface Scenario {
  engine: Engine;
  server: ServeProcess;
  prefix: string;
}

/** Creates a backend, starts nginx with the shipped example in front of it, runs `fn`. */
async function withBackend(
  scenario: Scenario,
  options: Omit<BackendOptions, "name" | "port" | "body"> & { label: string },
  fn: (context: { nginx: NginxProcess; id: string; body: string; name: string }) => Promise<void>,
): Promise<void> {
  const name = uniqueName(`proxy-${options.label}`);
  const port = freePort();
  const body = `backend ${name} says hello`;
  const id = await createBackend(scenario.engine, { ...options, name, port, body });
  const prefix = `${scenario.prefix}/${options.label}`;
  try {
    const site = await exampleSite({
      serverPort: scenario.server.port,
      backendPort: port,
      name,
      sessionDuration: SESSION,
    });
    await using nginx = await NginxProcess.start(site, prefix, NGINX_PROBE);
    await scenario.server.managing(name);
    try {
      await fn({ nginx, id, body, name });
    } catch (error) {
      throw new Error(
        `${error}\n--- idlewatcher log ---\n${scenario.server.child.log().slice(-4_000)}` +
          `\n--- nginx error log ---\n${nginx.errorLog().slice(-2_000)}`,
        { cause: error },
      );
    }
  } finally {
    await removeContainer(scenario.engine, id);
  }
}

async function get(url: string): Promise<{ status: number; session: string | null; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(40_000) });
  return {
    status: response.status,
    session: response.headers.get("x-sablier-session-status"),
    body: await response.text(),
  };
}

/** Asks through nginx until the backend's own page comes back. */
async function untilBackend(url: string, body: string): Promise<void> {
  await eventually(`the backend's page at ${url}`, async () => {
    const answer = await get(url);
    return answer.status === 200 && answer.body === body ? true : undefined;
  }, { timeoutMs: 60_000, everyMs: 200 });
}

async function untilState(engine: Engine, id: string, status: string, timeoutMs = 60_000) {
  return await eventually(`container ${status}`, async () => {
    const state = await containerState(engine, id);
    return state.status === status ? state : undefined;
  }, { timeoutMs, everyMs: 200 });
}

Deno.test({
  name:
    "nginx with idlewatcher.js in front of idlewatcher serve wakes, serves and puts to sleep a real container",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    if (!requireNginx(t)) return;
    for (const engine of requireEngines(t)) {
      await t.step(engine.name, async (t) => {
        const prefix = await Deno.makeTempDir({ prefix: "idlewatcher-proxy-" });
        try {
          await using server = await ServeProcess.start({
            engines: [engine],
            stateDir: `${prefix}/state`,
            sessionDuration: SESSION,
            logPath: `${prefix}/serve.log`,
          });
          const scenario = { engine, server, prefix };

          await t.step(
            "a first request gets the loading page, a later one the backend's page",
            async () => {
              const labels = { "sablier.enable": "true" };
              await withBackend(
                scenario,
                { label: "dynamic", labels, healthcheck: true },
                async (c) => {
                  assert.equal((await containerState(engine, c.id)).status, "created");
                  const first = await get(`${c.nginx.url}/`);
                  assert.equal(first.status, 200);
                  assert.equal(first.session, "not-ready");
                  assert.match(first.body, /<meta http-equiv="refresh" content="1">/);
                  assert.ok(first.body.includes("Team wiki"));
                  assert.ok(first.body.includes(c.name), "show_details lists the container");
                  await untilState(engine, c.id, "running");
                  await untilBackend(`${c.nginx.url}/index.html`, c.body);

                  // The session ends SESSION after the last request: then the container stops.
                  const last = Date.now();
                  await new Promise((resolve) => setTimeout(resolve, SESSION_MS / 4));
                  assert.equal((await containerState(engine, c.id)).status, "running");
                  await untilState(engine, c.id, "exited", SESSION_MS + 30_000);
                  assert.ok(
                    Date.now() - last >= SESSION_MS,
                    "not stopped before its session ended",
                  );
                },
              );
            },
          );

          await t.step(
            "blocking: the first request waits and gets the backend's page",
            async () => {
              const labels = { "sablier.enable": "true" };
              await withBackend(
                scenario,
                { label: "blocking", labels, healthcheck: true },
                async (c) => {
                  assert.equal((await containerState(engine, c.id)).status, "created");
                  const answer = await get(`${c.nginx.url}/api/`);
                  assert.equal(answer.status, 200);
                  assert.equal(answer.body, c.body);
                  assert.equal((await containerState(engine, c.id)).health, "healthy");
                },
              );
            },
          );

          await t.step(
            "idlewatcher.sleep=pause: paused after the session, woken again",
            async () => {
              const labels = { "sablier.enable": "true", "idlewatcher.sleep": "pause" };
              await withBackend(
                scenario,
                { label: "pause", labels, healthcheck: true },
                async (c) => {
                  await get(`${c.nginx.url}/`);
                  await untilBackend(`${c.nginx.url}/`, c.body);
                  await untilState(engine, c.id, "paused", SESSION_MS + 30_000);
                  const again = await get(`${c.nginx.url}/`);
                  assert.equal(again.session, "not-ready");
                  await untilBackend(`${c.nginx.url}/`, c.body);
                  assert.equal((await containerState(engine, c.id)).status, "running");
                },
              );
            },
          );

          await t.step(
            "a healthcheck holds the backend back until it passes: never a 502",
            async () => {
              const labels = { "sablier.enable": "true" };
              const options = { label: "health", labels, healthcheck: true, listenAfterSeconds: 3 };
              await withBackend(scenario, options, async (c) => {
                const seen: string[] = [];
                let heldWhileRunning = 0;
                await eventually("the backend's page", async () => {
                  const answer = await get(`${c.nginx.url}/`);
                  if (answer.status === 200 && answer.body === c.body) return true;
                  seen.push(`${answer.status} ${answer.session}`);
                  assert.equal(
                    answer.status,
                    200,
                    `through nginx: ${answer.status} ${answer.body}`,
                  );
                  assert.equal(answer.session, "not-ready");
                  const state = await containerState(engine, c.id);
                  if (state.status === "running" && state.health !== "healthy") heldWhileRunning++;
                  return undefined;
                }, { timeoutMs: 60_000, everyMs: 100 });
                assert.ok(
                  heldWhileRunning >= 3,
                  `loading page while running, unhealthy: ${heldWhileRunning}`,
                );
                assert.equal((await containerState(engine, c.id)).health, "healthy");
              });
            },
          );
        } finally {
          await Deno.remove(prefix, { recursive: true });
        }
      });
    }
  },
});

Deno.test({
  name: "requireNginx() fails loudly under CI when nginx or njs is missing, and skips elsewhere",
  permissions: { env: true, read: true },
  fn(t) {
    const missing = { IDLEWATCHER_NGINX: "/nonexistent/nginx" };
    withEnv({ ...missing, CI: "true" }, () => {
      assert.throws(
        () => requireNginx(t),
        /nginx not found \(\/nonexistent\/nginx missing\); run: bash scripts\/proxy.sh install/,
      );
    });
    withEnv({ IDLEWATCHER_NGINX_JS_MODULE: "/nonexistent/njs.so", CI: "true" }, () => {
      assert.throws(() => requireNginx(t), /\/nonexistent\/njs\.so missing/);
    });
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => void errors.push(line);
    try {
      withEnv({ ...missing, CI: undefined }, () => assert.equal(requireNginx(t), false));
    } finally {
      console.error = original;
    }
    assert.match(errors.join("\n"), /^SKIPPED in "requireNginx\(\) fails loudly.*nginx not found/);
  },
});
