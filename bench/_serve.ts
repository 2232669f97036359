/**
 * Pieces the `idlewatcher serve` benchmarks share: the server as a child
 * process (`deno run -A cli.ts serve`), the fake engine, a bare `Deno.serve`
 * floor, HTTP load from this process, and a child's resident memory.
 *
 * @module
 */

import { type Child, denoChild, exists, ROOT, sleep, tempDir, terminate } from "./_harness.ts";

/** Whether the `serve` command has landed. */
export async function serveBuilt(): Promise<boolean> {
  return await exists(`${ROOT}/serve/_server.ts`) && await exists(`${ROOT}/cli/_serve.ts`);
}

/** A free loopback port at the time of the call. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Waits until `url` answers (any status), or throws. */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** A process's resident set, from /proc, in bytes. */
export async function rssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kib * 1024;
}

/** `idlewatcher serve` running as a child process. */
export class ServeChild implements AsyncDisposable {
  readonly url: string;
  readonly #process: Deno.ChildProcess;
  readonly #stateDir: string;

  private constructor(url: string, process: Deno.ChildProcess, stateDir: string) {
    this.url = url;
    this.#process = process;
    this.#stateDir = stateDir;
  }

  /** The server's process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /**
   * Starts the server on an engine socket and waits for `/health`.
   *
   * @param socket The engine's unix socket.
   * @param sessionDuration The default session, a Go duration.
   * @param extraArgs More flags.
   * @returns The server.
   */
  static async start(
    socket: string,
    sessionDuration = "5m",
    extraArgs: string[] = [],
  ): Promise<ServeChild> {
    const port = freePort();
    const stateDir = await tempDir("serve-state");
    const process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}/cli.ts`,
        "serve",
        "--listen",
        `127.0.0.1:${port}`,
        "--docker",
        `unix://${socket}`,
        "--state-dir",
        stateDir,
        "--session-duration",
        sessionDuration,
        "--log-level",
        "warn",
        ...extraArgs,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const server = new ServeChild(`http://127.0.0.1:${port}`, process, stateDir);
    try {
      await waitForHttp(`${server.url}/health`);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await terminate(this.#process, 10_000);
    await Deno.remove(this.#stateDir, { recursive: true }).catch(() => {});
  }
}

/** The fake engine of bench/_fake_serve_engine.ts, in its own process. */
export class FakeServeEngine implements AsyncDisposable {
  readonly socket: string;
  readonly #child: Child;
  readonly #client: Deno.HttpClient;
  readonly #dir: string;

  private constructor(socket: string, child: Child, dir: string) {
    this.socket = socket;
    this.#child = child;
    this.#dir = dir;
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  }

  /**
   * Starts the fake with `containers` labelled containers.
   *
   * @param containers How many.
   * @param state Their state.
   * @returns The engine.
   */
  static async start(containers: number, state: "running" | "exited"): Promise<FakeServeEngine> {
    const dir = await tempDir("fake-serve");
    const socket = `${dir}/engine.sock`;
    const child = denoChild("fake serve engine", "_fake_serve_engine.ts", [
      "--socket",
      socket,
      "--containers",
      String(containers),
      "--state",
      state,
    ]);
    await child.nextJson();
    return new FakeServeEngine(socket, child, dir);
  }

  /** Requests the engine answered since the last reset. */
  async stats(): Promise<
    { requests: number; byRoute: Record<string, number>; openEventStreams: number }
  > {
    const response = await fetch("http://engine/_bench/stats", { client: this.#client });
    return await response.json();
  }

  /** Zeroes the request counts. */
  async reset(): Promise<void> {
    const response = await fetch("http://engine/_bench/reset", {
      method: "POST",
      client: this.#client,
    });
    await response.body?.cancel();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#client.close();
    await this.#child[Symbol.asyncDispose]();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/**
 * A bare `Deno.serve` hello world in its own process: the floor.
 *
 * @param bytes Answer this many bytes of HTML instead of `hello world`.
 * @returns The process and its URL.
 */
export async function helloChild(bytes = 0): Promise<{ child: Child; url: string }> {
  const child = denoChild(
    "hello floor",
    "_hello_server.ts",
    bytes ? ["--bytes", String(bytes)] : [],
  );
  const { port } = await child.nextJson<{ port: number }>();
  return { child, url: `http://127.0.0.1:${port}/` };
}

/**
 * Sequential keep-alive GETs; the latency of each in microseconds.
 *
 * @param url The URL.
 * @param count How many requests.
 * @returns The latencies.
 */
export async function sequentialLatencies(url: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    latencies.push((performance.now() - began) * 1000);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
  }
  return latencies;
}

/**
 * `concurrency` keep-alive loops sharing `total` GETs; requests per second.
 *
 * @param url The URL.
 * @param total How many requests in all.
 * @param concurrency How many at once.
 * @returns Requests per second.
 */
export async function throughput(url: string, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      const response = await fetch(url);
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
    }
  }));
  return total / ((performance.now() - began) / 1000);
}
