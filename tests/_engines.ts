/**
 * Access to the real container engines that `scripts/engines.sh` starts for the integration
 * tests, and a raw Docker-API client that sets up containers without the library under test.
 *
 * Settings come from the `IDLEWATCHER_*` environment variables printed by
 * `bash scripts/engines.sh env`, falling back to the `env` file in the engines' state folder.
 *
 * @example Run a step per engine
 * ```ts ignore
 * Deno.test("something works on every engine", async (t) => {
 *   for (const engine of requireEngines(t)) {
 *     await t.step(engine.name, async () => {
 *       await using api = new EngineApi(engine);
 *       const id = await api.createContainer({ name: uniqueName("demo"), cmd: ["sleep", "60"] });
 *       await api.start(id);
 *     });
 *   }
 * });
 * ```
 * @module
 */

/** A running engine reachable on a unix socket. */
export interface Engine {
  /** Which engine serves the socket. */
  name: "docker" | "podman";
  /** Path of the engine's Docker-compatible API socket. */
  socketPath: string;
  /** Locally present image that has `/bin/sh`, `sleep`, `kill`, `cat`, `echo` and `true`. */
  image: string;
  /** Extra HostConfig for containers on this engine (podman: Ulimits nofile/nproc 1024). */
  hostConfig: Record<string, unknown>;
}

/** Docker's TLS listener and the folder holding `ca.pem`, `cert.pem` and `key.pem` for it. */
export interface DockerTls {
  /** The listener, as `tcp://127.0.0.1:<port>`. */
  host: string;
  /** Absolute path of the certificate folder (usable as DOCKER_CERT_PATH). */
  certDir: string;
}

/** The subset of a container inspection the tests read; the rest is left untyped. */
export interface ContainerInspect {
  /** Full container id. */
  Id: string;
  /** Name with the leading slash. */
  Name: string;
  /** Runtime state. */
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    ExitCode: number;
    Pid: number;
  };
  /** Creation settings. */
  Config: { Labels: Record<string, string> | null; StopSignal?: string };
  [field: string]: unknown;
}

/** Options of {@linkcode EngineApi.createContainer}. */
export interface CreateContainerOptions {
  /** Container name; make it unique, see {@linkcode uniqueName}. */
  name: string;
  /** Command run in the engine's test image. */
  cmd: string[];
  /** Signal sent by `stop`. @default the image's (SIGTERM) */
  stopSignal?: string;
  /** Container labels. @default {} */
  labels?: Record<string, string>;
}

const ENGINE_NAMES = ["docker", "podman"] as const;
const DEFAULT_DIR = "/tmp/idlewatcher-engines";
const DEFAULT_IMAGE = "idlewatcher-busybox:latest";
const START_HINT = "run: bash scripts/engines.sh start";
/** Longest wait for an engine's answer, so a wedged engine fails a test instead of hanging it. */
const REQUEST_TIMEOUT_SECONDS = 30;
const PODMAN_HOST_CONFIG: Record<string, unknown> = {
  Ulimits: [
    { Name: "nofile", Soft: 1024, Hard: 1024 },
    { Name: "nproc", Soft: 1024, Hard: 1024 },
  ],
};

/**
 * Reads one setting: the environment variable when set, else the engines' `env` file.
 *
 * @param name The `IDLEWATCHER_*` variable.
 * @returns The value, or `undefined` when neither source has it.
 */
