/**
 * Checks a {@linkcode ProxmoxConfig} once, before any request, and turns it
 * into what the transport needs. Never echoes a secret in an error.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { checkMaxConnections } from "../_internal/validate.ts";
import { defaultLogger, type Logger } from "../log.ts";

/**
 * How to reach and authenticate to a Proxmox VE cluster. Give an API token
 * (`tokenId` and `secret`) or a user's `username` and `password`.
 *
 * TLS is always verified. PVE's certificate is signed by the cluster's own CA
 * (`/etc/pve/pve-root-ca.pem` on any node): give it with `caFile` or
 * `caCerts`. There is no switch to skip verification; the process-wide Deno
 * flag `--unsafely-ignore-certificate-errors=<host>` does that for those who
 * accept the risk, and this module never sets it.
 */
export interface ProxmoxConfig {
  /** The API's address, such as `https://pve.example:8006`; the `/api2/json` suffix is optional. */
  url: string;
  /** An API token's id, `"<user>@<realm>!<token name>"`.
   * @default {undefined} */
  tokenId?: string;
  /** The API token's secret.
   * @default {undefined} */
  secret?: string;
  /** A user, for ticket authentication: `"root"` (with `realm`) or `"root@pam"`.
   * @default {undefined} */
  username?: string;
  /** The user's password.
   * @default {undefined} */
  password?: string;
  /** The realm of `username`, when `username` names none.
   * @default {"pam"} */
  realm?: string;
  /** The path of the cluster's CA certificate (`pve-root-ca.pem`), read on first use.
   * @default {undefined} */
  caFile?: string;
  /** PEM certificates of the cluster's CA.
   * @default {[]} */
  caCerts?: string[];
  /** Per request, in seconds.
   * @default {30} */
  timeout?: number;
  /** Between two status polls of a node for watches, in seconds; at least 0.1.
   * @default {1} */
  watchInterval?: number;
  /**
   * The most connections open to the cluster at once; more calls wait their
   * turn, each within its own deadline and signal.
   * @default {32}
   */
  maxConnections?: number;
  /** Where API calls and failures are logged, as {@linkcode Logger} says. Never receives credentials.
   * @default {defaultLogger} */
  logger?: Logger;
}

/** How the client proves who it is. */
export type Credentials =
  | { kind: "token"; tokenId: string; secret: string }
  | { kind: "ticket"; userid: string; password: string };

/** A checked configuration. */
export interface ResolvedConfig {
  /** `https://host:port`, for messages. */
  origin: string;
  hostname: string;
  port: number;
  /** The API root path, such as `/api2/json`, without a trailing slash. */
  basePath: string;
  credentials: Credentials;
  caFile: string | undefined;
  caCerts: string[];
  /** Per request, in milliseconds. */
  timeoutMs: number;
  /** Between two status polls of a node, in milliseconds. */
  watchIntervalMs: number;
  /** The most connections open to the cluster at once. */
  maxConnections: number | undefined;
  logger: Logger;
}

const API_SUFFIX = "/api2/json";
const USERID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]*$/;
const TOKENID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]*![A-Za-z][A-Za-z0-9.\-_]*$/;
const REALM = /^[A-Za-z][A-Za-z0-9.\-_]*$/;
// Printable, no spaces: what fits in a header without quoting.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

function fail(message: string): never {
  throw new InvalidArgumentError(message, { runtime: "proxmox" });
}

/** The shortest `watchInterval`, in seconds: PVE's own status refresh is far slower. */
export const MIN_WATCH_INTERVAL = 0.1;

function positiveSeconds(
  value: number | undefined,
  name: string,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value < min) {
    fail(
      `Invalid Proxmox ${name}: ${String(value)}: expected a positive number of seconds` +
        (min > 0 ? `, at least ${min}` : ""),
    );
  }
  return value * 1000;
}

function parseUrl(url: unknown): URL {
  if (typeof url !== "string" || url === "") {
    fail('Invalid Proxmox url: expected "https://<host>:8006"');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(`Invalid Proxmox url ${JSON.stringify(url)}: expected "https://<host>:8006"`);
  }
  if (parsed.protocol !== "https:") {
    fail(
      `Invalid Proxmox url ${JSON.stringify(url)}: PVE serves its API over https only ` +
        `(TLS is always verified; give the cluster CA with caFile or caCerts)`,
    );
  }
  if (parsed.username || parsed.password) {
    fail("Invalid Proxmox url: put credentials in tokenId/secret or username/password");
  }
  if (parsed.search || parsed.hash) {
    fail(`Invalid Proxmox url ${JSON.stringify(url)}: a query or fragment is not allowed`);
  }
  return parsed;
}

