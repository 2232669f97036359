/**
 * Runs the CLI as a subprocess (`deno run <permissions> cli.ts ...`), the way
 * a user does, with a clean environment.
 *
 * @module
 */

const REPO = new URL("../../", import.meta.url);
const CLI = new URL("cli.ts", REPO).pathname;

/** What a finished CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runCli} and {@linkcode spawnCli}. */
export interface CliRunOptions {
  /** Environment variables besides PATH, HOME and DENO_DIR (nothing else is inherited). */
  env?: Record<string, string>;
  /** Deno permission flags. @default ["-A"] */
  permissions?: string[];
}

function command(args: string[], options: CliRunOptions | undefined): Deno.Command {
  const base = baseEnv();
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...(options?.permissions ?? ["-A"]), CLI, ...args],
    cwd: REPO.pathname,
    clearEnv: true,
    env: { ...base, ...options?.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Options of {@linkcode runTask}. */
export interface TaskRunOptions {
  /** Environment variables besides PATH, HOME and DENO_DIR (nothing else is inherited). */
  env?: Record<string, string>;
  /** Wraps the command, such as `["unshare", "-m", "sh", "-c", script]` (it gets the command as `"$@"`). */
  wrap?: string[];
}

/**
 * Runs `deno task -q cli <args>` in the repository, as the README tells users to.
 *
 * @param args The CLI's arguments.
 * @param options Environment and a wrapper command.
 * @returns The exit code and the output.
 */
export async function runTask(args: string[], options?: TaskRunOptions): Promise<CliResult> {
  const task = [Deno.execPath(), "task", "-q", "cli", ...args];
  const [program, ...rest] = [...(options?.wrap ?? []), ...task];
  const output = await new Deno.Command(program, {
    args: rest,
    cwd: REPO.pathname,
    clearEnv: true,
    env: { ...baseEnv(), ...options?.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function baseEnv(): Record<string, string> {
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return base;
}

/**
 * Runs the CLI to completion.
 *
 * @param args The CLI's arguments.
 * @param options Environment and permissions.
 * @returns The exit code and the output.
 */
export async function runCli(args: string[], options?: CliRunOptions): Promise<CliResult> {
  const output = await command(args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A CLI process that keeps running (watch, wait): its stdout and stderr line by line. */
export class RunningCli implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #stdout: ReadableStreamDefaultReader<string>;
  #stderr: ReadableStreamDefaultReader<string>;
  #result: Promise<CliResult> | undefined;

  /**
   * Starts the CLI.
   *
   * @param args The CLI's arguments.
   * @param options Environment and permissions.
   */
  constructor(args: string[], options?: CliRunOptions) {
    this.#child = command(args, options).spawn();
    this.#stdout = lines(this.#child.stdout);
    this.#stderr = lines(this.#child.stderr);
  }

  /**
   * The next line of stdout.
   *
   * @returns The line, or `undefined` once stdout ended.
   */
  async nextLine(): Promise<string | undefined> {
    const { done, value } = await this.#stdout.read();
    return done ? undefined : value;
  }

  /**
   * The next line of stderr.
   *
   * @returns The line, or `undefined` once stderr ended.
   */
  async nextErrorLine(): Promise<string | undefined> {
    const { done, value } = await this.#stderr.read();
    return done ? undefined : value;
  }

  /**
   * Sends a signal to the CLI.
   *
   * @param signal Such as `"SIGINT"` (Ctrl-C).
   */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /**
   * Waits for the CLI to exit.
   *
   * @returns Its exit code, and the output not read with `nextLine()` or `nextErrorLine()`.
   */
  finished(): Promise<CliResult> {
    this.#result ??= (async () => {
      const [stdout, stderr, status] = await Promise.all([
        rest(this.#stdout),
        rest(this.#stderr),
        this.#child.status,
      ]);
      return { code: status.code, stdout, stderr };
    })();
    return this.#result;
  }

  /** Kills the CLI if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.finished();
  }
}

function lines(stream: ReadableStream<Uint8Array>): ReadableStreamDefaultReader<string> {
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter()).getReader();
}

/** The lines left in `reader`, each with its newline. */
async function rest(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  for (let line = await reader.read(); !line.done; line = await reader.read()) {
    text += `${line.value}\n`;
  }
  return text;
}

function lineSplitter(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (pending + chunk).split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (pending !== "") controller.enqueue(pending);
    },
  });
}

/**
 * Writes `text` to a new temporary file.
 *
 * @param text The content.
 * @returns The file's path and a disposer that removes it.
 */
export async function tempFile(text: string): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempFile({ prefix: "idlewatcher-cli-", suffix: ".pem" });
  await Deno.writeTextFile(path, text);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path).catch(() => {});
    },
  };
}

/**
 * Waits for `promise` to settle, or `ms` milliseconds, whichever comes first;
 * leaves no timer behind.
 *
 * @param promise What to wait for.
 * @param ms The longest wait.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      promise.catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
