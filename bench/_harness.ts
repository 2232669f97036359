/**
 * Shared pieces of the benchmark suite: result rows, statistics, child
 * processes (fakes and Node peers), and loading the library's parts only
 * when they exist.
 *
 * @module
 */

/** One line of the results table. */
export interface Row {
  /** What is measured. */
  metric: string;
  /** Our result, formatted. */
  ours: string;
  /** The peer's result, formatted (empty when there is none). */
  peer: string;
  /** ours / peer (or as the goal states it), formatted. */
  ratio: string;
  /** The goal, in words. */
  goal: string;
  /** "yes", "no", or "n/a" when it could not be measured. */
  met: "yes" | "no" | "n/a" | "info";
  /** Raw numbers behind the formatted cells. */
  data?: Record<string, unknown>;
}

/** The text for rows whose library piece has not landed yet. */
export const NOT_BUILT = "n/a (not built)";

/** Path of the repository root (the parent of bench/). */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Path of the bench folder. */
export const BENCH: string = `${ROOT}/bench`;

/** Median of the numbers (mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median of the round-by-round ratios `a[i] / b[i]`: the two were measured
 * side by side in round i, so a slow spell of the machine hits both.
 */
export function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((value, i) => value / b[i]));
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Formats a number with a fixed count of significant decimals and thousands separators. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}

/** Formats a ratio as "1.04x". */
export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a";
}

/** Formats a byte count in MiB. */
export function fmtMiB(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** A row for a measurement that could not run. */
export function unavailableRow(metric: string, reason: string, goal: string): Row {
  return { metric, ours: reason, peer: "", ratio: "", goal, met: "n/a" };
}

/** Writes a progress line to stderr (stdout carries the results). */
export function log(message: string): void {
  console.error(`[bench] ${message}`);
}

/** A temporary folder with short paths (unix socket paths are limited to 108 bytes). */
export async function tempDir(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ dir: "/tmp", prefix: `iwb-${prefix}-` });
}

/** True when the file exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Loads a module of the library when its file exists. Returns `undefined`
 * when it does not (the piece is not built yet); a module that exists but
 * fails to load throws.
 */
export async function loadPiece<T>(relativePath: string): Promise<T | undefined> {
  const path = `${ROOT}/${relativePath}`;
  if (!await exists(path)) return undefined;
  const specifier = new URL(`file://${path}`).href;
  return await import(specifier) as T;
}

/** A child process whose stdout is read line by line. */
export class Child implements AsyncDisposable {
  readonly #process: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #stderr: Promise<string>;
  readonly name: string;

  constructor(name: string, command: string, args: string[], options: { stdin?: boolean } = {}) {
    this.name = name;
    this.#process = new Deno.Command(command, {
      args,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = this.#process.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(lineSplitter())[Symbol.asyncIterator]();
    this.#writer = options.stdin ? this.#process.stdin.getWriter() : undefined;
    this.#stderr = new Response(this.#process.stderr).text().catch(() => "");
  }

  /** The process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /** Reads the next stdout line that parses as a JSON object. */
  async nextJson<T = Record<string, unknown>>(timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${this.name}: no JSON line within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${this.name}: no JSON line within ${timeoutMs} ms`)),
          remaining,
        );
      });
      try {
        const next = await Promise.race([this.#lines.next(), timeout]);
        if (next.done) {
          const status = await this.#process.status;
          throw new Error(
            `${this.name} exited (code ${status.code}) without a JSON line: ${
              (await this.#stderr).slice(-2000)
            }`,
          );
        }
        const line = next.value.trim();
        if (line.startsWith("{")) return JSON.parse(line) as T;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Sends a JSON command line on stdin and reads the JSON answer. */
  async call<T = Record<string, unknown>>(
    command: Record<string, unknown>,
    timeoutMs = 60_000,
  ): Promise<T> {
    if (!this.#writer) throw new Error(`${this.name}: started without stdin`);
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
    return await this.nextJson<T>(timeoutMs);
  }

  /** Waits for the process to exit by itself. */
  async wait(timeoutMs: number): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.#process.status,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} still running`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The end of the process's stderr (after it exited). */
  stderrTail(): Promise<string> {
    return this.#stderr.then((text) => text.slice(-2000));
  }

  /** Stops the process (SIGTERM, then SIGKILL after a second) and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#writer?.close();
    } catch { /* already closed */ }
    await terminate(this.#process, 1000);
    await this.#stderr;
  }
}

/**
 * Stops a child process: SIGTERM, then SIGKILL when it still runs after
 * `graceMs`; resolves once it exited.
 */
export async function terminate(process: Deno.ChildProcess, graceMs: number): Promise<void> {
  try {
    process.kill("SIGTERM");
  } catch { /* already exited */ }
  const timer = setTimeout(() => {
    try {
      process.kill("SIGKILL");
    } catch { /* already exited */ }
  }, graceMs);
  await process.status;
  clearTimeout(timer);
}

/** Splits a text stream into lines. */
export function lineSplitter(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      const parts = (pending + chunk).split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (pending) controller.enqueue(pending);
    },
  });
}

