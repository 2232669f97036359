/**
 * What the end-to-end tests of `idlewatcher serve` run: the server itself as a subprocess
 * (`deno run -A cli.ts serve`), Debian's nginx with the njs glue of `integrations/nginx/` on a
 * free loopback port, and backend containers (`busybox httpd` on the host network) made with
 * the engine's raw API.
 *
 * nginx comes from `bash scripts/proxy.sh install`; under CI a missing nginx fails the test.
 *
 * @module
 */

import type { Engine } from "./_engines.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The nginx binary: `IDLEWATCHER_NGINX`, else Debian's. */
function nginxPath(): string {
  return Deno.env.get("IDLEWATCHER_NGINX") || "/usr/sbin/nginx";
}

/** The njs module: `IDLEWATCHER_NGINX_JS_MODULE`, else Debian's. */
function njsModulePath(): string {
  return Deno.env.get("IDLEWATCHER_NGINX_JS_MODULE") ||
    "/usr/lib/nginx/modules/ngx_http_js_module.so";
}
const INSTALL_HINT = "run: bash scripts/proxy.sh install";

function isCi(): boolean {
  const ci = Deno.env.get("CI");
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tells whether nginx and its njs module are installed. Under CI a missing one throws; elsewhere
 * it is reported on stderr and the caller skips.
 *
 * @param t The test, named in the skip message.
 * @returns Whether nginx can run.
 */
export function requireNginx(t: Deno.TestContext): boolean {
  const missing = [nginxPath(), njsModulePath()].filter((path) => !exists(path));
  if (missing.length === 0) return true;
  const message = `nginx not found (${missing.join(", ")} missing); ${INSTALL_HINT}`;
  if (isCi()) throw new Error(message);
  console.error(`SKIPPED in "${t.name}": ${message}`);
  return false;
}

/**
 * A loopback port nobody listens on at the time of the call.
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Waits until `url` answers, or throws after `timeoutMs`. */
async function waitForHttp(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the process serving ${url} exited`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${last}`);
}

/** A child process with its output kept in a file. */
class Child implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly logPath: string;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(command: string, args: string[], logPath: string, env?: Record<string, string>) {
    this.logPath = logPath;
    this.process = new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log = Deno.openSync(logPath, { write: true, create: true, append: true });
    const pumps = Promise.all([
      this.process.stdout.pipeTo(
        new WritableStream({ write: (chunk) => void log.writeSync(chunk) }),
      ),
      this.process.stderr.pipeTo(
        new WritableStream({ write: (chunk) => void log.writeSync(chunk) }),
      ),
    ]);
    this.status = this.process.status.then(async (status) => {
      this.#exited = true;
      await pumps.catch(() => {});
      log.close();
      return status;
    });
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** The output so far. */
  log(): string {
    try {
      return Deno.readTextFileSync(this.logPath);
    } catch {
      return "";
    }
  }

  kill(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.process.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already gone
    }
  }

  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 10_000): Promise<Deno.CommandStatus> {
    this.kill(signal);
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A running `idlewatcher serve`. */
export class ServeProcess implements AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly child: Child;

  private constructor(port: number, child: Child) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.child = child;
  }

  /**
   * Starts `deno run -A cli.ts serve` and waits until `/health` answers.
   *
   * @param options The engine socket, state folder, session and extra flags.
   * @returns The server.
   */
  static async start(options: {
    engines: Engine[];
    stateDir: string;
    sessionDuration: string;
    port?: number;
    args?: string[];
    logPath: string;
  }): Promise<ServeProcess> {
    const port = options.port ?? freePort();
    const args = [
      "run",
      "-A",
      `${REPO}/cli.ts`,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      ...options.engines.flatMap((engine) => ["--docker", `unix://${engine.socketPath}`]),
      "--state-dir",
      options.stateDir,
      "--session-duration",
      options.sessionDuration,
      "--log-level",
      "debug",
      ...(options.args ?? []),
    ];
    const child = new Child(Deno.execPath(), args, options.logPath, { NO_COLOR: "1" });
    const server = new ServeProcess(port, child);
    try {
      await waitForHttp(`${server.url}/health`, 60_000, () => child.alive);
    } catch (error) {
      await child.stop("SIGKILL");
      throw new Error(`idlewatcher serve did not start: ${error}\n${child.log()}`);
    }
    return server;
  }

  /**
   * Waits until the server has taken a container in (its log says `Managing … (NAME)`): it learns
   * of new containers from the engine's events, so a request sent sooner is a 404.
   *
   * @param name The container name.
   */
  async managing(name: string): Promise<void> {
    await eventually(`idlewatcher to manage ${name}`, () => {
      const found = this.child.log().split("\n").some((line) =>
        line.includes(" Managing ") && line.includes(`(${name})`)
      );
      return Promise.resolve(found ? true : undefined);
    }, { timeoutMs: 30_000, everyMs: 50 });
  }

  /** Kills the server with `SIGKILL`, as a crash would, and waits for it. */
  async crash(): Promise<void> {
    await this.child.stop("SIGKILL");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.child.stop("SIGTERM", 15_000);
  }
}

