/**
 * The docker CLI's contexts: when `DOCKER_HOST` is unset, the host is the
 * endpoint of the context named by `DOCKER_CONTEXT`, else by `currentContext`
 * in `config.json`, both in the docker CLI's folder (`DOCKER_CONFIG`, default
 * `~/.docker`). A context's metadata is in
 * `contexts/meta/<sha256 of its name>/meta.json`, its TLS files in
 * `contexts/tls/<sha256 of its name>/docker/`. The context `default` means
 * the default host.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../errors.ts";

/** Reads one environment variable; `undefined` when it is not set. */
type EnvReader = (name: string) => string | undefined;

/** Reads a whole text file. */
type TextFileReader = (path: string) => string;

/** The docker endpoint of a context. */
export interface ContextEndpoint {
  /** The context's name. */
  name: string;
  /** Where its name came from: `"DOCKER_CONTEXT"` or the path of `config.json`. */
  from: string;
  /** Its endpoint, such as `unix:///run/user/1000/docker.sock` or `tcp://h:2376`. */
  host: string;
  /** Its TLS files, when the context store holds a CA for it. */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
}

/**
 * Finds the endpoint of the current docker context. The variables and
 * `config.json` are read when allowed: without the permission (or without the
 * file), there is no current context, as for a user who never made one. Once a
 * context other than `default` is named, its metadata must be readable.
 *
 * @param env Reads an environment variable.
 * @param readTextFile Reads a file.
 * @returns The endpoint, or `undefined` for the default host.
 * @throws {InvalidArgumentError} For a broken `config.json`, or a named
 * context that does not exist, cannot be read or has no docker endpoint.
 */
export function currentContextEndpoint(
  env: EnvReader,
  readTextFile: TextFileReader,
): ContextEndpoint | undefined {
  let name = optional(() => env("DOCKER_CONTEXT"));
  let from = "DOCKER_CONTEXT";
  const dir = configDir(env);
  if (name === undefined) {
    if (dir === undefined) return undefined;
    from = `${dir}/config.json`;
    const text = optional(() => readTextFile(from));
    if (text === undefined) return undefined;
    name = parseConfig(text, from);
  }
  if (name === undefined || name === "default") return undefined;
  if (dir === undefined) {
    throw new InvalidArgumentError(
      `Cannot find docker context "${name}" (from ${from}): neither DOCKER_CONFIG nor HOME is set`,
      { fix: "set DOCKER_CONFIG to the docker CLI's folder (such as ~/.docker)" },
    );
  }
  const digest = createHash("sha256").update(name).digest("hex");
  const metaFile = `${dir}/contexts/meta/${digest}/meta.json`;
  let meta: string;
  try {
    meta = readTextFile(metaFile);
  } catch (error) {
    const missing = isMissing(error);
    throw new InvalidArgumentError(
      `Cannot use docker context "${name}" (from ${from}): ${
        missing ? "it does not exist" : `cannot read ${metaFile}`
      }`,
      {
        cause: error instanceof Error && error.cause !== undefined ? error.cause : error,
        fix: missing
          ? "list the contexts with `docker context ls`, or unset DOCKER_CONTEXT"
          : `run with --allow-read=${dir}/contexts`,
      },
    );
  }
  const host = endpointHost(meta, name, metaFile);
  const endpoint: ContextEndpoint = { name, from, host };
  if (/^tcp:\/\//i.test(host)) {
    const tlsDir = `${dir}/contexts/tls/${digest}/docker`;
    const has = (file: string) => optional(() => readTextFile(`${tlsDir}/${file}`)) !== undefined;
    if (has("ca.pem")) {
      endpoint.tls = { caFile: `${tlsDir}/ca.pem` };
      if (has("cert.pem") && has("key.pem")) {
        endpoint.tls.certFile = `${tlsDir}/cert.pem`;
        endpoint.tls.keyFile = `${tlsDir}/key.pem`;
      }
    }
  }
  return endpoint;
}

/** `DOCKER_CONFIG`, else `~/.docker`; `undefined` when neither can be read. */
function configDir(env: EnvReader): string | undefined {
  const dir = optional(() => env("DOCKER_CONFIG"));
  if (dir !== undefined) return dir.replace(/\/+$/, "");
  const home = optional(() => env("HOME"));
  return home === undefined ? undefined : `${home.replace(/\/+$/, "")}/.docker`;
}

function parseConfig(text: string, file: string): string | undefined {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`Cannot read the docker CLI's ${file}: it is not JSON`, {
      cause: error,
    });
  }
  const name = (config as { currentContext?: unknown } | null)?.currentContext;
  return typeof name === "string" && name !== "" ? name : undefined;
}

function endpointHost(text: string, name: string, file: string): string {
  let host: unknown;
  let skipVerify: unknown;
  try {
    const docker = (JSON.parse(text) as {
      Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } };
    } | null)?.Endpoints?.docker;
    host = docker?.Host;
    skipVerify = docker?.SkipTLSVerify;
  } catch (error) {
    throw new InvalidArgumentError(`Cannot use docker context "${name}": ${file} is not JSON`, {
      cause: error,
    });
  }
  if (typeof host !== "string" || host === "") {
    throw new InvalidArgumentError(
      `Cannot use docker context "${name}": it has no docker endpoint (${file})`,
    );
  }
  if (skipVerify === true) {
    throw new InvalidArgumentError(
      `Cannot use docker context "${name}": it skips TLS verification, which this client never does`,
      { fix: "give the context the daemon's CA (`docker context update --docker ca=...`)" },
    );
  }
  return host;
}

/** Runs `read`; a value that is unset, empty, missing or not permitted is `undefined`. */
function optional(read: () => string | undefined): string | undefined {
  try {
    const value = read();
    return value === undefined || value === "" ? undefined : value;
  } catch (error) {
    if (isMissing(error) || isDenied(error)) return undefined;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    (error instanceof Error && error.cause instanceof Deno.errors.NotFound);
}

function isDenied(error: unknown): boolean {
  const denied = (value: unknown) =>
    value instanceof Deno.errors.NotCapable || value instanceof Deno.errors.PermissionDenied;
  return denied(error) || (error instanceof Error && denied(error.cause));
}
