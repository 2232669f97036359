/**
 * The Docker Engine API transport under a `DockerClient`: one
 * keep-alive {@linkcode HttpClient} per host, API version negotiation, a
 * DEBUG line per call, and the mapping of failures into the provider errors.
 *
 * @module
 */

import { raceSignal } from "../_internal/abort.ts";
import { messageOf } from "../_internal/message.ts";
import { BodyTooLargeError, HttpClient, type HttpResponse } from "../_internal/http/client.ts";
import {
  type DialTarget,
  hostPort,
  isOutOfDescriptors,
  withoutFrames,
} from "../_internal/http/dial.ts";
import {
  errorFields,
  errorOfKind,
  failurePrefix,
  kindOfStatus,
  type RequestContext,
} from "../_internal/errdefs.ts";
import { ConnectionError, type ProviderError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { negotiateApiVersion } from "./_api.ts";
import type { DockerHost } from "./_host.ts";

/** One Engine API request. */
export interface DockerRequest {
  /** `"GET"`, `"POST"`, ... */
  method: string;
  /**
   * The unversioned origin-form path with its query, already percent-encoded,
   * such as `/containers/web/json` or `/events?filters=...`. The client adds
   * the host's base path and `/v<negotiated version>`.
   */
  path: string;
  /** A JSON body, sent as `application/json`. */
  body?: unknown;
  /** Aborts the request, including the version negotiation and the body; rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Safe to send twice: replayed once when a reused connection turns out closed. */
  idempotent?: boolean;
  /** The largest answer {@linkcode Transport.send} reads; default {@linkcode MAX_ANSWER_SIZE}. */
  maxBodySize?: number;
  /** The operation this request belongs to. */
  context: RequestContext;
}

/** A whole, buffered answer. */
export interface DockerResponse {
  /** The HTTP status. */
  status: number;
  /** The header fields. */
  headers: Headers;
  /** The body. */
  body: Uint8Array;
}

const decoder = new TextDecoder();

/**
 * The largest answer read whole (inspect, errors, version): 4 MiB, far above
 * any real one. Event streams are not read whole and have a per-line limit.
 */
export const MAX_ANSWER_SIZE: number = 4 * 1024 * 1024;

/**
 * Turns a daemon's error answer into the error of its kind
 * ({@linkcode kindOfStatus}: a `NotFoundError` for 404, else an `ApiError`), keeping the daemon's own message (`message`, and
 * Podman's `cause` when the message does not already contain it).
 *
 * @param status The HTTP status.
 * @param body The answer's body.
 * @param context The operation.
 * @returns The error to throw.
 */
export function responseError(
  status: number,
  body: Uint8Array,
  context: RequestContext,
): ProviderError {
  const serverMessage = daemonMessage(body);
  const message = `${failurePrefix(context)}: daemon returned ${status}` +
    (serverMessage === "" ? "" : `: ${serverMessage}`);
  return errorOfKind(kindOfStatus("docker", status, serverMessage), message, {
    ...errorFields("docker", context),
    status,
    serverMessage,
  });
}

function daemonMessage(body: Uint8Array): string {
  const text = decoder.decode(body).trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown; cause?: unknown };
    if (typeof parsed?.message === "string") {
      const cause = typeof parsed.cause === "string" ? parsed.cause : "";
      return cause === "" || parsed.message.includes(cause)
        ? parsed.message
        : `${parsed.message} (${cause})`;
    }
  } catch {
    // Not JSON: a proxy's page or plain text; keep it, shortened.
  }
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * The Engine API of one host, for one `DockerClient`: every
 * provider and watch on the client sends through it.
 */
export class Transport {
  /** The host as a URL, for messages (`unix:///var/run/docker.sock`, `tcp://h:2376`). */
  readonly url: string;
  #host: DockerHost;
  #http: HttpClient;
  #logger: Logger;
  #version: Promise<string> | undefined;
  /** The version once a lasting answer gave it; it never changes after that. */
  #knownVersion: string | undefined;

  /**
   * Creates a client; nothing is opened before the first request.
   *
   * @param host The resolved host.
   * @param target Where to dial, with the TLS material.
   * @param logger Where a request whose context names no logger is logged.
   * @param maxConnections The most connections open at once (default 32).
   */
  constructor(host: DockerHost, target: DialTarget, logger: Logger, maxConnections?: number) {
    this.url = host.url;
    this.#host = host;
    this.#logger = logger;
    this.#http = new HttpClient({ target, maxConnections, maxBodySize: MAX_ANSWER_SIZE });
  }

