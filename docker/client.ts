/**
 * {@linkcode DockerClient}: one connection pool, one negotiated API version
 * and one event stream for a Docker daemon (or Podman's Docker-compatible
 * API), shared by all the providers of its containers.
 *
 * @module
 */

import { withDeadline } from "../_internal/deadline.ts";
import { errorOfKind, failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { InvalidArgumentError, ProviderError, TimeoutError } from "../errors.ts";
import { checkMaxConnections } from "../_internal/validate.ts";
import { defaultLogger, type Logger } from "../log.ts";
import {
  denoEnv,
  denoReadTextFile,
  type DockerHost,
  loadDialTarget,
  resolveDockerHost,
} from "./_host.ts";
import { responseError, Transport } from "./_transport.ts";
import { WatchHub } from "./_watch/hub.ts";

/**
 * TLS files for a `tcp://` or `https://` host, as PEM file paths. Without
 * `caFile` the system's roots verify the daemon; `certFile` and `keyFile`
 * go together.
 *
 * @example A daemon started with `--tlsverify`
 * ```ts
 * import type { DockerTlsConfig } from "@idlewatcher/provider/docker";
 *
 * const tls: DockerTlsConfig = {
 *   caFile: "/etc/docker-certs/ca.pem",
 *   certFile: "/etc/docker-certs/cert.pem",
 *   keyFile: "/etc/docker-certs/key.pem",
 * };
 * ```
 */
export interface DockerTlsConfig {
  /** The authority that signed the daemon's certificate.
   * @default {the system's root certificates} */
  caFile?: string;
  /** The client certificate.
   * @default {none} */
  certFile?: string;
  /** The client certificate's private key.
   * @default {none} */
  keyFile?: string;
}

/**
 * Where the Docker daemon is and how to log. Every field is optional: `{}`
 * behaves like the docker CLI.
 *
 * @example Three ways to name the daemon
 * ```ts
 * import type { DockerClientConfig } from "@idlewatcher/provider/docker";
 *
 * const local: DockerClientConfig = { socketPath: "/run/user/1000/podman/podman.sock" };
 * const proxy: DockerClientConfig = { url: "tcp://127.0.0.1:2375" };
 * const remote: DockerClientConfig = {
 *   url: "tcp://docker.example:2376",
 *   tls: { caFile: "ca.pem", certFile: "cert.pem", keyFile: "key.pem" },
 * };
 * ```
 */
export interface DockerClientConfig {
  /**
   * `unix:///path`, `tcp://host:port`, `http://host:port` or
   * `https://host:port` (a path after the port prefixes every request). A
   * `tcp://` host uses TLS when `tls` is given or `DOCKER_TLS_VERIFY` is set;
   * its port defaults to 2376 with TLS, 2375 without.
   * @default {DOCKER_HOST, else "unix:///var/run/docker.sock"}
   */
  url?: string;
  /** Shorthand for `url: "unix://<socketPath>"`; set one of the two.
   * @default {undefined} */
  socketPath?: string;
  /**
   * TLS files. Without them, a `tcp://` host with `DOCKER_TLS_VERIFY` set
   * uses `ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH`
   * (default `~/.docker`), like the docker CLI.
   * @default {undefined}
   */
  tls?: DockerTlsConfig;
  /**
   * The most connections open to the daemon at once; more calls wait their
   * turn, each within its own deadline and signal.
   * @default {32}
   */
  maxConnections?: number;
  /** Receives a DEBUG line per API call and an ERROR line per failed operation worth
   * reporting; {@linkcode Logger} says which. A provider's own logger takes its place
   * for the provider's calls.
   * @default {defaultLogger} */
  logger?: Logger;
}

/**
 * The largest answer {@linkcode DockerClient.request} reads: 64 MiB, room for
 * lists of thousands of containers; a longer one rejects with a
 * `ConnectionError` while it arrives.
 */
const MAX_REQUEST_ANSWER_SIZE = 64 * 1024 * 1024;

/** An HTTP method of {@linkcode DockerClient.request}. */
export type DockerMethod = "GET" | "HEAD" | "POST" | "PUT" | "DELETE";

/** Options of {@linkcode DockerClient.request}. */
export interface DockerRequestOptions {
  /** The query parameters; `undefined` values are left out, booleans are sent as `true`/`false`.
   * @default {{}} */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body, sent as `application/json`.
   * @default {undefined} */
  body?: unknown;
  /** Aborts the request; it rejects with `signal.reason`.
   * @default {undefined} */
  signal?: AbortSignal;
}

/** What the providers of this module use inside a client. */
export interface DockerClientCore {
  /** The Engine API. */
  transport: Transport;
  /** The client's one event stream, made on first use. */
  hub(): WatchHub;
  /** The client's logger. */
  logger: Logger;
}

/** The deadline of a {@linkcode DockerClient.request}, in milliseconds. */
export const REQUEST_DEADLINE_MS = 30_000;

/** A request path: `/`, then printable ASCII but `?` and `#` (no space, no control character). */
const PATH = /^\/[\x21\x22\x24-\x3e\x40-\x7e]*$/;
const METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "DELETE"]);
const decoder = new TextDecoder();

