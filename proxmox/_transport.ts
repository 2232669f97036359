/**
 * The wire to one PVE cluster: HTTP/1.1 over verified TLS, the API root,
 * authentication, per-request deadlines, retries of reads, and errors that
 * keep PVE's own message.
 *
 * Only GETs are ever sent twice: on a stale keep-alive connection, on a 401
 * after logging in again, and on 595/596/502/503 with backoff. A write (a
 * power action) is sent again only after a 401, which PVE answers before it
 * runs anything.
 *
 * @module
 */

import { delay } from "../_internal/abort.ts";
import { withDeadline } from "../_internal/deadline.ts";
import { BodyTooLargeError, HttpClient, type HttpResponse } from "../_internal/http/client.ts";
import { isOutOfDescriptors, withoutFrames } from "../_internal/http/dial.ts";
import { readFailure } from "../_internal/read_failure.ts";
import { messageOf } from "../_internal/message.ts";
import { ConnectionError, InvalidArgumentError, ProviderError, TimeoutError } from "../errors.ts";
import { type Auth, type Ticket, TicketAuth, type TicketTimes, TokenAuth } from "./_auth.ts";
import type { ResolvedConfig } from "./_config.ts";
import { failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { PATHS } from "./_api.ts";
import { answerError, type RawAnswer } from "./_errors.ts";
import { backoff } from "../_internal/backoff.ts";
import { RETRY_BACKOFF } from "./_timing.ts";

/** A parameter value: booleans go out as PVE's `1`/`0`. */
export type ParamValue = string | number | boolean | undefined;

/** Options of {@linkcode Transport.request}. */
export interface TransportRequestOptions {
  /** Query parameters (GET, DELETE) or the form body (POST, PUT). */
  params?: Record<string, ParamValue>;
  /** Aborts the request; it rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** What the request does, for error messages. Default: `"<METHOD> <path>"`. */
  context?: RequestContext;
  /** GETs only: retry 595/596/502/503 with backoff. Default: `true`. */
  retry?: boolean;
}

/** Options of a {@linkcode Transport} beyond its configuration. */
export interface TransportOptions extends TicketTimes {}

// pveproxy closes a connection after 5 s without traffic; drop ours first so
// that a write is never sent on a connection the server is closing.
const IDLE_TIMEOUT_MS = 4_000;
const GET_RETRIES = 3;
/**
 * The largest answer read, 8 MiB: a cluster's resource list of thousands of
 * guests fits many times over; a longer answer is refused while it arrives.
 */
const MAX_ANSWER_SIZE = 8 * 1024 * 1024;
const RETRIABLE_STATUS = new Set([502, 503, 595, 596]);

/** One cluster's API: sends requests and returns their `data`. */
export class Transport {
  #config: ResolvedConfig;
  #auth: Auth;
  #http: Promise<HttpClient> | undefined;
  #closing = new AbortController();

  constructor(config: ResolvedConfig, options: TransportOptions = {}) {
    this.#config = config;
    const { credentials } = config;
    this.#auth = credentials.kind === "token"
      ? new TokenAuth(credentials.tokenId, credentials.secret)
      : new TicketAuth(credentials.userid, credentials.password, this.#login, {
        ...options,
        signal: this.#closing.signal,
      });
  }

  /** The checked configuration. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** Aborts when the transport closes; its reason is the error in-flight calls reject with. */
  get closed(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * Sends a request (`path` relative to the API root, percent-encoded) and
   * resolves with the answer's `data`.
   *
   * @throws {ConnectionError} PVE or the node is unreachable.
   * @throws {TimeoutError} No answer within the configured timeout.
   * @throws {ApiError | NotFoundError} PVE refused the request.
   * @throws {InvalidArgumentError} The HTTP layer cannot frame the request (a bad path).
   */
  async request(
    method: string,
    path: string,
    options: TransportRequestOptions = {},
  ): Promise<unknown> {
    const context = options.context ?? { what: `${method} ${path}` };
    const encoded = encodeParams(options.params);
    const inQuery = method === "GET" || method === "DELETE";
    const target = this.#config.basePath + path + (inQuery && encoded ? `?${encoded}` : "");
    const body = !inQuery && encoded ? encoded : undefined;
    const isGet = method === "GET";
    const waits = backoff(RETRY_BACKOFF);
    let retriesLeft = isGet && options.retry !== false ? GET_RETRIES : 0;
    let loggedInAgain = false;
    const signal = this.#signal(options.signal);
    while (true) {
      const authorization = await this.#auth.authorize(method, signal).catch((error) => {
        throw this.#rethrow(error, options.signal, context);
      });
      const answer = await this.#exchange(method, target, {
        headers: authorization.headers,
        body,
        signal: options.signal,
        context,
        retryOnStale: isGet,
      });
      if (answer.status >= 200 && answer.status < 300) return parseData(answer, context);
      if (answer.status === 401 && !loggedInAgain && authorization.rejected()) {
        loggedInAgain = true;
        continue;
      }
      const error = answerError(answer, path, context);
      if (retriesLeft > 0 && RETRIABLE_STATUS.has(answer.status)) {
        retriesLeft--;
        const wait = waits.next().value;
        this.#config.logger.debug(`PVE ${method} ${path}: retrying in ${wait} ms`, {
          method,
          path,
          status: answer.status,
          error: error.message,
        });
        await delay(wait, { signal });
        continue;
      }
      throw error;
    }
  }

  /** Closes every connection; in-flight and later requests reject. Idempotent. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(
      new ProviderError(`The Proxmox client of ${this.#config.origin} is closed`, {
        runtime: "proxmox",
      }),
    );
    this.#http?.then((http) => http.close(), () => {});
  }

  /** The caller's signal combined with the transport's close. */
  #signal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
  }

  #login = async (userid: string, password: string, signal: AbortSignal): Promise<Ticket> => {
    const context = { what: `log in to ${this.#config.origin} as ${userid}`, action: "login" };
    const answer = await this.#exchange("POST", `${this.#config.basePath}${PATHS.ticket}`, {
      headers: {},
      body: encodeParams({ username: userid, password }),
      signal,
      context,
      retryOnStale: false,
    });
    if (answer.status !== 200) throw answerError(answer, PATHS.ticket, context);
    const data = parseData(answer, context) as Partial<Ticket> | null;
    if (typeof data?.ticket !== "string" || typeof data.CSRFPreventionToken !== "string") {
      throw new ProviderError(`${failurePrefix(context)}: PVE answered without a ticket`, {
        runtime: "proxmox",
        action: "login",
      });
    }
    return data as Ticket;
  };

  /** One HTTP exchange under the per-request timeout; the whole body is read. */
  async #exchange(
    method: string,
    target: string,
    request: {
      headers: Record<string, string>;
      body: string | undefined;
      signal: AbortSignal | undefined;
      context: RequestContext;
      retryOnStale: boolean;
    },
  ): Promise<RawAnswer> {
    const started = performance.now();
    const headers: Record<string, string> = { accept: "application/json", ...request.headers };
    if (request.body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const path = target.slice(this.#config.basePath.length);
    const { context } = request;
    return await withDeadline({
      signal: request.signal,
      closed: this.#closing.signal,
      ms: this.#config.timeoutMs,
      onTimeout: () =>
        new TimeoutError(
          `${failurePrefix(context)}: no answer from ${this.#config.origin} within ${
            this.#config.timeoutMs / 1000
          } s`,
          { runtime: "proxmox", action: context.action, container: context.container },
        ),
      onClosed: () => this.#closing.signal.reason,
    }, async (signal) => {
      let response: HttpResponse | undefined;
      try {
        const http = await this.#client();
        response = await http.request({
          method,
          path: target,
          headers,
          body: request.body,
          signal,
          retryOnStale: request.retryOnStale,
        });
        const answer = {
          status: response.status,
          statusText: response.statusText,
          body: await response.text(),
        };
        this.#config.logger.debug(`PVE ${method} ${path} ${answer.status}`, {
          method,
          path,
          status: answer.status,
          ms: Math.round(performance.now() - started),
        });
        return answer;
      } catch (error) {
        response?.cancel();
        throw this.#rethrow(error, request.signal, context, method);
      }
    });
  }

  /**
   * The caller's or the close's reason when aborted; our own errors as they
   * are; a request the HTTP layer cannot frame (a `TypeError`) as an invalid
   * argument; Deno's errors as a connection failure.
   */
  #rethrow(
    error: unknown,
    signal: AbortSignal | undefined,
    context: RequestContext,
    method?: string,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    if (this.#closing.signal.aborted) return this.#closing.signal.reason;
    if (error instanceof ProviderError) return error;
    if (error instanceof TypeError) {
      return new InvalidArgumentError(`${failurePrefix(context)}: ${error.message}`, {
        runtime: "proxmox",
        action: context.action,
        container: context.container,
        cause: error,
      });
    }
    return connectionError(error, this.#config, context, method);
  }

  #client(): Promise<HttpClient> {
    this.#http ??= this.#open().catch((error) => {
      this.#http = undefined;
      throw error;
    });
    return this.#http;
  }

  async #open(): Promise<HttpClient> {
    const { caFile, caCerts, hostname, port } = this.#config;
    const certs = [...caCerts];
    if (caFile !== undefined) {
      try {
        certs.push(await Deno.readTextFile(caFile));
      } catch (error) {
        const { reason, fix } = readFailure(error, caFile);
        throw new InvalidArgumentError(
          `Cannot read the Proxmox CA file ${caFile}: ${reason}`,
          { runtime: "proxmox", cause: error, fix },
        );
      }
    }
    const http = new HttpClient({
      target: { transport: "tls", hostname, port, caCerts: certs.length ? certs : undefined },
      idleTimeout: IDLE_TIMEOUT_MS,
      maxConnections: this.#config.maxConnections,
      maxBodySize: MAX_ANSWER_SIZE,
    });
    if (this.#closing.signal.aborted) http.close();
    return http;
  }
}

