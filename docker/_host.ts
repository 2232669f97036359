/**
 * Where a Docker provider connects: the configuration and the docker CLI's
 * environment conventions (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
 * `DOCKER_CERT_PATH`) resolved into a {@linkcode DockerHost}, then into the
 * {@linkcode DialTarget} an HTTP client dials.
 *
 * Resolution is pure: the environment and the file reader are passed in.
 * {@linkcode denoEnv} and {@linkcode denoReadTextFile} are the real ones, and
 * turn missing permissions into messages that name the flag to add.
 *
 * @module
 */

import type { DialTarget } from "../_internal/http/dial.ts";
import { readFailure } from "../_internal/read_failure.ts";
import { InvalidArgumentError } from "../errors.ts";
import { currentContextEndpoint } from "./_context.ts";

/** TLS files for a TCP host, as paths. */
export interface DockerTlsFiles {
  /** PEM file of the authority that signed the daemon's certificate; the system's roots when absent. */
  caFile?: string;
  /** PEM client certificate, for a daemon started with `--tlsverify`. */
  certFile?: string;
  /** PEM private key of `certFile`. */
  keyFile?: string;
}

/** The connection settings of a provider's configuration. */
export interface DockerHostConfig {
  /** `unix:///path`, `tcp://host:port`, `http://host:port` or `https://host:port`. */
  url?: string;
  /** Shorthand for `unix://<socketPath>`. */
  socketPath?: string;
  /** TLS files for `tcp://` and `https://` hosts. */
  tls?: DockerTlsFiles;
}

/** Reads one environment variable; `undefined` when it is not set. */
export type EnvReader = (name: string) => string | undefined;

/** Reads a whole text file. */
export type TextFileReader = (path: string) => string;

/**
 * A resolved Docker host: how to reach the daemon, before any file is read.
 * Two providers whose hosts are equal share one client.
 */
export type DockerHost =
  | {
    transport: "unix";
    /** The socket's path. */
    path: string;
    /** The host as a URL, for messages. */
    url: string;
    /** A path prefix for every request (`""` for none). */
    basePath: string;
  }
  | {
    transport: "tcp" | "tls";
    hostname: string;
    port: number;
    /** The host as a URL, for messages. */
    url: string;
    /** A path prefix for every request (`""` for none), from a URL such as `https://proxy/docker`. */
    basePath: string;
    /** TLS files (`transport: "tls"` only); none means the system's roots and no client certificate. */
    tls?: DockerTlsFiles;
  };

/** Options of {@linkcode resolveDockerHost}. */
export interface ResolveOptions {
  /**
   * Reads the docker CLI's `config.json` and context store. Without it, the
   * current docker context is not looked up.
   *
   * @default {undefined}
   */
  readTextFile?: TextFileReader;
}

/** The daemon's socket when neither the configuration nor `DOCKER_HOST` names one. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

const SCHEMES = "unix://, tcp://, http:// or https://";

/**
 * Resolves the configuration, then the environment, into a host, the way the
 * docker CLI does: `config.url` or `config.socketPath`, else `DOCKER_HOST`,
 * else the endpoint of the current docker context (`DOCKER_CONTEXT`, else
 * `currentContext` in `config.json`; only with `options.readTextFile`), else
 * `unix:///var/run/docker.sock`. A `tcp://` host uses TLS when
 * `config.tls` is given or `DOCKER_TLS_VERIFY` is set (to anything), with
 * `ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH` (default
 * `~/.docker`) when `config.tls` is not given. The environment is read only
 * for what the configuration leaves open.
 *
 * @param config The connection settings.
 * @param env Reads an environment variable.
 * @param options Reads the docker CLI's files, for its contexts.
 * @returns The host to connect to.
 * @throws {InvalidArgumentError} For a bad URL, an unsupported scheme, TLS
 * settings that do not fit the host, or a docker context that cannot be used.
 */
