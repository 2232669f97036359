/**
 * Turns any error the CLI meets into an exit code and one line for a human:
 * what failed, why, and how to fix it when that is known.
 *
 * @module
 */

import {
  ApiError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  ProviderError,
  PROXMOX_ENV_NAMES,
  TimeoutError,
} from "../mod.ts";
import { messageOf } from "../_internal/message.ts";
import { type RuntimeName, UsageError } from "./_args.ts";

/** The exit codes of the CLI. */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  NotFound: 3,
  CannotConnect: 4,
  Timeout: 124,
  Interrupted: 130,
} as const;

/** The container of a `watch` or `wait` was removed while the command ran. */
export class ContainerRemovedError extends NotFoundError {
  /**
   * Creates an error.
   *
   * @param container The container's name or id, as given.
   * @param cause The status read that found it gone.
   */
  constructor(container: string, cause: unknown) {
    super(`container ${container} was removed`, { container, cause });
    // Scripts that read --json see the kind of any missing container.
    this.name = "NotFoundError";
  }
}

/** Where the Docker host of a command came from, for fixes that name the right place. */
export type DockerSource = "--socket" | "--host" | "DOCKER_HOST" | "DOCKER_CONTEXT" | "default";

/** What the CLI knows about the command that failed. */
export interface ExplainContext {
  /** The runtime the command talked to, when known. */
  runtime?: RuntimeName;
  /** Where the Docker host came from. @default {"default"} */
  dockerSource?: DockerSource;
}

/** The variables the Docker side of the CLI reads, all granted at once. */
export const DOCKER_ENV_NAMES: readonly string[] = [
  "DOCKER_HOST",
  "DOCKER_TLS_VERIFY",
  "DOCKER_CERT_PATH",
  "DOCKER_CONTEXT",
  "DOCKER_CONFIG",
  "HOME",
];

/** An error, explained. */
export interface Explained {
  /** The exit code that goes with it. */
  code: number;
  /** The error class's name, for `--json` output. */
  kind: string;
  /** What failed and why, on one line. */
  message: string;
  /** How to fix it, when known. */
  fix: string | undefined;
}

/**
 * Explains `error` for a user of the CLI, in the CLI's words (flags and
 * variables), with one fix at most.
 *
 * @param error Whatever was thrown.
 * @param context The runtime and where the Docker host came from.
 * @returns The exit code, the message and the fix.
 */
export function explain(error: unknown, context: ExplainContext = {}): Explained {
  const { runtime } = context;
  const kind = error instanceof Error ? error.name : typeof error;
  const libraryFix = error instanceof ProviderError ? error.fix : undefined;
  const message = oneLine(
    cliWords(error instanceof ProviderError ? error.reason : messageOf(error)),
  );
  const denied = findCause(error, Deno.errors.NotCapable);
  if (denied !== undefined) {
    return {
      code: ExitCode.CannotConnect,
      kind: "NotCapable",
      message,
      fix: permissionFix(denied, error, libraryFix),
    };
  }
  const translated = libraryFix === undefined ? undefined : cliWords(libraryFix);
  if (error instanceof UsageError || error instanceof InvalidArgumentError) {
    return { code: ExitCode.Usage, kind, message, fix: translated };
  }
  if (error instanceof NotFoundError) {
    const fix = error instanceof ContainerRemovedError ? undefined : notFoundFix(runtime);
    return { code: ExitCode.NotFound, kind, message, fix };
  }
  if (error instanceof TimeoutError) {
    return { code: ExitCode.Timeout, kind, message, fix: translated };
  }
  if (error instanceof ConnectionError) {
    const fix = connectionFix(error, context) ?? translated;
    return { code: ExitCode.CannotConnect, kind, message, fix };
  }
  if (error instanceof ApiError) {
    return { code: ExitCode.Failed, kind, message, fix: apiFix(error, runtime) ?? translated };
  }
  if (error instanceof ProviderError) {
    return { code: ExitCode.Failed, kind, message, fix: translated };
  }
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound) {
    // A file the CLI itself was asked to read.
    return { code: ExitCode.Usage, kind, message, fix: undefined };
  }
  return { code: ExitCode.Failed, kind, message, fix: undefined };
}