let coreOfClient: (client: DockerClient) => DockerClientCore;

/**
 * A Docker daemon's API: one per daemon, shared by many providers. Nothing
 * is sent until the first request; the API version is then negotiated once.
 * Every provider and watch on the client shares its keep-alive connections
 * and one `/events` stream.
 *
 * Give it to {@linkcode newDockerProvider} as `{ client }`; whoever created
 * the client closes it, which ends its watches. `[Symbol.dispose]()` is
 * `close()`.
 *
 * @example Share one client between two providers
 * ```ts ignore
 * import { DockerClient, newDockerProvider } from "@idlewatcher/provider/docker";
 *
 * using client = new DockerClient({ socketPath: "/var/run/docker.sock" });
 * using web = newDockerProvider({ client }, "web");
 * using db = newDockerProvider({ client }, "db");
 * console.log(await web.containerStatus(), await db.containerStatus());
 * ```
 */
export class DockerClient implements Disposable {
  /** The daemon as a URL, such as `unix:///var/run/docker.sock` or `tcp://h:2376`. */
  readonly url: string;
  #transport: Transport;
  #hub: WatchHub | undefined;
  #logger: Logger;
  #closed = new AbortController();

  static {
    coreOfClient = (client) => ({
      transport: client.#transport,
      hub: () => client.#watchHub(),
      logger: client.#logger,
    });
  }