export function resolveDockerHost(
  config: DockerHostConfig,
  env: EnvReader,
  options?: ResolveOptions,
): DockerHost {
  checkConfigTypes(config);
  if (config.url !== undefined && config.socketPath !== undefined) {
    throw new InvalidArgumentError(
      "Invalid Docker configuration: set either url or socketPath, not both",
    );
  }
  if (config.socketPath !== undefined) {
    return unixHost(`unix://${config.socketPath}`, config.socketPath, "config.socketPath", config);
  }
  let url = config.url;
  let source = "config.url";
  if (url === undefined) {
    url = nonEmpty(env("DOCKER_HOST"));
    source = "DOCKER_HOST";
  }
  let settings = config;
  if (url === undefined && options?.readTextFile !== undefined) {
    const context = currentContextEndpoint(env, options.readTextFile);
    if (context !== undefined) {
      url = context.host;
      source = `docker context "${context.name}" from ${context.from}`;
      if (context.tls !== undefined) settings = { ...config, tls: context.tls };
    }
  }
  if (url === undefined) {
    url = DEFAULT_DOCKER_HOST;
    source = "the default";
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw invalidHost(url, source, `it has no scheme; use ${SCHEMES}`);
  }
  if (scheme === "unix") return unixHost(url, url.slice("unix://".length), source, config);
  if (scheme === "tcp" || scheme === "http" || scheme === "https") {
    return networkHost(url, scheme, source, settings, env);
  }
  throw invalidHost(url, source, `unsupported scheme "${scheme}://"; use ${SCHEMES}`);
}

/**
 * Turns a host into what to dial, reading its TLS files.
 *
 * @param host The resolved host.
 * @param readTextFile Reads a PEM file.
 * @returns The dial target, with the PEM contents for TLS.
 * @throws What `readTextFile` throws.
 */
export function loadDialTarget(host: DockerHost, readTextFile: TextFileReader): DialTarget {
  if (host.transport === "unix") return { transport: "unix", path: host.path };
  if (host.transport === "tcp") {
    return { transport: "tcp", hostname: host.hostname, port: host.port };
  }
  const { caFile, certFile, keyFile } = host.tls ?? {};
  // Every file is tried, so that one error names every missing permission.
  const denied: string[] = [];
  let firstDenial: unknown;
  const read = (path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readTextFile(path);
    } catch (error) {
      if (!(error instanceof Error && error.cause instanceof Deno.errors.NotCapable)) throw error;
      denied.push(path);
      firstDenial ??= error.cause;
      return undefined;
    }
  };
  const target: DialTarget = {
    transport: "tls",
    hostname: host.hostname,
    port: host.port,
    caCerts: caFile === undefined ? undefined : [read(caFile) as string],
    cert: read(certFile),
    key: read(keyFile),
  };
  if (denied.length > 0) {
    throw new InvalidArgumentError(
      `Cannot read the TLS ${denied.length === 1 ? "file" : "files"} ${
        denied.join(", ")
      }: missing permission`,
      { cause: firstDenial, fix: `run with --allow-read=${denied.join(",")}` },
    );
  }
  return target;
}

/**
 * Reads an environment variable with `Deno.env`, naming the missing
 * `--allow-env` flag when access is denied.
 *
 * @param name The variable.
 * @returns Its value, or `undefined` when unset.
 * @throws {InvalidArgumentError} When the program may not read it.
 */
export function denoEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new InvalidArgumentError(
        `Cannot read the environment variable ${name}: missing permission`,
        {
          cause: error,
          fix: `run with --allow-env=${name}, or set url (and tls) in the Docker provider's ` +
            "configuration",
        },
      );
    }
    throw error;
  }
}

/**
 * Reads a TLS file with `Deno.readTextFileSync`, naming the missing
 * `--allow-read` flag when access is denied. Messages name the file, never
 * its content.
 *
 * @param path The file.
 * @returns Its content.
 * @throws {InvalidArgumentError} When the file is missing or unreadable.
 */
export function denoReadTextFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const { reason, fix } = readFailure(error, path);
    throw new InvalidArgumentError(`Cannot read the TLS file ${path}: ${reason}`, {
      cause: error,
      fix,
    });
  }
}

