/**
 * `idlewatcher serve`: the idle-watching server, with its flags, its log
 * lines on stderr, and its drain on SIGINT or SIGTERM.
 *
 * @module
 */

import { parseGoDuration } from "../serve/_duration.ts";
import type { ServeLogger } from "../serve/_model.ts";
import { type RunningServer, startServer } from "../serve/mod.ts";
import { ProxmoxClient, type ProxmoxConfig } from "../proxmox/mod.ts";
import type { Output } from "./_output.ts";
import { type DockerSource, ExitCode, explain } from "./_errors.ts";
import { closest } from "./_suggest.ts";
import { printable } from "./_text.ts";

/** The text of `idlewatcher serve --help`. */
export const SERVE_HELP = `idlewatcher serve: stop what nobody uses, wake it when a request comes

Speaks Sablier's HTTP API, so Sablier's Traefik, Caddy, nginx and proxy-wasm
plugins work unchanged. Only containers labelled sablier.enable=true (Proxmox:
tagged sablier) are ever started or stopped.

Usage:
  idlewatcher serve [flags]

Flags:
  --listen HOST:PORT         where to listen (default 127.0.0.1:10000)
  --docker URL               a Docker or Podman engine; repeat for several
                             (default: $DOCKER_HOST, else unix:///var/run/docker.sock)
  --proxmox URL              a Proxmox VE cluster, with the Proxmox flags below
  --token-id, --secret, --username, --password, --realm, --ca-file
                             as for "idlewatcher proxmox" (PROXMOX_* variables too)
  --state-dir DIR            where sessions survive restarts
                             (default $XDG_STATE_HOME/idlewatcher, else ~/.local/state/idlewatcher)
  --themes-dir DIR           custom loading-page themes (NAME.html)
  --only-label KEY=VALUE     manage only the opted-in containers that also carry this label
                             (several servers on one engine)
  --session-duration D       default session, a Go duration (default 5m)
  --log-level LEVEL          debug, info, warn or error (default info)

SIGINT or SIGTERM drains: /health answers 503, requests in flight are
answered, sessions are saved, and the exit code is 0.
`;

/** The flags of `serve`, read. */
export interface ServeFlags {
  /** The listen host. */
  hostname: string;
  /** The listen port. */
  port: number;
  /** The Docker or Podman URLs; empty for the default. */
  docker: string[];
  /** The Proxmox settings, when `--proxmox` is given. */
  proxmox?: Partial<ProxmoxConfig>;
  /** The state directory. */
  stateDir: string | undefined;
  /** The themes directory. */
  themesDir?: string;
  /** The extra label containers must carry. */
  onlyLabel?: string;
  /** The default session, in ms. */
  sessionMs: number;
  /** The lowest level logged. */
  logLevel: LogLevel;
  /** `--help` was asked. */
  help: boolean;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LEVELS[number];

const VALUE_FLAGS = new Set([
  "listen",
  "docker",
  "proxmox",
  "token-id",
  "secret",
  "username",
  "password",
  "realm",
  "ca-file",
  "state-dir",
  "themes-dir",
  "session-duration",
  "log-level",
  "only-label",
]);

/**
 * Reads the flags of `serve`.
 *
 * @param args The arguments after `serve`.
 * @param env Reads an environment variable.
 * @returns The flags.
 * @throws {RangeError} For an unknown flag or a bad value; the message names it.
 */
export function parseServeFlags(
  args: readonly string[],
  env: (name: string) => string | undefined,
): ServeFlags {
  const values = new Map<string, string[]>();
  let help = false;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (match === null || !VALUE_FLAGS.has(match[1])) {
      const near = match === null ? undefined : closest(match[1], [...VALUE_FLAGS, "help"]);
      throw new RangeError(
        `unknown argument ${JSON.stringify(arg)} for serve` +
          (near === undefined ? "" : `; did you mean --${near}?`),
      );
    }
    let value = match[2];
    if (value === undefined) {
      if (index + 1 >= args.length) throw new RangeError(`--${match[1]} needs a value`);
      value = args[++index];
    }
    values.set(match[1], [...values.get(match[1]) ?? [], value]);
  }
  const last = (flag: string) => values.get(flag)?.at(-1);
  const [hostname, port] = parseListen(last("listen") ?? "127.0.0.1:10000");
  const sessionText = last("session-duration") ?? "5m";
  let sessionMs: number;
  try {
    sessionMs = parseGoDuration(sessionText);
  } catch (error) {
    throw new RangeError(`--session-duration: ${(error as Error).message}`);
  }
  if (!(sessionMs > 0)) throw new RangeError("--session-duration must be positive");
  const logLevel = (last("log-level") ?? "info") as LogLevel;
  if (!LEVELS.includes(logLevel)) {
    throw new RangeError(`--log-level must be one of ${LEVELS.join(", ")}`);
  }
  const proxmoxUrl = last("proxmox");
  return {
    hostname,
    port,
    docker: values.get("docker") ?? [],
    proxmox: proxmoxUrl === undefined ? undefined : {
      url: proxmoxUrl,
      tokenId: last("token-id"),
      secret: last("secret"),
      username: last("username"),
      password: last("password"),
      realm: last("realm"),
      caFile: last("ca-file"),
    },
    stateDir: last("state-dir") ?? defaultStateDir(env),
    themesDir: last("themes-dir"),
    onlyLabel: last("only-label"),
    sessionMs,
    logLevel,
    help,
  };
}