  /**
   * Creates a client. Checks the configuration and reads the TLS files;
   * sends nothing yet.
   *
   * Needs `--allow-read`, `--allow-write` and `--allow-net=unix:<path>` for a
   * unix socket, `--allow-net=<host:port>` for TCP, `--allow-read` for TLS
   * files, and `--allow-env` for the variables the configuration leaves open
   * (`DOCKER_HOST`; for `tcp://`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`,
   * `HOME`). With neither the configuration nor `DOCKER_HOST` naming a host,
   * it follows the current docker context, as the docker CLI does, when it
   * may read `DOCKER_CONTEXT`, `DOCKER_CONFIG` or `HOME`, and the docker
   * CLI's `config.json` and `contexts/` folder (default `~/.docker`); without
   * those permissions it uses `unix:///var/run/docker.sock`.
   *
   * @param config Where the daemon is; `{}` follows the docker CLI's rules.
   * @throws {InvalidArgumentError} For a bad URL or scheme, TLS settings that
   * do not fit the host, unreadable TLS files, or an environment variable the
   * program may not read (the message names the flag).
   */
  constructor(config: DockerClientConfig = {}) {
    const host: DockerHost = resolveHost(config);
    this.#logger = config.logger ?? defaultLogger;
    this.url = host.url;
    const maxConnections = checkMaxConnections(config.maxConnections, "docker");
    this.#transport = new Transport(
      host,
      loadDialTarget(host, denoReadTextFile),
      this.#logger,
      maxConnections,
    );
  }

  /**
   * Sends any Engine API request and resolves with the parsed answer: the
   * escape hatch for endpoints this module does not wrap, such as listing
   * containers. The path is unversioned; the client adds the negotiated
   * version. GETs and HEADs are sent again once when a kept-alive connection
   * turns out closed; other methods are sent once. Each request has a
   * deadline of 30 s, and an answer larger than 64 MiB is refused.
   *
   * @typeParam T The type of the answer, as the caller knows it (not checked).
   * @param method The HTTP method.
   * @param path The unversioned path, starting with `/`, each segment percent-encoded, without a query.
   * @param options The query, a JSON body and the abort signal.
   * @returns The JSON answer parsed; the text of an answer that is not JSON; `undefined` for an empty one.
   * @throws {InvalidArgumentError} When the method is not one of the five, or the path is
   * not `/` followed by printable ASCII without `?` or `#`.
   * @throws {ConnectionError} When the daemon cannot be reached.
   * @throws {TimeoutError} When the daemon does not answer within 30 s.
   * @throws {NotFoundError} When the daemon answers 404.
   * @throws {ApiError} When the daemon answers with another error; carries its status and message.
   * Also when an answer said to be JSON is not.
   *
   * @example List the running containers
   * ```ts ignore
   * import { DockerClient } from "@idlewatcher/provider/docker";
   *
   * using client = new DockerClient();
   * const running = await client.request<{ Id: string; Names: string[] }[]>(
   *   "GET",
   *   "/containers/json",
   *   { query: { filters: JSON.stringify({ status: ["running"] }) } },
   * );
   * console.log(running.map((c) => c.Names[0]));
   * ```
   */
  async request<T = unknown>(
    method: DockerMethod,
    path: string,
    options: DockerRequestOptions = {},
  ): Promise<T> {
    if (typeof method !== "string" || !METHODS.has(method)) {
      throw new InvalidArgumentError(`Invalid method ${JSON.stringify(method)}`, {
        runtime: "docker",
      });
    }
    if (typeof path !== "string" || !PATH.test(path)) {
      throw new InvalidArgumentError(
        `Invalid path ${
          JSON.stringify(path)
        }: expected "/..." in printable ASCII (percent-encode the rest), ` +
          "without a query (use query) or a fragment",
        { runtime: "docker" },
      );
    }
    const context: RequestContext = { action: "request", what: `${method} ${path}` };
    const query = Object.entries(options.query ?? {})
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
      .map(([name, value]) => [name, String(value)]);
    const search = query.length === 0 ? "" : `?${new URLSearchParams(query)}`;
    return await withDeadline({
      signal: options.signal,
      closed: this.#closed.signal,
      ms: REQUEST_DEADLINE_MS,
      onTimeout: () =>
        new TimeoutError(
          `${failurePrefix(context)}: no answer within ${REQUEST_DEADLINE_MS / 1000} s`,
          { runtime: "docker", action: "request" },
        ),
      onClosed: () => this.#closed.signal.reason,
    }, async (signal) => {
      const response = await this.#transport.send({
        method,
        path: path + search,
        body: options.body,
        signal,
        idempotent: method === "GET" || method === "HEAD",
        maxBodySize: MAX_REQUEST_ANSWER_SIZE,
        context,
      });
      if (response.status < 200 || response.status > 299) {
        throw responseError(response.status, response.body, context);
      }
      return parseAnswer(response, context) as T;
    });
  }

  /** Ends every watch, closes every connection; pending calls reject. Idempotent. */
  close(): void {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort(
      new ProviderError(`The Docker client of ${this.url} is closed`, { runtime: "docker" }),
    );
    this.#hub?.close();
    this.#transport.close();
  }

  /** Closes the client, like {@linkcode DockerClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #watchHub(): WatchHub {
    return this.#hub ??= new WatchHub(this.#transport);
  }
}

function parseAnswer(
  response: { status: number; headers: Headers; body: Uint8Array },
  context: RequestContext,
): unknown {
  const { status, headers, body } = response;
  if (body.byteLength === 0) return undefined;
  const text = decoder.decode(body);
  if (!/\bjson\b/i.test(headers.get("content-type") ?? "")) return text;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw errorOfKind(
      "api",
      `${failurePrefix(context)}: the daemon answered ${status} with a body that is not JSON`,
      { runtime: "docker", action: "request", status, cause: error },
    );
  }
}

/** The transport, event stream and logger of a client, for this module's providers. */
export function clientCore(client: DockerClient): DockerClientCore {
  return coreOfClient(client);
}

/** A client shared by the providers made from equal configurations, and how to give it back. */
export interface SharedClient {
  /** The client. */
  client: DockerClient;
  /** Gives the client back; the last provider to do so closes it. */
  release(): void;
}

/** The host of a configuration, the environment, or the docker CLI's current context. */
function resolveHost(config: DockerClientConfig): DockerHost {
  return resolveDockerHost(config, denoEnv, {
    readTextFile: (path) => Deno.readTextFileSync(path),
  });
}

const shared = new Map<string, { client: DockerClient; users: number }>();

/**
 * The client of the providers made from a configuration rather than given a
 * client: providers whose configurations name the same host share one,
 * which closes when the last of them is closed.
 *
 * @param config Where the daemon is.
 * @returns The client and its release.
 * @throws {InvalidArgumentError} As the {@linkcode DockerClient} constructor.
 */
export function sharedClient(config: DockerClientConfig): SharedClient {
  const key = JSON.stringify([resolveHost(config), config.maxConnections ?? null]);
  let entry = shared.get(key);
  if (entry === undefined) {
    entry = { client: new DockerClient({ ...config, logger: undefined }), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  const used = entry;
  let released = false;
  return {
    client: used.client,
    release: () => {
      if (released) return;
      released = true;
      if (--used.users > 0) return;
      if (shared.get(key) === used) shared.delete(key);
      used.client.close();
    },
  };
}