function encodeParams(params: Record<string, ParamValue> | undefined): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value === undefined) continue;
    search.append(name, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  return search.toString();
}

function parseData(answer: RawAnswer, context: RequestContext): unknown {
  try {
    return (JSON.parse(answer.body) as { data?: unknown } | null)?.data ?? null;
  } catch (error) {
    throw new ProviderError(
      `${failurePrefix(context)}: PVE answered ${answer.status} with a body that is not JSON`,
      { runtime: "proxmox", action: context.action, container: context.container, cause: error },
    );
  }
}

function connectionError(
  error: unknown,
  config: ResolvedConfig,
  context: RequestContext,
  method: string | undefined,
): ConnectionError {
  const where = `${config.hostname}:${config.port}`;
  let fix: string | undefined;
  let note = "";
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    fix = `run with --allow-net=${where}`;
  } else if (error instanceof Deno.errors.InvalidData && /certificate/i.test(String(error))) {
    fix = "give the cluster's CA (/etc/pve/pve-root-ca.pem) with caFile or caCerts";
  } else if (method !== undefined && method !== "GET" && !neverSent(error)) {
    note = "; the request may or may not have reached PVE";
  }
  if (error instanceof BodyTooLargeError) {
    return new ConnectionError(
      `${failurePrefix(context)}: the answer of ${config.origin} is too large ` +
        `(${error.message.replace(/^The answer is /, "")}); the connection was dropped`,
      { runtime: "proxmox", action: context.action, container: context.container, cause: error },
    );
  }
  const reason = messageOf(error);
  const failure = new ConnectionError(
    `${failurePrefix(context)}: cannot talk to ${config.origin}: ${reason}${note}`,
    {
      runtime: "proxmox",
      action: context.action,
      container: context.container,
      cause: error,
      fix,
    },
  );
  return isOutOfDescriptors(error) ? withoutFrames(failure) : failure;
}

/** A failure to connect at all: the request cannot have reached PVE. */
function neverSent(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.AddrNotAvailable ||
    (error instanceof Deno.errors.InvalidData && /certificate|handshake|tls/i.test(String(error)));
}
