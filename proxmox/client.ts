/**
 * {@linkcode ProxmoxClient}: one connection pool, one login and one status
 * poller for a Proxmox VE cluster, shared by all the providers of its CTs.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { configFromEnv, type ProxmoxConfig, resolveConfig } from "./_config.ts";
import { StatusPoller } from "./_poller.ts";
import { type ParamValue, Transport } from "./_transport.ts";

export type { ProxmoxConfig } from "./_config.ts";

/** An HTTP method of {@linkcode ProxmoxClient.request}. */
export type ProxmoxMethod = "GET" | "POST" | "PUT" | "DELETE";

/** Options of {@linkcode ProxmoxClient.request}. */
export interface ProxmoxRequestOptions {
  /** The parameters: the query of a GET or DELETE, the form body of a POST or PUT. Booleans are sent as `1`/`0`.
   * @default {{}} */
  params?: Record<string, string | number | boolean | undefined>;
  /** Aborts the request; it rejects with `signal.reason`.
   * @default {undefined} */
  signal?: AbortSignal;
}

/** What the providers of this module use inside a client. */
export interface ClientCore {
  transport: Transport;
  poller: StatusPoller;
}

let coreOfClient: (client: ProxmoxClient) => ClientCore;

/** A request path: `/`, then printable ASCII but `?` and `#` (no space, no control character). */
const PATH = /^\/[\x21\x22\x24-\x3e\x40-\x7e]*$/;

/**
 * A Proxmox VE cluster's API: one per cluster, shared by many providers.
 * Nothing is sent until the first request; with a user and password it then
 * logs in, and renews the ticket before its two hours end.
 *
 * `[Symbol.dispose]()` is `close()`.
 *
 * @example Share one client between two providers
 * ```ts ignore
 * import { newProxmoxProvider, ProxmoxClient } from "@idlewatcher/provider/proxmox";
 *
 * using client = new ProxmoxClient({
 *   url: "https://pve.example:8006",
 *   tokenId: "idle@pve!watcher",
 *   secret: Deno.env.get("PROXMOX_SECRET"),
 *   caFile: "/etc/idlewatcher/pve-root-ca.pem",
 * });
 * using web = await newProxmoxProvider("pve", 101, { client });
 * using db = await newProxmoxProvider("pve", 102, { client });
 * console.log(await web.containerStatus(), await db.containerStatus());
 * ```
 */
export class ProxmoxClient implements Disposable {
  /** The API root, such as `https://pve.example:8006/api2/json`. */
  readonly url: string;
  #transport: Transport;
  #poller: StatusPoller;

  static {
    coreOfClient = (client) => ({ transport: client.#transport, poller: client.#poller });
  }

  /**
   * Creates a client. Checks the configuration; sends nothing yet.
   *
   * @param config Where the cluster is and how to authenticate.
   * @throws {InvalidArgumentError} When the configuration is incomplete or malformed.
   */
  constructor(config: ProxmoxConfig) {
    const resolved = resolveConfig(config);
    this.url = resolved.origin + resolved.basePath;
    this.#transport = new Transport(resolved);
    this.#poller = new StatusPoller(this.#transport, resolved.watchIntervalMs);
  }

  /**
   * Creates a client from `PROXMOX_URL`, `PROXMOX_TOKEN_ID`, `PROXMOX_SECRET`,
   * `PROXMOX_USERNAME`, `PROXMOX_PASSWORD`, `PROXMOX_REALM` and
   * `PROXMOX_CA_FILE`.
   *
   * @returns The client.
   * @throws {InvalidArgumentError} When a variable is missing or malformed,
   * or the environment cannot be read (run with `--allow-env=PROXMOX_URL,...`).
   *
   * @example
   * ```ts ignore
   * import { ProxmoxClient } from "@idlewatcher/provider/proxmox";
   *
   * using client = ProxmoxClient.fromEnv();
   * console.log(client.url);
   * ```
   */
  static fromEnv(): ProxmoxClient {
    return new ProxmoxClient(configFromEnv((name) => Deno.env.get(name)));
  }

  /**
   * Sends any API request and resolves with the answer's `data`: the escape
   * hatch for endpoints this module does not wrap. GETs are retried on
   * 595/596/502/503 and on a stale connection; other methods are sent once.
   *
   * @typeParam T The type of `data`, as the caller knows it (not checked).
   * @param method The HTTP method.
   * @param path The path below `/api2/json`, starting with `/`, with each segment percent-encoded.
   * @param options The parameters and the abort signal.
   * @returns The answer's `data`.
   * @throws {InvalidArgumentError} When the method is not one of the four, or
   * the path is not `/` followed by printable ASCII without `?` or `#`.
   * @throws {ConnectionError} When PVE, or the node the path names (595/596), cannot be reached.
   * @throws {TimeoutError} When PVE does not answer within the configured timeout.
   * @throws {NotFoundError} When PVE says a guest's configuration file does not exist.
   * @throws {ApiError} When PVE refuses the request; carries its status and message.
   *
   * @example Read the PVE version
   * ```ts ignore
   * import { ProxmoxClient } from "@idlewatcher/provider/proxmox";
   *
   * using client = ProxmoxClient.fromEnv();
   * const { version } = await client.request<{ version: string }>("GET", "/version");
   * console.log(version);
   * ```
   */
  request<T = unknown>(
    method: ProxmoxMethod,
    path: string,
    options: ProxmoxRequestOptions = {},
  ): Promise<T> {
    if (!["GET", "POST", "PUT", "DELETE"].includes(method)) {
      return Promise.reject(
        new InvalidArgumentError(`Invalid method ${JSON.stringify(method)}`, {
          runtime: "proxmox",
        }),
      );
    }
    if (typeof path !== "string" || !PATH.test(path)) {
      return Promise.reject(
        new InvalidArgumentError(
          `Invalid path ${
            JSON.stringify(path)
          }: expected "/..." in printable ASCII (percent-encode the rest), ` +
            "without a query (use params) or a fragment",
          { runtime: "proxmox" },
        ),
      );
    }
    return this.#transport.request(method, path, {
      params: options.params as Record<string, ParamValue> | undefined,
      signal: options.signal,
    }) as Promise<T>;
  }

  /** Ends every watch, closes every connection; pending calls reject. Idempotent. */
  close(): void {
    this.#poller.close();
    this.#transport.close();
  }

  /** Closes the client, like {@linkcode ProxmoxClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The transport and poller of a client, for this module's providers. */
export function clientCore(client: ProxmoxClient): ClientCore {
  return coreOfClient(client);
}
