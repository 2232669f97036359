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
 * Explains `error` for a user of the CLI.
 *
 * @param error Whatever was thrown.
 * @param runtime The runtime the command talked to, when known.
 * @returns The exit code, the message and the fix.
 */
export function explain(error: unknown, runtime: RuntimeName | undefined): Explained {
  const kind = error instanceof Error ? error.name : typeof error;
  const message = oneLine(error instanceof Error ? error.message : String(error));
  const denied = findCause(error, Deno.errors.NotCapable);
  if (denied !== undefined) {
    const fix = permissionFix(denied, error);
    // The library's own message may name the flags already.
    const named = fix.match(/--allow-\S+/g)?.every((flag) => message.includes(flag)) ?? false;
    return { code: ExitCode.CannotConnect, kind, message, fix: named ? undefined : fix };
  }
  if (error instanceof UsageError || error instanceof InvalidArgumentError) {
    return { code: ExitCode.Usage, kind, message, fix: undefined };
  }
  if (error instanceof NotFoundError) {
    return { code: ExitCode.NotFound, kind, message, fix: notFoundFix(runtime) };
  }
  if (error instanceof TimeoutError) {
    return { code: ExitCode.Timeout, kind, message, fix: undefined };
  }
  if (error instanceof ConnectionError) {
    return { code: ExitCode.CannotConnect, kind, message, fix: connectionFix(error, runtime) };
  }
  if (error instanceof ApiError) {
    return { code: ExitCode.Failed, kind, message, fix: apiFix(error, runtime) };
  }
  if (error instanceof ProviderError) {
    return { code: ExitCode.Failed, kind, message, fix: undefined };
  }
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound) {
    // A file the CLI itself was asked to read.
    return { code: ExitCode.Usage, kind, message, fix: undefined };
  }
  return { code: ExitCode.Failed, kind, message, fix: undefined };
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
 * The exact `--allow-*` flags a `NotCapable` error asks for. A unix socket
 * needs three: read and write on its path, and net on `unix:<path>`.
 */
function permissionFix(denied: Error, error: unknown): string {
  const match = /Requires (\w+) access to "([^"]*)"/.exec(denied.message);
  if (match === null) return "grant the permission named above";
  const [, kind, target] = match;
  const socket = kind === "net" && target.startsWith("unix:")
    ? target.slice("unix:".length)
    : (kind === "read" || kind === "write") &&
        (target.endsWith(".sock") || chainText(error).includes(`unix://${target}`))
    ? target
    : undefined;
  const how = Deno.build.standalone ? "compile with" : "run with";
  if (kind === "env" && target.startsWith("PROXMOX_")) {
    // The CLI reads each variable its flags leave open: grant them all at once.
    return `${how} --allow-env=${PROXMOX_ENV_NAMES.join(",")}`;
  }
  if (socket !== undefined) {
    return `${how} --allow-read=${socket} --allow-write=${socket} --allow-net=unix:${socket} ` +
      "(a unix socket needs all three)";
  }
  return `${how} --allow-${kind}=${target}`;
}

function notFoundFix(runtime: RuntimeName | undefined): string | undefined {
  if (runtime === "docker") {
    return "check the name or id with `docker ps -a` against the same engine";
  }
  if (runtime === "proxmox") {
    return "check the node name and vmid (`pct list` on the node, or the cluster's resource view)";
  }
  return undefined;
}

function connectionFix(error: ConnectionError, runtime: RuntimeName | undefined): string {
  const place = runtime === "proxmox" ? "--url or PROXMOX_URL" : "--socket, --host or DOCKER_HOST";
  if (findCause(error, Deno.errors.PermissionDenied) !== undefined) {
    return runtime === "docker"
      ? "join the `docker` group, run as root, or go through a socket proxy"
      : "check the file's owner and mode";
  }
  if (findCause(error, Deno.errors.NotFound) !== undefined) {
    return `start the engine, or point ${place} at its socket`;
  }
  if (findCause(error, Deno.errors.ConnectionRefused) !== undefined) {
    return runtime === "proxmox"
      ? `check ${place}: PVE's API listens on port 8006`
      : `start the engine, or point ${place} at where it listens`;
  }
  if (/certificate|UnknownIssuer|tls|handshake/i.test(chainText(error))) {
    return runtime === "proxmox"
      ? "pass the CA that signed the node's certificate with --ca-file (or PROXMOX_CA_FILE)"
      : "pass the engine's CA with --tls-ca (and --tls-cert/--tls-key when it checks clients)";
  }
  return `check ${place}`;
}

function apiFix(error: ApiError, runtime: RuntimeName | undefined): string | undefined {
  if (runtime !== "proxmox") return undefined;
  if (error.status === 401) {
    return "check --token-id and PROXMOX_SECRET (the token may be expired, revoked or mistyped), " +
      "or --username/PROXMOX_PASSWORD/--realm";
  }
  if (error.status === 403) {
    return "give the token or user VM.PowerMgmt and VM.Audit on /vms/<vmid> " +
      "(a privilege-separated token needs its own ACL entry)";
  }
  return undefined;
}