/** A running nginx with its own prefix, configuration and logs in a temporary folder. */
export class NginxProcess implements AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly prefix: string;
  readonly child: Child;

  private constructor(port: number, prefix: string, child: Child) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.prefix = prefix;
    this.child = child;
  }

  /**
   * Starts nginx (as the current user: root here) in the foreground with `server` blocks that
   * listen on `{{port}}`, and waits until it answers.
   *
   * @param servers The `server { }` blocks; `{{port}}` is replaced by the chosen port.
   * @param prefix The temporary folder for its configuration, temp files and logs.
   * @param probe A path that answers without side effects, asked until nginx is up.
   * @returns nginx.
   */
  static async start(servers: string, prefix: string, probe = "/"): Promise<NginxProcess> {
    const port = freePort();
    for (const dir of ["body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"]) {
      await Deno.mkdir(`${prefix}/${dir}`, { recursive: true });
    }
    const config = `load_module ${njsModulePath()};
daemon off;
master_process on;
worker_processes 1;
user root root;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log info;
events { worker_connections 4096; }
http {
    access_log ${prefix}/logs/access.log;
    client_body_temp_path ${prefix}/body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    js_path ${REPO}/integrations/nginx/;
${servers.replaceAll("{{port}}", String(port))}
}
`;
    await Deno.writeTextFile(`${prefix}/nginx.conf`, config);
    const child = new Child(
      nginxPath(),
      ["-p", `${prefix}/`, "-c", `${prefix}/nginx.conf`],
      `${prefix}/logs/stderr.log`,
    );
    const nginx = new NginxProcess(port, prefix, child);
    try {
      await waitForHttp(`${nginx.url}${probe}`, 20_000, () => child.alive);
    } catch (error) {
      await child.stop("SIGKILL");
      throw new Error(`nginx did not start: ${error}\n${child.log()}\n${nginx.errorLog()}`);
    }
    return nginx;
  }

  /** nginx's error log so far. */
  errorLog(): string {
    try {
      return Deno.readTextFileSync(`${this.prefix}/logs/error.log`);
    } catch {
      return "";
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // SIGTERM is nginx's fast shutdown: the master stops its worker and exits.
    await this.child.stop("SIGTERM");
  }
}

/**
 * The example configuration of `integrations/nginx/`, pointed at a server, a backend and the
 * test's port: proves the shipped example, not a copy of it.
 *
 * @param options Where idlewatcher and the backend listen, the backend's name and the session.
 * @returns `server { }` blocks for {@linkcode NginxProcess.start}.
 */
export async function exampleSite(options: {
  serverPort: number;
  backendPort: number;
  name: string;
  sessionDuration: string;
}): Promise<string> {
  const text = await Deno.readTextFile(`${REPO}/integrations/nginx/idlewatcher.conf`);
  const server = text.slice(text.indexOf("server {"));
  const site = server
    .replace("listen 8000;", "listen 127.0.0.1:{{port}};")
    .replace(
      "proxy_pass http://127.0.0.1:10000/;",
      `proxy_pass http://127.0.0.1:${options.serverPort}/;`,
    )
    .replace(
      "proxy_pass http://127.0.0.1:8080;",
      `proxy_pass http://127.0.0.1:${options.backendPort};`,
    )
    .replace(
      "set $sablierSessionDuration 5m;",
      `set $sablierSessionDuration ${options.sessionDuration};`,
    )
    .replace("set $sablierDynamicRefreshFrequency 5s;", "set $sablierDynamicRefreshFrequency 1s;")
    .replace("set $sablierBlockingTimeout 60s;", "set $sablierBlockingTimeout 30s;")
    .replaceAll("set $sablierNames wiki;", `set $sablierNames ${options.name};`);
  if (!site.includes(`${options.serverPort}/;`) || !site.includes(`${options.backendPort};`)) {
    throw new Error("integrations/nginx/idlewatcher.conf no longer has the expected shape");
  }
  // A side-effect-free path for NginxProcess.start to probe.
  const probe = `server {\n    location = ${NGINX_PROBE} { return 204; }`;
  return `js_import idlewatcher from idlewatcher.js;\n${site.replace("server {", probe)}`;
}

/** The path {@linkcode exampleSite} answers itself, for {@linkcode NginxProcess.start}. */
export const NGINX_PROBE = "/.nginx-up";

