/**
 * The `idlewatcher` command line: status, start, stop, kill, pause, unpause,
 * watch and wait for one container on Docker (or Podman) or Proxmox VE.
 *
 * ```sh
 * idlewatcher docker  <container>   <command> [flags]
 * idlewatcher proxmox <node>/<vmid> <command> [flags]
 * ```
 *
 * Run it with `deno run` (see the README for the permission flags), or embed
 * it with {@linkcode main}.
 *
 * @example Read a container's status from a program
 * ```ts ignore
 * import { main } from "@idlewatcher/provider/cli";
 *
 * const code = await main(["docker", "web", "status", "--json"]);
 * console.log(code); // 0 when the status was printed
 * ```
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import type { Logger } from "./mod.ts";
import { type Invocation, parseArgs, type RuntimeName, UsageError } from "./cli/_args.ts";
import { runCommand } from "./cli/_commands.ts";
import { openProvider } from "./cli/_connect.ts";
import { details, type DockerSource, ExitCode, explain } from "./cli/_errors.ts";
import { type CliWriter, Output } from "./cli/_output.ts";
import { jsonLine, printable, printableLines } from "./cli/_text.ts";
import { commandHelp, HELP, USAGE } from "./cli/_usage.ts";
import { runServe } from "./cli/_serve.ts";

export type { CliWriter } from "./cli/_output.ts";

/** Options of {@linkcode main}. */
export interface MainOptions {
  /**
   * Ends the command early, as Ctrl-C does: `watch` then exits with 0, other
   * commands with 130. When given, `main` installs no `SIGINT` listener.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Where results go.
   *
   * @default {Deno.stdout}
   */
  stdout?: CliWriter;
  /**
   * Where errors, warnings, progress and `--verbose` logs go. Progress is
   * drawn only when it is a terminal.
   *
   * @default {Deno.stderr}
   */
  stderr?: CliWriter;
}

/**
 * Runs the CLI with `args` (without the program name) and resolves with the
 * exit code instead of exiting: 0 success, 1 the operation failed, 2 a usage
 * error, 3 the container was not found, 4 the runtime cannot be reached (a
 * missing permission included), 124 a timeout, 130 `wait` was interrupted.
 *
 * Failures are printed on `stderr` as one line (with `--json`: one JSON
 * object), never thrown.
 *
 * @param args The command line, such as `["docker", "web", "status"]`.
 * @param options An abort signal and the output streams.
 * @returns The exit code.
 *
 * @example Capture the output of `--help`
 * ```ts
 * import { main } from "./cli.ts";
 *
 * let text = "";
 * const code = await main(["--help"], {
 *   stdout: {
 *     write(bytes) {
 *       text += new TextDecoder().decode(bytes);
 *       return Promise.resolve(bytes.length);
 *     },
 *   },
 * });
 * console.log(code, text.split("\n")[0]);
 * ```
 */
export async function main(args: string[], options?: MainOptions): Promise<number> {
  const stdout = new Output(options?.stdout ?? Deno.stdout);
  const stderr = new Output(options?.stderr ?? Deno.stderr);
  try {
    return await run(args, stdout, stderr, options?.signal);
  } finally {
    await Promise.all([stdout.flush(), stderr.flush()]);
  }
}

async function run(
  args: string[],
  stdout: Output,
  stderr: Output,
  external: AbortSignal | undefined,
): Promise<number> {
  if (args[0] === "serve") {
    return await runServe(args.slice(1), { stdout, stderr, signal: external });
  }
  let parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr.line(`idlewatcher: ${printable(error.message)}`);
    stderr.line(USAGE);
    return ExitCode.Usage;
  }
  if (parsed.kind === "help") {
    stdout.write(parsed.command === undefined ? HELP : commandHelp(parsed.command));
    return ExitCode.Ok;
  }
  if (parsed.kind === "version") {
    stdout.line(`idlewatcher ${denoJson.version}`);
    return ExitCode.Ok;
  }
  const { invocation } = parsed;
  for (const flag of ["secret", "password"] as const) {
    if (invocation.proxmox[flag] !== undefined) {
      stderr.line(
        `idlewatcher: warning: --${flag} is visible to other users in the process list; ` +
          `set PROXMOX_${flag.toUpperCase()} instead`,
      );
    }
  }

  const interrupt = new AbortController();
  const onInterrupt = () => interrupt.abort();
  const listens = external === undefined &&
    (invocation.command === "watch" || invocation.command === "wait");
  if (listens) Deno.addSignalListener("SIGINT", onInterrupt);
  const signal = AbortSignal.any([
    interrupt.signal,
    stdout.closed,
    ...(external === undefined ? [] : [external]),
  ]);
  const runtime: RuntimeName = invocation.target.runtime;
  try {
    using provider = await openProvider(invocation, logger(stderr, invocation.verbose), signal);
    return await runCommand({ invocation, provider, stdout, stderr, signal });
  } catch (error) {
    if (signal.aborted) {
      return invocation.command === "watch" ? ExitCode.Ok : ExitCode.Interrupted;
    }
    const { code, kind, message, fix } = explain(error, {
      runtime,
      dockerSource: dockerSource(invocation),
    });
    if (invocation.json) {
      stderr.line(jsonLine({ error: message, kind, fix, exitCode: code }));
    } else {
      // The message may hold a runtime's words: no control character reaches the terminal raw.
      stderr.line(printable(`idlewatcher: ${message}${fix === undefined ? "" : ` (fix: ${fix})`}`));
      if (code === ExitCode.Usage) stderr.line(USAGE);
    }
    if (invocation.verbose) stderr.line(printableLines(details(error)));
    return code;
  } finally {
    if (listens) Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** Where the Docker host came from: a flag, a variable, or the default (or the current context). */
function dockerSource(invocation: Invocation): DockerSource {
  if (invocation.docker.socket !== undefined) return "--socket";
  if (invocation.docker.host !== undefined) return "--host";
  for (const name of ["DOCKER_HOST", "DOCKER_CONTEXT"] as const) {
    try {
      if (Deno.env.get(name)) return name;
    } catch {
      // Not readable: the library said so already.
    }
  }
  return "default";
}

/** With `--verbose`, every API call and failure on stderr; without, nothing. */
function logger(stderr: Output, verbose: boolean): Logger {
  if (!verbose) return { debug() {}, error() {} };
  const write = (level: string, msg: string, args: unknown[]) =>
    stderr.line(
      printable(
        `${level}: ${[msg, ...args.map((arg) => formatContext(arg, msg))].join(" ").trim()}`,
      ),
    );
  return {
    debug: (msg, ...args) => write("debug", msg, args),
    error: (msg, ...args) => write("error", msg, args),
  };
}

/** `key=value` pairs of a log call's context, leaving out what the message says already. */
function formatContext(value: unknown, msg: string): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value !== "object" || value === null) return String(value);
  return Object.entries(value)
    .map((
      [key, field],
    ) => [key, field instanceof Error ? `${field.name}: ${field.message}` : field])
    .filter(([, field]) => field !== undefined && !msg.includes(String(field)))
    .map(([key, field]) => `${key}=${JSON.stringify(field)}`)
    .join(" ");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
