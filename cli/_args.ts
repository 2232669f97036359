/**
 * Command-line parsing: turns `Deno.args` into an {@linkcode Invocation}, or
 * a {@linkcode UsageError} that names what is wrong.
 *
 * @module
 */

import { closest } from "./_suggest.ts";
import {
  type ContainerSignal,
  ContainerStatus,
  parseContainerSignal,
  type ProxmoxConfig,
} from "../mod.ts";

/** A command line the CLI cannot run; the message says why. */
export class UsageError extends Error {
  /**
   * Creates an error.
   *
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The runtimes the CLI talks to. */
export type RuntimeName = "docker" | "proxmox";

/** The commands, in the order the help lists them. */
export const COMMANDS = [
  "status",
  "start",
  "stop",
  "kill",
  "pause",
  "unpause",
  "watch",
  "wait",
] as const;

/** One of {@linkcode COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

/** The seconds `stop` waits before killing, when `--timeout` is not given (Docker's default). */
export const DEFAULT_STOP_TIMEOUT = 10;

/** The container a command acts on. */
export type Target =
  | { runtime: "docker"; container: string }
  | { runtime: "proxmox"; node: string; vmid: number; container: string };

/** The Docker connection flags, as given. */
export interface DockerFlags {
  host?: string;
  socket?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The Proxmox connection flags, as given: the {@linkcode ProxmoxConfig} fields they set. */
export type ProxmoxFlags = Partial<
  Pick<ProxmoxConfig, "url" | "tokenId" | "secret" | "username" | "password" | "realm" | "caFile">
>;

/** A command line the CLI can run. */
export interface Invocation {
  target: Target;
  command: CommandName;
  /** The signal of `stop` and `kill` (`""`: the runtime's default). */
  signal: ContainerSignal;
  /** `stop`: seconds before the kill. `wait`: seconds before giving up (`undefined`: never). */
  timeout: number | undefined;
  /** The status `wait` waits for. */
  status: ContainerStatus | undefined;
  json: boolean;
  verbose: boolean;
  docker: DockerFlags;
  proxmox: ProxmoxFlags;
}

/** What a command line asks for. */
export type Parsed =
  | { kind: "help"; command?: CommandName | "serve" }
  | { kind: "version" }
  | { kind: "run"; invocation: Invocation };

interface FlagSpec {
  /** The flag takes a value (`--name value` or `--name=value`). */
  value: boolean;
  /** The flag belongs to one runtime only. */
  runtime?: RuntimeName;
  /** The flag belongs to these commands only. */
  commands?: readonly CommandName[];
}

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  "json": { value: false },
  "verbose": { value: false },
  "help": { value: false },
  "version": { value: false },
  "signal": { value: true, commands: ["stop", "kill"] },
  "timeout": { value: true, commands: ["stop", "wait"] },
  "host": { value: true, runtime: "docker" },
  "socket": { value: true, runtime: "docker" },
  "tls-ca": { value: true, runtime: "docker" },
  "tls-cert": { value: true, runtime: "docker" },
  "tls-key": { value: true, runtime: "docker" },
  "url": { value: true, runtime: "proxmox" },
  "token-id": { value: true, runtime: "proxmox" },
  "secret": { value: true, runtime: "proxmox" },
  "username": { value: true, runtime: "proxmox" },
  "password": { value: true, runtime: "proxmox" },
  "realm": { value: true, runtime: "proxmox" },
  "ca-file": { value: true, runtime: "proxmox" },
};

/** One-letter flags, as docker's: `-t` of `docker stop`, `-s` of `docker kill`. */
const SHORT_FLAGS: Readonly<Record<string, string>> = { h: "help", t: "timeout", s: "signal" };

const STATUSES: readonly string[] = Object.values(ContainerStatus);

/** Signal numbers and the names they stand for (Linux numbering). */
const SIGNAL_NUMBERS: Readonly<Record<string, string>> = {
  "1": "SIGHUP",
  "2": "SIGINT",
  "3": "SIGQUIT",
  "9": "SIGKILL",
  "15": "SIGTERM",
};

/**
 * Parses a command line (without the program name).
 *
 * @param args The arguments, such as `Deno.args`.
 * @returns Help, version, or the invocation to run.
 * @throws {UsageError} When an argument is missing, unknown or invalid.
 */
export function parseArgs(args: readonly string[]): Parsed {
  const { flags, positionals } = splitArgs(args);
  const words = positionals[0] === "help" ? positionals.slice(1) : positionals;
  if (positionals[0] === "help" || flags.has("help")) {
    const command = words.find((word) => isCommand(word) || word === "serve");
    return { kind: "help", command: command as CommandName | "serve" | undefined };
  }
  if (flags.has("version")) return { kind: "version" };

  const [runtime, container, command, ...rest] = positionals;
  if (runtime === undefined) {
    throw new UsageError("Missing the runtime: docker or proxmox (or the serve command)");
  }
  if (runtime !== "docker" && runtime !== "proxmox") {
    throw new UsageError(
      `Unknown runtime ${JSON.stringify(runtime)}: expected docker, proxmox or serve` +
        didYouMean(
          closest(runtime, ["docker", "proxmox", "podman", "serve"]) === "podman"
            ? "docker (Podman speaks Docker's API)"
            : closest(runtime, ["docker", "proxmox", "serve"]),
        ),
    );
  }
  if (container === undefined) {
    throw new UsageError(
      runtime === "docker"
        ? "Missing the container name or id"
        : "Missing the container: <vmid> or <node>/<vmid>",
    );
  }
  if (command === undefined && isCommand(container)) {
    throw new UsageError(
      `Missing the container: the command comes after it, as in ` +
        `idlewatcher ${runtime} <container> ${container}`,
    );
  }
  if (command === undefined) {
    throw new UsageError(`Missing the command: one of ${COMMANDS.join(", ")}`);
  }
  if (!isCommand(command)) {
    // `docker status web`: the container and the command swapped.
    const swapped = isCommand(container) ? `${runtime} ${command} ${container}` : undefined;
    const typo = closest(command, COMMANDS);
    throw new UsageError(
      `Unknown command ${JSON.stringify(command)}: expected one of ${COMMANDS.join(", ")}` +
        didYouMean(
          swapped !== undefined ? `idlewatcher ${swapped}` : typo,
        ),
    );
  }
  const target = parseTarget(runtime, container);
  const name = command as CommandName;
  for (const flag of flags.keys()) checkFlagApplies(flag, runtime, name);

  let status: ContainerStatus | undefined;
  let extra = rest;
  if (name === "wait") {
    const goal = rest[0];
    if (goal === undefined) {
      throw new UsageError(`Missing the status to wait for: one of ${STATUSES.join(", ")}`);
    }
    if (!STATUSES.includes(goal)) {
      throw new UsageError(
        `Unknown status ${JSON.stringify(goal)}: expected one of ${STATUSES.join(", ")}` +
          didYouMean(closest(goal, STATUSES)),
      );
    }
    status = goal as ContainerStatus;
    extra = rest.slice(1);
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`);

  const docker: DockerFlags = {
    host: flags.get("host"),
    socket: flags.get("socket"),
    tlsCa: flags.get("tls-ca"),
    tlsCert: flags.get("tls-cert"),
    tlsKey: flags.get("tls-key"),
  };
  if (docker.host !== undefined && docker.socket !== undefined) {
    throw new UsageError("Give either --host or --socket, not both");
  }
  for (const [flag, value] of [["socket", docker.socket], ["host", docker.host]]) {
    if (value === "") throw new UsageError(`--${flag} needs a non-empty value`);
  }

  return {
    kind: "run",
    invocation: {
      target,
      command: name,
      signal: parseSignal(flags.get("signal")),
      timeout: parseTimeout(flags.get("timeout"), name),
      status,
      json: flags.has("json"),
      verbose: flags.has("verbose"),
      docker,
      proxmox: {
        url: flags.get("url"),
        tokenId: flags.get("token-id"),
        secret: flags.get("secret"),
        username: flags.get("username"),
        password: flags.get("password"),
        realm: flags.get("realm"),
        caFile: flags.get("ca-file"),
      },
    },
  };
}

/** Separates `--flags` (with their values) from positional arguments. `--` ends the flags. */
function splitArgs(args: readonly string[]): { flags: Map<string, string>; positionals: string[] } {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    let name: string;
    if (arg.startsWith("--")) {
      name = arg.slice(2, equals === -1 ? undefined : equals);
    } else {
      const letter = arg.slice(1, equals === -1 ? undefined : equals);
      const long = Object.hasOwn(SHORT_FLAGS, letter) ? SHORT_FLAGS[letter] : undefined;
      if (long === undefined) {
        throw new UsageError(
          `Unknown flag ${arg}: the short flags are -t (--timeout), -s (--signal) and -h (--help)`,
        );
      }
      name = long;
    }
    const spec = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    if (spec === undefined) {
      const near = closest(name, Object.keys(FLAGS));
      throw new UsageError(
        `Unknown flag --${name}` + didYouMean(near === undefined ? undefined : `--${near}`),
      );
    }
    if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
    if (!spec.value) {
      if (equals !== -1) throw new UsageError(`--${name} takes no value`);
      flags.set(name, "");
    } else if (equals !== -1) {
      flags.set(name, arg.slice(equals + 1));
    } else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("--")) {
        throw new UsageError(`--${name} needs a value`);
      }
      flags.set(name, value);
      i++;
    }
  }
  return { flags, positionals };
}

function isCommand(word: string): boolean {
  return (COMMANDS as readonly string[]).includes(word);
}

/** `"; did you mean X?"`, or nothing. */
function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : `; did you mean ${suggestion}?`;
}

function parseTarget(runtime: RuntimeName, text: string): Target {
  if (runtime === "docker") {
    if (text === "") throw new UsageError("The container name or id is empty");
    return { runtime, container: text };
  }
  // A bare vmid: the node is looked up in the cluster.
  const match = /^(?:([^/]+)\/)?([0-9]+)$/.exec(text);
  if (match === null) {
    throw new UsageError(
      `Invalid Proxmox container ${JSON.stringify(text)}: ` +
        "expected <vmid> or <node>/<vmid>, such as 101 or pve/101",
    );
  }
  return { runtime, node: match[1] ?? "", vmid: Number(match[2]), container: text };
}

function checkFlagApplies(flag: string, runtime: RuntimeName, command: CommandName): void {
  const spec = FLAGS[flag];
  if (spec.runtime !== undefined && spec.runtime !== runtime) {
    throw new UsageError(`--${flag} is a ${spec.runtime} flag; it does not apply to ${runtime}`);
  }
  if (spec.commands !== undefined && !spec.commands.includes(command)) {
    throw new UsageError(`--${flag} applies to ${spec.commands.join(" and ")}, not ${command}`);
  }
}

function parseSignal(value: string | undefined): ContainerSignal {
  if (value === undefined) return "";
  // As docker kill -s: a number (15) or a name in any case (sigterm, term).
  const name = Object.hasOwn(SIGNAL_NUMBERS, value) ? SIGNAL_NUMBERS[value] : value.toUpperCase();
  try {
    return parseContainerSignal(name);
  } catch {
    throw new UsageError(
      `Invalid --signal ${JSON.stringify(value)}: expected SIGINT, SIGTERM, SIGKILL, SIGQUIT or ` +
        "SIGHUP (in any case, with or without SIG) or its number: 2, 15, 9, 3 or 1",
    );
  }
}

function parseTimeout(value: string | undefined, command: CommandName): number | undefined {
  if (value === undefined) return command === "stop" ? DEFAULT_STOP_TIMEOUT : undefined;
  const pattern = command === "stop" ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$/;
  const seconds = Number(value);
  if (!pattern.test(value) || !Number.isFinite(seconds)) {
    throw new UsageError(
      `Invalid --timeout ${JSON.stringify(value)}: expected ${
        command === "stop" ? "a whole number of seconds" : "a number of seconds"
      }, such as 30`,
    );
  }
  return seconds;
}