function resolveCredentials(config: ProxmoxConfig): Credentials {
  const hasToken = config.tokenId !== undefined || config.secret !== undefined;
  const hasUser = config.username !== undefined || config.password !== undefined;
  if (hasToken && hasUser) {
    fail("Invalid Proxmox config: give either tokenId and secret, or username and password");
  }
  if (hasToken) {
    const { tokenId, secret } = config;
    if (typeof tokenId !== "string" || !TOKENID.test(tokenId)) {
      fail(
        `Invalid Proxmox tokenId ${
          JSON.stringify(tokenId ?? "")
        }: expected "<user>@<realm>!<token name>"`,
      );
    }
    if (secret === undefined || secret === "") {
      fail(`Missing Proxmox secret for token ${tokenId}: give the token's secret (a UUID)`);
    }
    if (typeof secret !== "string" || !HEADER_SAFE.test(secret)) {
      fail(`Invalid Proxmox secret for token ${tokenId}: expected the token's secret (a UUID)`);
    }
    return { kind: "token", tokenId, secret };
  }
  if (hasUser) {
    const { username, password, realm } = config;
    if (typeof username !== "string" || username === "" || /[\s:/!]/.test(username)) {
      fail(`Invalid Proxmox username ${JSON.stringify(username ?? "")}`);
    }
    if (password === undefined || password === "") {
      fail(`Missing Proxmox password for ${username}`);
    }
    if (typeof password !== "string") {
      fail(`Invalid Proxmox password for ${username}: expected a non-empty string`);
    }
    if (realm !== undefined && (typeof realm !== "string" || !REALM.test(realm))) {
      fail(`Invalid Proxmox realm ${JSON.stringify(realm)}`);
    }
    if (username.includes("@") && realm !== undefined) {
      fail(`Invalid Proxmox config: username ${username} already names a realm; drop realm`);
    }
    const userid = username.includes("@") ? username : `${username}@${realm ?? "pam"}`;
    if (!USERID.test(userid)) fail(`Invalid Proxmox username ${JSON.stringify(username)}`);
    return { kind: "ticket", userid, password };
  }
  fail("Invalid Proxmox config: give tokenId and secret (an API token), or username and password");
}

/**
 * Checks a configuration.
 *
 * @throws {InvalidArgumentError} When a field is missing or malformed.
 */
export function resolveConfig(config: ProxmoxConfig): ResolvedConfig {
  if (typeof config !== "object" || config === null) {
    fail("Invalid Proxmox config: expected an object");
  }
  const url = parseUrl(config.url);
  const credentials = resolveCredentials(config);
  if (config.caFile !== undefined && (typeof config.caFile !== "string" || !config.caFile)) {
    fail("Invalid Proxmox caFile: expected the path of the cluster's pve-root-ca.pem");
  }
  if (
    config.caCerts !== undefined &&
    (!Array.isArray(config.caCerts) || !config.caCerts.every((c) => typeof c === "string"))
  ) {
    fail("Invalid Proxmox caCerts: expected an array of PEM strings");
  }
  let path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith(API_SUFFIX)) path += API_SUFFIX;
  return {
    origin: url.origin,
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : 443,
    basePath: path,
    credentials,
    caFile: config.caFile,
    caCerts: config.caCerts ?? [],
    timeoutMs: positiveSeconds(config.timeout, "timeout", 30),
    watchIntervalMs: positiveSeconds(
      config.watchInterval,
      "watchInterval",
      1,
      MIN_WATCH_INTERVAL,
    ),
    maxConnections: checkMaxConnections(config.maxConnections, "proxmox"),
    logger: config.logger ?? defaultLogger,
  };
}

/**
 * The environment variables that `ProxmoxClient.fromEnv()` (and the CLI)
 * read for a cluster's settings: the names to give `--allow-env`. Each one
 * stands for the {@linkcode ProxmoxConfig} field of the same name
 * (`PROXMOX_TOKEN_ID` is `tokenId`, `PROXMOX_CA_FILE` is `caFile`).
 *
 * @example Ask for the permission to read them all
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { PROXMOX_ENV_NAMES } from "@idlewatcher/provider/proxmox";
 *
 * const flag = `--allow-env=${PROXMOX_ENV_NAMES.join(",")}`;
 * ok(flag.includes("PROXMOX_URL") && flag.includes("PROXMOX_TOKEN_ID"));
 * ```
 */
export const PROXMOX_ENV_NAMES: readonly string[] = Object.freeze([
  "PROXMOX_URL",
  "PROXMOX_TOKEN_ID",
  "PROXMOX_SECRET",
  "PROXMOX_USERNAME",
  "PROXMOX_PASSWORD",
  "PROXMOX_REALM",
  "PROXMOX_CA_FILE",
]);

/**
 * Builds a configuration from `PROXMOX_*` variables, read through `get`
 * (`Deno.env.get` in production). Unset or empty variables are left out.
 *
 * @throws {InvalidArgumentError} When the variables cannot be read.
 */
export function configFromEnv(get: (name: string) => string | undefined): ProxmoxConfig {
  const env: Record<string, string | undefined> = {};
  try {
    for (const name of PROXMOX_ENV_NAMES) env[name] = get(name) || undefined;
  } catch (error) {
    throw new InvalidArgumentError(
      `Cannot read the Proxmox settings from the environment: run with --allow-env=${
        PROXMOX_ENV_NAMES.join(",")
      }`,
      { runtime: "proxmox", cause: error },
    );
  }
  if (!env.PROXMOX_URL) fail("Cannot configure Proxmox from the environment: PROXMOX_URL is unset");
  return {
    url: env.PROXMOX_URL,
    tokenId: env.PROXMOX_TOKEN_ID,
    secret: env.PROXMOX_SECRET,
    username: env.PROXMOX_USERNAME,
    password: env.PROXMOX_PASSWORD,
    realm: env.PROXMOX_REALM,
    caFile: env.PROXMOX_CA_FILE,
  };
}
