/**
 * A fake Docker engine on a unix socket: it answers `/_ping` with a chosen
 * `API-Version`, records every request, and lets a test answer any request
 * itself. Containers it does not know about answer like a stopped container.
 *
 * @module
 */

/** One request the fake received. */
export interface RecordedRequest {
  /** The method. */
  method: string;
  /** The path and query, exactly as sent (still percent-encoded). */
  target: string;
}

/** Answers a request, or returns `undefined` for the fake's default answer. */
export type FakeRoute = (
  request: Request,
  target: string,
) => Response | undefined | Promise<Response | undefined>;

/** Options of {@linkcode startFakeEngine}. */
export interface FakeEngineOptions {
  /** The `API-Version` of `/_ping`; `null` sends none. @default "1.43" */
  apiVersion?: string | null;
  /** The `State.Status` of inspections. @default "exited" */
  state?: string;
  /** Answers requests before the defaults. @default {undefined} */
  route?: FakeRoute;
}

/** A running fake engine; dispose it to stop it. */
export interface FakeEngine extends AsyncDisposable {
  /** The socket's path. */
  path: string;
  /** Every request so far, in order. */
  requests: RecordedRequest[];
  /** The `State.Status` inspections report; change it at will. */
  state: string;
  /**
   * An answer that never comes before the fake stops: for requests the
   * client has to give up on.
   *
   * @returns A 503, once the fake stops.
   */
  hang(): Promise<Response>;
}

/**
 * Starts a fake engine on a new socket in a temporary folder.
 *
 * @param options The version, the state and extra routes.
 * @returns The engine, already listening.
 */
export async function startFakeEngine(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const dir = await Deno.makeTempDir({ prefix: "idlewatcher-fake-engine-" });
  const path = `${dir}/docker.sock`;
  const stopping = new AbortController();
  const apiVersion = options.apiVersion === undefined ? "1.43" : options.apiVersion;
  const requests: RecordedRequest[] = [];

  const hang = (): Promise<Response> =>
    new Promise((resolve) => {
      const done = () => resolve(new Response("gave up", { status: 503 }));
      if (stopping.signal.aborted) return done();
      stopping.signal.addEventListener("abort", done, { once: true });
    });

  const engine: FakeEngine = {
    path,
    requests,
    state: options.state ?? "exited",
    hang,
    async [Symbol.asyncDispose]() {
      stopping.abort();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };

  const server = Deno.serve({ path, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const target = url.pathname + url.search;
    requests.push({ method: request.method, target });
    await request.body?.cancel();
    const answer = await options.route?.(request, target);
    if (answer !== undefined) return answer;
    if (url.pathname === "/_ping") {
      const headers = new Headers({ "content-type": "text/plain" });
      if (apiVersion !== null) headers.set("api-version", apiVersion);
      return new Response("OK", { headers });
    }
    if (request.method === "GET" && url.pathname.endsWith("/json")) {
      return Response.json({ Id: "0123", State: { Status: engine.state } });
    }
    if (request.method === "POST" && url.pathname.endsWith("/wait")) {
      return Response.json({ StatusCode: 0 });
    }
    if (request.method === "POST") return new Response(null, { status: 204 });
    return Response.json({ message: "page not found" }, { status: 404 });
  });
  return engine;
}