/** Options of {@linkcode createBackend}. */
export interface BackendOptions {
  /** Container name. */
  name: string;
  /** Port `busybox httpd` listens on, on the host network. */
  port: number;
  /** The page it serves. */
  body: string;
  /** Labels; `sablier.enable=true` is the caller's choice. */
  labels: Record<string, string>;
  /** Seconds the container waits before httpd listens. @default 0 */
  listenAfterSeconds?: number;
  /** Adds a healthcheck that passes once httpd answers. @default false */
  healthcheck?: boolean;
}

/**
 * Creates (not starts) a container serving `body` at `/` and `/api/` with `busybox httpd` on the
 * host network, through the engine's raw API.
 *
 * @param engine The engine.
 * @param options The container.
 * @returns The container id.
 */
export async function createBackend(engine: Engine, options: BackendOptions): Promise<string> {
  const script = [
    "mkdir -p /tmp/www/api",
    `printf '%s' '${options.body.replaceAll("'", "")}' > /tmp/www/index.html`,
    "cp /tmp/www/index.html /tmp/www/api/index.html",
    `sleep ${options.listenAfterSeconds ?? 0}`,
    `exec httpd -f -p 127.0.0.1:${options.port} -h /tmp/www`,
  ].join(" && ");
  const seconds = 1_000_000_000;
  const body: Record<string, unknown> = {
    Image: engine.image,
    Cmd: ["/bin/sh", "-c", script],
    Labels: options.labels,
    StopSignal: "SIGKILL",
    HostConfig: { NetworkMode: "host", ...engine.hostConfig },
  };
  if (options.healthcheck) {
    body.Healthcheck = {
      Test: ["CMD-SHELL", `wget -q -O /dev/null http://127.0.0.1:${options.port}/`],
      Interval: seconds / 2,
      Timeout: 2 * seconds,
      Retries: 60,
      StartPeriod: 0,
    };
  }
  const response = await engineRequest(
    engine,
    "POST",
    `/containers/create?name=${encodeURIComponent(options.name)}`,
    body,
  );
  return (response as { Id: string }).Id;
}

/**
 * One request to an engine's raw API.
 *
 * @param engine The engine.
 * @param method The HTTP method.
 * @param path The path under `/v1.41`.
 * @param body A JSON body.
 * @returns The parsed answer, or the text when it is not JSON.
 */
export async function engineRequest(
  engine: Engine,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: engine.socketPath } });
  const response = await fetch(`http://engine/v1.41${path}`, {
    method,
    client,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 304) {
    throw new Error(
      `${engine.name}: ${method} ${path} returned ${response.status}: ${text.trim()}`,
    );
  }
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The engine's events for one container between two times, in order.
 *
 * @param engine The engine.
 * @param container The container id.
 * @param sinceSeconds Unix seconds to start from.
 * @returns The `Action`s (`start`, `stop`, `die`, `pause`...).
 */
export async function containerActions(
  engine: Engine,
  container: string,
  sinceSeconds: number,
): Promise<string[]> {
  const filters = JSON.stringify({ container: [container], type: ["container"] });
  // `until` ends the stream (NDJSON). It must lie ahead: Podman 4.3 answers nothing at all
  // for an `until` already past.
  const until = Math.ceil(Date.now() / 1000) + 2;
  const text = await engineRequest(
    engine,
    "GET",
    `/events?since=${sinceSeconds}&until=${until}&filters=${encodeURIComponent(filters)}`,
  );
  const lines = text === undefined
    ? []
    : typeof text === "string"
    ? text.split("\n")
    : [JSON.stringify(text)];
  return lines.filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { Action?: string; status?: string })
    .map((event) => event.Action ?? event.status ?? "")
    .filter((action) => !action.startsWith("exec_") && !action.startsWith("health_status"));
}

/**
 * A container's state, as the engine reports it.
 *
 * @param engine The engine.
 * @param container The container id.
 * @returns `Status` (`running`, `exited`, `paused`...) and the health status, if any.
 */
export async function containerState(
  engine: Engine,
  container: string,
): Promise<{ status: string; health?: string }> {
  const inspect = await engineRequest(engine, "GET", `/containers/${container}/json`) as {
    State: { Status: string; Health?: { Status: string } };
  };
  return { status: inspect.State.Status, health: inspect.State.Health?.Status };
}

/**
 * Force-removes a container; an absent one is fine, a busy one is tried again.
 *
 * @param engine The engine.
 * @param container The container id or name.
 */
export async function removeContainer(engine: Engine, container: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await engineRequest(engine, "DELETE", `/containers/${container}?force=true&v=true`);
      return;
    } catch (error) {
      if (String(error).includes("returned 404")) return;
      // dockerd's overlay2 sometimes answers "device or resource busy" right after a kill.
      if (attempt >= 6 || !String(error).includes("returned 500")) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/**
 * Waits until `check` returns a value other than `undefined`, polling every `everyMs`.
 *
 * @param what What is awaited, for the error.
 * @param check The check.
 * @param options The deadline and the polling period.
 * @returns The value.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 30_000, everyMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}