  /**
   * The API version this client speaks: `/_ping`'s `API-Version`, capped at
   * the newest version the provider knows. Asked once per client. A ping
   * that fails, or an error answer without `API-Version` (a proxy's error
   * page), is not remembered: the next call asks again.
   *
   * @param options The abort signal and the operation it belongs to.
   * @returns A version such as `"1.41"`.
   * @throws {ConnectionError} When the daemon cannot be reached.
   */
  async apiVersion(options: { signal?: AbortSignal; context: RequestContext }): Promise<string> {
    if (this.#knownVersion !== undefined) {
      options.signal?.throwIfAborted();
      return this.#knownVersion;
    }
    const shared = this.#version;
    if (shared !== undefined) {
      try {
        return await raceSignal(shared, options.signal);
      } catch {
        // Another call's ping failed (or was aborted by its caller): ping for this call.
        options.signal?.throwIfAborted();
      }
    }
    const pinging = this.#ping(options);
    const version = pinging.then((answer) => answer.version);
    version.catch(() => {}); // Rejections reach this call through `pinging`.
    this.#version = version;
    try {
      const answer = await pinging;
      if (this.#version === version) {
        if (answer.lasting) this.#knownVersion = answer.version;
        else this.#version = undefined;
      }
      return answer.version;
    } catch (error) {
      if (this.#version === version) this.#version = undefined;
      throw error;
    }
  }

  /**
   * Sends a versioned request and resolves once the answer's head is in; the
   * caller reads (or cancels) the body. Logs a DEBUG line with the method,
   * path, status and milliseconds. Any status resolves: interpreting it is
   * the caller's business ({@linkcode responseError} helps).
   *
   * @param request The request.
   * @returns The streaming answer; read its body to the end, or cancel it.
   * @throws {ConnectionError} When the daemon cannot be reached or the exchange breaks.
   * @throws The signal's reason when it aborts.
   */
  async request(request: DockerRequest): Promise<HttpResponse> {
    let version = this.#knownVersion;
    if (version === undefined) version = await this.apiVersion(request);
    else request.signal?.throwIfAborted();
    return await this.#send(request, `/v${version}${request.path}`);
  }

  /**
   * Like {@linkcode Transport.request}, but reads the whole body.
   *
   * @param request The request.
   * @returns The status, headers and body.
   * @throws {ConnectionError} When the daemon cannot be reached or the exchange breaks.
   * @throws The signal's reason when it aborts.
   */
  async send(request: DockerRequest): Promise<DockerResponse> {
    const response = await this.request(request);
    try {
      return { status: response.status, headers: response.headers, body: await response.bytes() };
    } catch (error) {
      response.cancel();
      throw this.transportError(error, request);
    }
  }

  /**
   * Turns a failure of the connection (Deno's own error) into a
   * {@linkcode ConnectionError} that names the host and the fix, or returns
   * the signal's reason when the request was aborted.
   *
   * @param error What the HTTP layer threw.
   * @param request The request that failed.
   * @returns The error to throw.
   */
  transportError(error: unknown, request: Pick<DockerRequest, "signal" | "context">): unknown {
    if (request.signal?.aborted) return request.signal.reason;
    if (error instanceof ConnectionError) return error;
    const { context } = request;
    if (error instanceof BodyTooLargeError) {
      return new ConnectionError(
        `${failurePrefix(context)}: the answer of the daemon at ${this.url} is too large ` +
          `(${error.message.replace(/^The answer is /, "")}); the connection was dropped`,
        { cause: error, ...errorFields("docker", context) },
      );
    }
    const { reason, fix } = connectionHint(this.#host, error);
    const failure = new ConnectionError(
      `${failurePrefix(context)}: cannot reach the daemon at ${this.url}: ${reason}`,
      { cause: error, fix, ...errorFields("docker", context) },
    );
    return isOutOfDescriptors(error) ? withoutFrames(failure) : failure;
  }

  /** Closes the connections; requests in flight and later ones fail. Idempotent. */
  close(): void {
    this.#http.close();
  }

  /** Asks `/_ping` for the daemon's version; `lasting` when the answer may be kept. */
  async #ping(
    options: { signal?: AbortSignal; context: RequestContext },
  ): Promise<{ version: string; lasting: boolean }> {
    const { signal, context } = options;
    const request = { method: "GET", path: "/_ping", idempotent: true, signal, context };
    const response = await this.#send(request, "/_ping");
    let body: Uint8Array;
    try {
      body = await response.bytes();
    } catch (error) {
      throw this.transportError(error, request);
    }
    if (this.#host.transport === "tcp" && response.status === 400 && speaksTls(body)) {
      throw new ConnectionError(
        `${failurePrefix(context)}: cannot reach the daemon at ${this.url}: ` +
          "it speaks TLS, and this client sent plain HTTP",
        {
          fix: "give tls in the configuration, or set DOCKER_TLS_VERIFY (with DOCKER_CERT_PATH)",
          ...errorFields("docker", context),
        },
      );
    }
    const header = response.headers.get("api-version");
    const lasting = header !== null || (response.status >= 200 && response.status < 300);
    return { version: negotiateApiVersion(header), lasting };
  }

  async #send(request: DockerRequest, path: string): Promise<HttpResponse> {
    const { method, signal, context } = request;
    const fullPath = this.#host.basePath + path;
    const started = performance.now();
    const log = { action: context.action, container: context.container, method, path: fullPath };
    const logger = context.logger ?? this.#logger;
    try {
      const body = request.body === undefined ? undefined : JSON.stringify(request.body);
      const response = await this.#http.request({
        method,
        path: fullPath,
        headers: body === undefined ? undefined : { "content-type": "application/json" },
        body,
        signal,
        retryOnStale: request.idempotent ?? false,
        maxBodySize: request.maxBodySize,
      });
      const ms = Math.round(performance.now() - started);
      logger.debug(`${method} ${fullPath} ${response.status} (${ms} ms)`, {
        ...log,
        status: response.status,
        ms,
      });
      return response;
    } catch (error) {
      const ms = Math.round(performance.now() - started);
      logger.debug(`${method} ${fullPath} failed (${ms} ms)`, { ...log, ms, error });
      throw this.transportError(error, request);
    }
  }
}