function checkConfigTypes(config: DockerHostConfig): void {
  if (typeof config !== "object" || config === null) {
    throw new InvalidArgumentError("Invalid Docker configuration: expected an object");
  }
  for (const key of ["url", "socketPath"] as const) {
    const value = config[key];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new InvalidArgumentError(
        `Invalid Docker configuration: ${key} must be a non-empty string`,
      );
    }
  }
  if (config.tls === undefined) return;
  if (typeof config.tls !== "object" || config.tls === null) {
    throw new InvalidArgumentError("Invalid Docker configuration: tls must be an object");
  }
  for (const key of ["caFile", "certFile", "keyFile"] as const) {
    const value = config.tls[key];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new InvalidArgumentError(
        `Invalid Docker configuration: tls.${key} must be a non-empty string`,
      );
    }
  }
  if ((config.tls.certFile === undefined) !== (config.tls.keyFile === undefined)) {
    throw new InvalidArgumentError(
      "Invalid Docker configuration: tls.certFile and tls.keyFile go together",
    );
  }
}

function unixHost(
  url: string,
  path: string,
  source: string,
  config: DockerHostConfig,
): DockerHost {
  if (path === "") throw invalidHost(url, source, "the socket path is empty");
  if (config.tls !== undefined) {
    throw invalidHost(url, source, "TLS settings do not apply to a unix socket");
  }
  return { transport: "unix", path, url, basePath: "" };
}

function networkHost(
  raw: string,
  scheme: "tcp" | "http" | "https",
  source: string,
  config: DockerHostConfig,
  env: EnvReader,
): DockerHost {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw invalidHost(raw, source, "it is not a valid URL");
  }
  if (parsed.hostname === "") throw invalidHost(raw, source, "it has no host name");
  if (parsed.username !== "" || parsed.password !== "") {
    throw invalidHost(raw, source, "credentials in the URL are not supported");
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw invalidHost(raw, source, "it must not have a query or a fragment");
  }
  if (scheme === "http" && config.tls !== undefined) {
    throw invalidHost(raw, source, "http:// is plain text; use https:// or tcp:// with TLS");
  }
  const tls = scheme === "https" || (scheme === "tcp" && config.tls !== undefined) ||
    (scheme === "tcp" && nonEmpty(env("DOCKER_TLS_VERIFY")) !== undefined);
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port !== ""
    ? Number(parsed.port)
    : scheme === "http"
    ? 80
    : scheme === "https"
    ? 443
    : tls
    ? 2376
    : 2375;
  const basePath = parsed.pathname.replace(/\/+$/, "");
  const url = `${scheme}://${parsed.host}${parsed.port === "" ? `:${port}` : ""}${basePath}`;
  if (!tls) return { transport: "tcp", hostname, port, url, basePath };
  const files = config.tls ?? envTlsFiles(scheme, env);
  return { transport: "tls", hostname, port, url, basePath, tls: files };
}

/** The docker CLI's TLS files: `DOCKER_CERT_PATH` (default `~/.docker`), when `DOCKER_TLS_VERIFY` is set. */
function envTlsFiles(scheme: "tcp" | "https", env: EnvReader): DockerTlsFiles {
  if (scheme === "https" && nonEmpty(env("DOCKER_TLS_VERIFY")) === undefined) return {};
  let dir = nonEmpty(env("DOCKER_CERT_PATH"));
  if (dir === undefined) {
    const home = nonEmpty(env("HOME"));
    if (home === undefined) {
      throw new InvalidArgumentError(
        "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is: " +
          "set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem",
      );
    }
    dir = `${home}/.docker`;
  }
  dir = dir.replace(/\/+$/, "");
  return { caFile: `${dir}/ca.pem`, certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Drops the user-info part of a URL, so that messages never echo a password. */
function redact(url: string): string {
  return url.replace(/^([^:/]*:\/\/)[^/@]*@/, "$1");
}

function invalidHost(url: string, source: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Invalid Docker host "${redact(url)}" (from ${source}): ${reason}`,
  );
}