/** The library's names for settings, and the flags or variables the CLI has for them. */
const CLI_WORDS: readonly [RegExp, string][] = [
  [/\bcaFile or caCerts\b/g, "--ca-file or PROXMOX_CA_FILE"],
  [/\bsocketPath, url or DOCKER_HOST\b/g, "--socket, --host or DOCKER_HOST"],
  [/\burl \(and tls\) in the Docker provider's configuration\b/g, "--host (and --tls-ca)"],
  [/\btls in the configuration\b/g, "--tls-ca, --tls-cert and --tls-key"],
  [/\(from config\.url\)/g, "(from --host)"],
  [/\(from config\.socketPath\)/g, "(from --socket)"],
  [/\bthe daemon\b/g, "the engine"],
];

function cliWords(text: string): string {
  return CLI_WORDS.reduce((result, [pattern, words]) => result.replace(pattern, words), text);
}

/**
 * Formats an error with its causes and stacks, for `--verbose`.
 *
 * @param error Whatever was thrown.
 * @returns Several lines.
 */
export function details(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    const text = current instanceof Error ? current.stack ?? String(current) : String(current);
    lines.push(depth === 0 ? text : `caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.join("\n");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function findCause<T extends Error>(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => T,
): T | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    if (current instanceof type) return current;
    current = current.cause;
  }
  return undefined;
}

/** All the messages of the cause chain, to look for a socket path in. */
function chainText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.join("\n");
}

/**
 * The exact `--allow-*` flags a `NotCapable` error asks for: every variable of
 * the runtime at once, every TLS file at once (the library lists them), and
 * the three grants of a unix socket.
 */
function permissionFix(denied: Error, error: unknown, libraryFix: string | undefined): string {
  const how = Deno.build.standalone ? "compile with" : "run with";
  const match = /Requires (\w+) access to "([^"]*)"/.exec(denied.message);
  if (match === null) return "grant the permission named above";
  const [, kind, target] = match;
  if (kind === "env") {
    // The CLI reads each variable its flags leave open: grant them all at once.
    const names = target.startsWith("PROXMOX_") ? PROXMOX_ENV_NAMES : DOCKER_ENV_NAMES;
    return `${how} --allow-env=${names.join(",")}`;
  }
  if (libraryFix !== undefined && /--allow-/.test(libraryFix)) {
    return libraryFix.replace(/^run with/, how);
  }
  const socket = kind === "net" && target.startsWith("unix:")
    ? target.slice("unix:".length)
    : (kind === "read" || kind === "write") &&
        (target.endsWith(".sock") || chainText(error).includes(`unix://${target}`))
    ? target
    : undefined;
  if (socket !== undefined) {
    return `${how} --allow-read=${socket} --allow-write=${socket} --allow-net=unix:${socket}`;
  }
  return `${how} --allow-${kind}=${target}`;
}

function notFoundFix(runtime: RuntimeName | undefined): string | undefined {
  if (runtime === "docker") {
    return "check the name or id with `docker ps -a` (or `podman ps -a`) against the same engine";
  }
  if (runtime === "proxmox") {
    return "check the node name and vmid (`pct list` on the node, or the cluster's resource view)";
  }
  return undefined;
}

/** Where to point the CLI at another Docker engine, given where this one came from. */
function dockerPlace(source: DockerSource | undefined): string {
  switch (source) {
    case "--socket":
      return "check the --socket path";
    case "--host":
      return "check --host";
    case "DOCKER_HOST":
      return "point DOCKER_HOST (or --socket) at its socket";
    case "DOCKER_CONTEXT":
      return "check the docker context's endpoint (`docker context inspect`), or pass --socket";
    default:
      return "point --socket, --host or DOCKER_HOST at its socket";
  }
}

function connectionFix(error: ConnectionError, context: ExplainContext): string | undefined {
  const { runtime, dockerSource } = context;
  if (runtime === "proxmox") {
    if (findCause(error, Deno.errors.ConnectionRefused) !== undefined) {
      return "check --url or PROXMOX_URL: PVE's API listens on port 8006";
    }
    if (/certificate|UnknownIssuer|handshake/i.test(chainText(error))) {
      return "pass the cluster's CA (/etc/pve/pve-root-ca.pem on any node) with --ca-file " +
        "or PROXMOX_CA_FILE";
    }
    return undefined;
  }
  if (findCause(error, Deno.errors.PermissionDenied) !== undefined) {
    return "join the `docker` group, run as root, or go through a socket proxy";
  }
  if (
    findCause(error, Deno.errors.NotFound) !== undefined ||
    findCause(error, Deno.errors.ConnectionRefused) !== undefined
  ) {
    return `start the engine, or ${dockerPlace(dockerSource)}`;
  }
  if (/speaks TLS/.test(error.reason)) {
    return "set DOCKER_TLS_VERIFY=1 (with ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH), " +
      "or pass --tls-ca (and --tls-cert and --tls-key)";
  }
  if (/certificate|UnknownIssuer|handshake|TLS failed/i.test(chainText(error))) {
    return "pass the engine's CA with --tls-ca (and --tls-cert and --tls-key when it checks " +
      "clients), or check ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH";
  }
  return undefined;
}

function apiFix(error: ApiError, runtime: RuntimeName | undefined): string | undefined {
  if (runtime !== "proxmox") return undefined;
  if (error.status === 401) {
    return "check --token-id and PROXMOX_SECRET (the token may be expired, revoked or mistyped), " +
      "or --username, PROXMOX_PASSWORD and --realm";
  }
  if (error.status === 403) {
    return "give the token or user VM.PowerMgmt and VM.Audit on /vms/<vmid> " +
      "(a privilege-separated token needs its own ACL entry)";
  }
  return undefined;
}