function setting(name: string): string | undefined {
  const value = Deno.env.get(name);
  if (value !== undefined) return value;
  const dir = Deno.env.get("IDLEWATCHER_ENGINES_DIR") || DEFAULT_DIR;
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dir}/env`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  for (const line of text.split("\n")) {
    const match = /^(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] === name) return match[2];
  }
  return undefined;
}

function isSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function socketVariable(name: Engine["name"]): string {
  return `IDLEWATCHER_${name.toUpperCase()}_SOCK`;
}

function isCi(): boolean {
  const ci = Deno.env.get("CI");
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * Lists the engines whose socket exists.
 *
 * @returns The reachable engines, docker first.
 */
export function engines(): Engine[] {
  const image = setting("IDLEWATCHER_TEST_IMAGE") || DEFAULT_IMAGE;
  const found: Engine[] = [];
  for (const name of ENGINE_NAMES) {
    const socketPath = setting(socketVariable(name));
    if (socketPath && isSocket(socketPath)) {
      found.push({
        name,
        socketPath,
        image,
        hostConfig: name === "podman" ? PODMAN_HOST_CONFIG : {},
      });
    }
  }
  return found;
}

/**
 * Lists the engines for a test that needs them. In CI (the `CI` variable set) every engine must
 * be present; elsewhere a missing engine is reported on stderr and left out.
 *
 * @param t The running test, named in the skip message.
 * @returns The reachable engines, docker first.
 * @throws {Error} In CI, when an engine is missing.
 */
export function requireEngines(t?: Deno.TestContext): Engine[] {
  const found = engines();
  const missing = ENGINE_NAMES.filter((name) => !found.some((engine) => engine.name === name));
  if (missing.length === 0) return found;
  const details = missing.map((name) => {
    const variable = socketVariable(name);
    const path = setting(variable);
    return path === undefined
      ? `${name} engine not found (${variable} is not set)`
      : `${name} engine not found (${variable}=${path} is not a socket)`;
  });
  if (isCi()) {
    throw new Error(`${details.join("; ")}; ${START_HINT}`);
  }
  const where = t ? ` in "${t.name}"` : "";
  for (const detail of details) console.error(`SKIPPED${where}: ${detail}, ${START_HINT}`);
  return found;
}

/**
 * Docker's TLS listener started by `scripts/engines.sh`.
 *
 * @returns The listener and its certificates, or `undefined` when not configured.
 */
export function dockerTls(): DockerTls | undefined {
  const host = setting("IDLEWATCHER_DOCKER_TLS_HOST");
  const certDir = setting("IDLEWATCHER_DOCKER_TLS_CERTS");
  return host && certDir ? { host, certDir } : undefined;
}

/**
 * A container name that no earlier or parallel run uses.
 *
 * @param prefix Readable start of the name.
 * @returns `idlewatcher-test-<prefix>-<random>`.
 */
export function uniqueName(prefix: string): string {
  return `idlewatcher-test-${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * A minimal Docker Engine API v1.41 client over the engine's unix socket, independent of the
 * library. Disposing it force-removes the containers it created, then closes the connection.
 */
export class EngineApi implements AsyncDisposable {
  /** The engine this client talks to. */
  readonly engine: Engine;
  #client: Deno.HttpClient;
  #created = new Set<string>();

  /**
   * Connects lazily to the engine's socket.
   *
   * @param engine An engine from {@linkcode engines} or {@linkcode requireEngines}.
   */
  constructor(engine: Engine) {
    this.engine = engine;
    this.#client = Deno.createHttpClient({
      proxy: { transport: "unix", path: engine.socketPath },
    });
  }

  /**
   * Creates a container from the engine's test image, without network.
   *
   * @param options Name, command, stop signal and labels.
   * @returns The full container id.
   */
  async createContainer(options: CreateContainerOptions): Promise<string> {
    const body = {
      Image: this.engine.image,
      Cmd: options.cmd,
      Labels: options.labels ?? {},
      ...(options.stopSignal ? { StopSignal: options.stopSignal } : {}),
      HostConfig: { NetworkMode: "none", ...this.engine.hostConfig },
    };
    const query = new URLSearchParams({ name: options.name });
    const created = await this.#request("POST", `/containers/create?${query}`, { body }) as {
      Id: string;
    };
    this.#created.add(created.Id);
    return created.Id;
  }

  /** Starts a container; a running one is left as is. @param id Container id or name. */
  async start(id: string): Promise<void> {
    await this.#request("POST", `/containers/${id}/start`);
  }

  /**
   * Stops a container; a stopped one is left as is.
   *
   * @param id Container id or name.
   * @param timeoutSeconds Grace period before SIGKILL.
   */
  async stop(id: string, timeoutSeconds = 10): Promise<void> {
    await this.#request("POST", `/containers/${id}/stop?t=${timeoutSeconds}`, {
      extraSeconds: timeoutSeconds,
    });
  }

  /**
   * Sends a signal to a running container.
   *
   * @param id Container id or name.
   * @param signal Signal name or number. @default "SIGKILL"
   */
  async kill(id: string, signal = "SIGKILL"): Promise<void> {
    const query = new URLSearchParams({ signal });
    await this.#request("POST", `/containers/${id}/kill?${query}`);
  }

  /** Freezes a running container. @param id Container id or name. */
  async pause(id: string): Promise<void> {
    await this.#request("POST", `/containers/${id}/pause`);
  }

  /** Thaws a paused container. @param id Container id or name. */
  async unpause(id: string): Promise<void> {
    await this.#request("POST", `/containers/${id}/unpause`);
  }

  /** Force-removes a container with its volumes; an absent one is fine. @param id Container id or name. */
  async remove(id: string): Promise<void> {
    await this.#request("DELETE", `/containers/${id}?force=true&v=true`, { accepted: [404] });
    this.#created.delete(id);
  }

  /**
   * Reads a container's state and settings.
   *
   * @param id Container id or name.
   * @returns The engine's inspection.
   */
  async inspect(id: string): Promise<ContainerInspect> {
    return await this.#request("GET", `/containers/${id}/json`) as ContainerInspect;
  }

  /** Closes the connection; containers are left as they are. */
  close(): void {
    this.#client.close();
  }

  /** Force-removes the containers this client created, then closes the connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      for (const id of this.#created) await this.remove(id);
    } finally {
      this.close();
    }
  }

  async #request(
    method: string,
    path: string,
    options: { body?: unknown; accepted?: number[]; extraSeconds?: number } = {},
  ): Promise<unknown> {
    const { body, accepted = [], extraSeconds = 0 } = options;
    const response = await fetch(`http://engine/v1.41${path}`, {
      method,
      client: this.#client,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout((REQUEST_TIMEOUT_SECONDS + extraSeconds) * 1000),
    });
    const text = await response.text();
    if (response.ok || response.status === 304 || accepted.includes(response.status)) {
      return text ? JSON.parse(text) : undefined;
    }
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: keep the raw text
    }
    throw new Error(
      `${this.engine.name}: ${method} ${path} returned ${response.status}: ${message.trim()}`,
    );
  }
}