/** Go's TLS server answers plain HTTP with a 400 that says so. */
function speaksTls(body: Uint8Array): boolean {
  return /HTTP request to an HTTPS server/.test(new TextDecoder().decode(body.subarray(0, 200)));
}

/** Explains a connection failure in words a user can act on: what happened, and the fix. */
function connectionHint(host: DockerHost, error: unknown): { reason: string; fix?: string } {
  const detail = messageOf(error);
  if (host.transport === "unix") {
    const path = host.path;
    if (error instanceof Deno.errors.NotFound) {
      return {
        reason: "no such socket",
        fix: "start the daemon, or give the provider its socket (socketPath, url or DOCKER_HOST)",
      };
    }
    if (error instanceof Deno.errors.ConnectionRefused) {
      return { reason: "nothing listens on the socket", fix: "start the daemon" };
    }
    if (error instanceof Deno.errors.NotCapable) {
      return {
        reason: "missing permission",
        fix: `run with --allow-read=${path} --allow-write=${path} --allow-net=unix:${path}`,
      };
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      return {
        reason: "permission denied by the operating system",
        fix: "run as a user allowed to use the socket (such as a member of the docker group)",
      };
    }
  } else {
    const address = hostPort(host.hostname, host.port);
    if (error instanceof Deno.errors.NotCapable) {
      return { reason: "missing permission", fix: `run with --allow-net=${address}` };
    }
    if (error instanceof Deno.errors.ConnectionRefused) {
      return { reason: "connection refused", fix: `check that the daemon listens on ${address}` };
    }
    if (host.transport === "tls" && error instanceof Deno.errors.InvalidData) {
      return {
        reason: `TLS failed (${detail})`,
        fix: "check the CA and the client certificate " +
          "(tls in the configuration, or ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH)",
      };
    }
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return { reason: `the connection closed before the answer was complete (${detail})` };
  }
  if (error instanceof Deno.errors.InvalidData) {
    return {
      reason: `the answer is not valid HTTP (${detail})`,
      fix: "check that this is a Docker API endpoint",
    };
  }
  return { reason: detail };
}