/** Starts a Deno script of the bench folder as a child process. */
export function denoChild(
  name: string,
  script: string,
  args: string[],
  options: { stdin?: boolean; v8Flags?: string[] } = {},
): Child {
  const flags = options.v8Flags?.length ? [`--v8-flags=${options.v8Flags.join(",")}`] : [];
  return new Child(name, Deno.execPath(), ["run", "-A", ...flags, `${BENCH}/${script}`, ...args], {
    stdin: options.stdin,
  });
}

/** Installs the Node peers (bench/peers) when their node_modules is missing. */
export async function ensurePeers(): Promise<void> {
  const peers = `${BENCH}/peers`;
  if (await exists(`${peers}/node_modules/dockerode/package.json`)) return;
  const hasLock = await exists(`${peers}/package-lock.json`);
  const args = hasLock
    ? ["ci", "--no-audit", "--no-fund", "--loglevel=error"]
    : ["install", "--no-audit", "--no-fund", "--loglevel=error"];
  log(`installing the Node peers (npm ${args[0]} in bench/peers)`);
  const output = await new Deno.Command("npm", {
    args,
    cwd: peers,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  if (!output.success) {
    throw new Error(
      `npm ${args[0]} failed: ${new TextDecoder().decode(output.stderr).slice(-1000)}`,
    );
  }
}

/** Starts a Node peer script (bench/peers/NAME.mjs) as a child process, installing the peers first. */
export async function nodeChild(
  script: string,
  args: string[],
  options: { stdin?: boolean } = {},
): Promise<Child> {
  await ensurePeers();
  return new Child(`node ${script}`, "node", [`${BENCH}/peers/${script}`, ...args], options);
}

/** Runs a Node peer script (bench/peers/NAME.mjs) and returns the JSON line it prints. */
export async function runNodePeer<T = Record<string, unknown>>(
  script: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<T> {
  await ensurePeers();
  const output = await new Deno.Command("node", {
    args: [`${BENCH}/peers/${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const line = stdout.split("\n").reverse().find((l) => l.trim().startsWith("{"));
  if (!output.success || !line) {
    throw new Error(
      `node ${script} failed (code ${output.code}): ${
        new TextDecoder().decode(output.stderr).slice(-1500)
      }`,
    );
  }
  return JSON.parse(line) as T;
}

/** Resolves after the given milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The entry point every metric file shares: runs the metric and prints its
 * rows as one JSON line on stdout (progress goes to stderr).
 */
export async function main(run: () => Promise<Row[]>): Promise<void> {
  const rows = await run();
  console.log(JSON.stringify({ rows }));
}

/** The real dockerd of scripts/engines.sh, or `undefined` when none answers. */
export async function realDocker(): Promise<{ socket: string; image: string } | undefined> {
  let socket = Deno.env.get("IDLEWATCHER_DOCKER_SOCK");
  let image = Deno.env.get("IDLEWATCHER_TEST_IMAGE");
  if (!socket || !image) {
    const dir = Deno.env.get("IDLEWATCHER_ENGINES_DIR") ?? "/tmp/idlewatcher-engines";
    if (!await exists(`${dir}/env`)) return undefined;
    const env = await Deno.readTextFile(`${dir}/env`);
    socket ??= /IDLEWATCHER_DOCKER_SOCK=(\S+)/.exec(env)?.[1];
    image ??= /IDLEWATCHER_TEST_IMAGE=(\S+)/.exec(env)?.[1];
  }
  if (!socket || !image || !await exists(socket)) return undefined;
  try {
    using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
    const response = await fetch("http://docker/_ping", {
      client,
      signal: AbortSignal.timeout(3000),
    });
    if ((await response.text()) !== "OK") return undefined;
  } catch {
    return undefined;
  }
  return { socket, image };
}