function parseListen(text: string): [string, number] {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) {
    throw new RangeError(
      `--listen ${JSON.stringify(text)}: expected HOST:PORT, such as 127.0.0.1:10000`,
    );
  }
  return [match[1] ?? (match[2] || "0.0.0.0"), port];
}

function defaultStateDir(env: (name: string) => string | undefined): string | undefined {
  const state = env("XDG_STATE_HOME");
  if (state) return `${state}/idlewatcher`;
  const home = env("HOME");
  return home ? `${home}/.local/state/idlewatcher` : undefined;
}

/** A logger writing `level message key=value` lines to `out`, from `level` up. */
function lineLogger(out: Output, level: LogLevel): ServeLogger {
  const threshold = LEVELS.indexOf(level);
  const write = (at: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(at) < threshold) return;
    const context = Object.entries(fields ?? {})
      .filter(([key, value]) => value !== undefined && key !== "error")
      .map(([key, value]) => ` ${key}=${JSON.stringify(value)}`).join("");
    // Container names and messages come from runtimes: escaped, one line each.
    out.line(printable(`${new Date().toISOString()} ${at.toUpperCase()} ${msg}${context}`));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** Options of {@linkcode runServe}. */
export interface RunServeOptions {
  /** Where `--help` goes. */
  stdout: Output;
  /** Where log lines go. */
  stderr: Output;
  /** Drains the server, as SIGINT does; when given, no signal listener is installed. */
  signal?: AbortSignal;
  /** Called once the server listens, with its address. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * Runs `idlewatcher serve` until SIGINT, SIGTERM or `options.signal`.
 *
 * @param args The arguments after `serve`.
 * @param options The outputs and the signal.
 * @returns The exit code: 0 after a drain, 2 for a usage error, 4 when a runtime cannot be reached.
 */
export async function runServe(args: readonly string[], options: RunServeOptions): Promise<number> {
  const { stdout, stderr } = options;
  let flags: ServeFlags;
  try {
    flags = parseServeFlags(args, (name) => Deno.env.get(name));
  } catch (error) {
    stderr.line(`idlewatcher: ${printable((error as Error).message)}`);
    stderr.line("usage: idlewatcher serve [flags] (--help for more)");
    return ExitCode.Usage;
  }
  if (flags.help) {
    stdout.write(SERVE_HELP);
    return ExitCode.Ok;
  }
  const logger = lineLogger(stderr, flags.logLevel);
  let server: RunningServer;
  try {
    server = await startServer({
      hostname: flags.hostname,
      port: flags.port,
      docker: flags.docker,
      proxmox: flags.proxmox === undefined
        ? undefined
        : new ProxmoxClient(proxmoxConfig(flags.proxmox)),
      stateDir: flags.stateDir,
      themesDir: flags.themesDir,
      onlyLabel: flags.onlyLabel,
      sessionDuration: flags.sessionMs,
      logger,
    });
  } catch (error) {
    const explained = explain(error, {
      runtime: flags.proxmox === undefined ? "docker" : "proxmox",
      dockerSource: dockerSource(flags),
    });
    const { code, message } = explained;
    // The docker command's flags are --socket and --host; serve's is --docker.
    const fix = explained.fix
      ?.replace("--socket, --host or DOCKER_HOST", "--docker or DOCKER_HOST")
      .replace("check --host", "check --docker")
      .replace("(or --socket)", "(or --docker)");
    stderr.line(printable(`idlewatcher: ${message}${fix === undefined ? "" : ` (fix: ${fix})`}`));
    return code;
  }
  options.onListen?.(server.addr);
  await waitForStop(options.signal);
  logger.info("Draining");
  await server.close();
  logger.info("Stopped; sessions saved");
  return ExitCode.Ok;
}

/** Where serve's Docker engines came from, for the fix of a failure to reach them. */
function dockerSource(flags: ServeFlags): DockerSource {
  if (flags.docker.length > 0) return "--host";
  try {
    if (Deno.env.get("DOCKER_HOST")) return "DOCKER_HOST";
  } catch {
    // Not readable: the default.
  }
  return "default";
}

/** Fills the Proxmox settings left out from the `PROXMOX_*` variables. */
function proxmoxConfig(flags: Partial<ProxmoxConfig>): ProxmoxConfig {
  const env = (name: string) => {
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  };
  return {
    url: flags.url!,
    tokenId: flags.tokenId ?? env("PROXMOX_TOKEN_ID"),
    secret: flags.secret ?? env("PROXMOX_SECRET"),
    username: flags.username ?? env("PROXMOX_USERNAME"),
    password: flags.password ?? env("PROXMOX_PASSWORD"),
    realm: flags.realm ?? env("PROXMOX_REALM"),
    caFile: flags.caFile ?? env("PROXMOX_CA_FILE"),
  };
}

function waitForStop(signal: AbortSignal | undefined): Promise<void> {
  if (signal !== undefined) {
    return new Promise((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
  return new Promise((resolve) => {
    const stop = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}
