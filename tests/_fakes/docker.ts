/**
 * A fake Docker engine on a unix socket, for the watch tests: containers to
 * inspect, and an `/events` endpoint that behaves like dockerd's (a bounded
 * in-memory log, `since` inclusive, `until` in the past ends the answer,
 * `until` in the future ends it then) or, with `podman: true`, like Podman's
 * (`since` exclusive, `stream=false` ends after the log, `Libpod-Api-Version`
 * on `/_ping`).
 *
 * The test drives it: {@linkcode FakeDocker.emit} logs and streams an event,
 * {@linkcode FakeDocker.writeRaw} sends bytes as they are (garbage, giant
 * lines), {@linkcode FakeDocker.cutEvents} ends every open events answer,
 * {@linkcode FakeDocker.stop} and {@linkcode FakeDocker.restart} stop the
 * engine and start it again with an empty log, like a dockerd restart.
 * `/info` can be slow, taking its `SystemTime` when it answers (like
 * Podman's, which spends hundreds of milliseconds first), and hooks run
 * when an inspection has read a state or `/info` arrives, so that a test
 * can make a container change at exactly that moment.
 *
 * @example
 * ```ts ignore
 * await using engine = await FakeDocker.start();
 * const web = engine.addContainer("web");
 * engine.emit(web.id, "stop");
 * ```
 *
 * @module
 */

/** A container of the fake engine. */
export interface FakeContainer {
  /** The full id (64 hex digits). */
  id: string;
  /** The name, without a slash. */
  name: string;
  /** Docker's `State.Status`: `running`, `paused`, `exited`, `created`, ... */
  status: string;
  /** The exit code of the last run. */
  exitCode: number;
  /** RFC 3339 time of the last start. */
  startedAt: string;
  /** RFC 3339 time of the last stop. */
  finishedAt: string;
}

/** Options of {@linkcode FakeDocker.start}. */
export interface FakeDockerOptions {
  /** Behave like Podman's Docker-compatible API. @default {false} */
  podman?: boolean;
  /** How many events the engine keeps for `since`. @default {256} */
  logSize?: number;
  /**
   * How long `/info` takes, in milliseconds; its `SystemTime` is the time
   * it answers. @default {0}
   */
  infoDelayMs?: number;
}

/** Runs when an inspection has read a container's state, before the answer goes. */
export type InspectHook = (container: FakeContainer) => void | Promise<void>;

interface LoggedEvent {
  /** Nanoseconds since the epoch. */
  time: bigint;
  type: string;
  line: Uint8Array;
}

interface EventStream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  timer: ReturnType<typeof setTimeout> | undefined;
  closed: boolean;
}

const encoder = new TextEncoder();
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** A fake Docker (or Podman) engine serving on a unix socket. */
export class FakeDocker implements AsyncDisposable {
  /** The socket the engine listens on. */
  readonly socketPath: string;
  /** How many `/events` requests it answered, in total. */
  eventsRequests = 0;
  /** How many inspections it answered, in total. */
  inspectRequests = 0;
  /** How many `/info` requests it received, in total. */
  infoRequests = 0;
  /** Every request received, as `METHOD /path` (version prefix and query left out), in order. */
  readonly requests: string[] = [];
  /** Runs after each inspection read a state; the answer waits for what it returns. */
  onInspect: InspectHook | undefined;
  /** Runs when `/info` arrives, before its delay. */
  onInfo: (() => void) | undefined;
  #podman: boolean;
  #logSize: number;
  #infoDelayMs: number;
  /** Aborted while the engine is stopped: ends the waits of its answers. */
  #stopping = new AbortController();
  #containers = new Map<string, FakeContainer>();
  #log: LoggedEvent[] = [];
  #streams = new Set<EventStream>();
  #server: Deno.HttpServer | undefined;
  #lastTime = 0n;
  /** How far {@linkcode FakeDocker.skip} moved the clock, in nanoseconds. */
  #skipped = 0n;
  #dir: string;

  private constructor(dir: string, options: FakeDockerOptions) {
    this.#dir = dir;
    this.socketPath = `${dir}/engine.sock`;
    this.#podman = options.podman ?? false;
    this.#logSize = options.logSize ?? 256;
    this.#infoDelayMs = options.infoDelayMs ?? 0;
  }

  /**
   * Starts an engine on a fresh socket in a temporary folder.
   *
   * @param options Podman behaviour, log size.
   * @returns The engine, listening.
   */
  static async start(options: FakeDockerOptions = {}): Promise<FakeDocker> {
    const engine = new FakeDocker(await Deno.makeTempDir({ prefix: "fake-docker-" }), options);
    await engine.#listen();
    return engine;
  }

  /** How many `/events` answers are open now. */
  get openEventStreams(): number {
    return this.#streams.size;
  }

  /**
   * Adds a running container.
   *
   * @param name Its name.
   * @param id Its full id; a random one when left out.
   * @returns The container; change its fields to change what inspection says.
   */
  addContainer(name: string, id: string = randomId()): FakeContainer {
    const container: FakeContainer = {
      id,
      name,
      status: "running",
      exitCode: 0,
      startedAt: rfc3339(this.#now()),
      finishedAt: ZERO_TIME,
    };
    this.#containers.set(id, container);
    return container;
  }

  /**
   * Logs an event of a container and sends it to every open events answer.
   * `start`, `pause`, `unpause`, `die` and `destroy` update the container
   * as dockerd would.
   *
   * @param id The container's full id.
   * @param action The action, such as `"start"` or `"exec_start: sh"`.
   * @param extra Attributes beside `name` and `image`.
   * @returns The event's `timeNano`.
   */
  emit(id: string, action: string, extra: Record<string, string> = {}): bigint {
    const container = this.#containers.get(id);
    const time = this.#now();
    if (container !== undefined) this.#apply(container, action, time);
    const line = encoder.encode(this.#line(id, action, extra, time));
    this.#log.push({ time, type: "container", line });
    if (this.#log.length > this.#logSize) this.#log.shift();
    this.#send(line);
    return time;
  }

  /**
   * Builds an event line of a container, with a time of its own, without
   * logging or sending it (for {@linkcode FakeDocker.writeRaw}).
   *
   * @param id The container's full id.
   * @param action The action.
   * @returns The line, newline included.
   */
  eventLine(id: string, action: string): string {
    return this.#line(id, action, {}, this.#now());
  }

  #line(id: string, action: string, extra: Record<string, string>, time: bigint): string {
    const name = this.#containers.get(id)?.name ?? id.slice(0, 12);
    return JSON.stringify({
      status: action,
      id,
      from: "busybox",
      Type: "container",
      Action: action,
      Actor: { ID: id, Attributes: { image: "busybox", name, ...extra } },
      scope: "local",
      time: Number(time / 1_000_000_000n),
      timeNano: 0,
    }).replace('"timeNano":0', `"timeNano":${time}`) + "\n";
  }

  /**
   * Sends bytes as they are to every open events answer (nothing is logged).
   *
   * @param bytes The bytes, or text sent as UTF-8.
   */
  writeRaw(bytes: Uint8Array | string): void {
    this.#send(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  }

  /**
   * Ends every open events answer.
   *
   * @param options `abort: true` breaks the connection instead of ending the answer cleanly.
   */
  cutEvents(options: { abort?: boolean } = {}): void {
    for (const stream of this.#streams) this.#endStream(stream, options.abort ?? false);
  }

  /** Stops the engine: open answers break, the socket goes away. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.cutEvents({ abort: true });
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await server.shutdown();
    await Deno.remove(this.socketPath).catch(() => {});
  }

  /** Starts a stopped engine again with an empty event log, like a restarted dockerd. */
  async restart(): Promise<void> {
    await this.stop();
    this.#log = [];
    await this.#listen();
  }

  /** Stops the engine and removes its folder. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  #listen(): Promise<void> {
    this.#stopping = new AbortController();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#server = Deno.serve({
      path: this.socketPath,
      onListen: () => resolve(),
      onError: () => new Response("internal error", { status: 500 }),
    }, (request) => this.#handle(request));
    return promise;
  }

  /**
   * Moves the engine's clock (event times, `SystemTime`) forward: whatever
   * comes next is at least `ms` after what came before, however fast.
   *
   * @param ms Milliseconds.
   */
  skip(ms: number): void {
    this.#skipped += BigInt(ms) * 1_000_000n;
  }

  /** A `timeNano` after every earlier one. */
  #now(): bigint {
    const now = BigInt(Date.now()) * 1_000_000n + this.#skipped;
    this.#lastTime = now > this.#lastTime ? now : this.#lastTime + 1n;
    return this.#lastTime;
  }

  #apply(container: FakeContainer, action: string, time: bigint): void {
    if (action === "start") {
      container.status = "running";
      container.startedAt = rfc3339(time);
    } else if (action === "pause") container.status = "paused";
    else if (action === "unpause") container.status = "running";
    else if (action === "die") {
      container.status = "exited";
      container.finishedAt = rfc3339(time);
    } else if (action === "destroy") this.#containers.delete(container.id);
  }

  #send(bytes: Uint8Array): void {
    for (const stream of this.#streams) stream.controller.enqueue(bytes);
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/v1\.\d+/, "");
    await request.body?.cancel();
    this.requests.push(`${request.method} ${path}`);
    const headers = new Headers({
      "api-version": "1.41",
      "content-type": "application/json",
      date: new Date().toUTCString(),
    });
    if (this.#podman) headers.set("libpod-api-version", "4.3.1");
    if (path === "/_ping") {
      headers.set("content-type", "text/plain; charset=utf-8");
      return new Response(request.method === "HEAD" ? null : "OK", { headers });
    }
    if (path === "/events" && request.method === "GET") return this.#events(url, headers);
    if (path === "/info" && request.method === "GET") {
      this.infoRequests++;
      this.onInfo?.();
      await this.#wait(this.#infoDelayMs);
      headers.set("date", new Date().toUTCString());
      return Response.json({ SystemTime: rfc3339(this.#now()) }, { headers });
    }
    const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (inspect !== null && request.method === "GET") {
      this.inspectRequests++;
      const container = this.#find(decodeURIComponent(inspect[1]));
      if (container === undefined) {
        return Response.json({ message: `No such container: ${inspect[1]}` }, {
          status: 404,
          headers,
        });
      }
      const body = inspectBody(container);
      await this.onInspect?.(container);
      return Response.json(body, { headers });
    }
    return Response.json({ message: "page not found" }, { status: 404, headers });
  }

  /** Waits `ms`, or less when the engine stops. */
  #wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    const signal = this.#stopping.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });
  }

  #find(ref: string): FakeContainer | undefined {
    const exact = this.#containers.get(ref);
    if (exact !== undefined) return exact;
    const byName = [...this.#containers.values()].find((c) => c.name === ref);
    if (byName !== undefined) return byName;
    const byPrefix = [...this.#containers.values()].filter((c) => c.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  #events(url: URL, headers: Headers): Response {
    this.eventsRequests++;
    const since = parseTime(url.searchParams.get("since"));
    const until = parseTime(url.searchParams.get("until"));
    const now = this.#now();
    // Like dockerd, a request without since or until gets live events only.
    const replay = since === undefined && until === undefined
      ? []
      : this.#log.filter((event) =>
        event.type === "container" &&
        (since === undefined || (this.#podman ? event.time > since : event.time >= since)) &&
        (until === undefined || event.time <= until)
      );
    const onlyPast = (until !== undefined && until < now) ||
      (this.#podman && url.searchParams.get("stream") === "false");
    const stream: EventStream = { controller: undefined!, timer: undefined, closed: false };
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        stream.controller = controller;
        for (const event of replay) controller.enqueue(event.line);
        if (onlyPast) {
          stream.closed = true;
          controller.close();
          return;
        }
        this.#streams.add(stream);
        if (until !== undefined) {
          const ms = Number((until - now) / 1_000_000n);
          stream.timer = setTimeout(() => this.#endStream(stream, false), ms);
        }
      },
      cancel: () => this.#forget(stream),
    });
    return new Response(body, { headers });
  }

  #endStream(stream: EventStream, abort: boolean): void {
    if (stream.closed) return;
    this.#forget(stream);
    if (abort) stream.controller.error(new Error("engine stopped"));
    else stream.controller.close();
  }

  #forget(stream: EventStream): void {
    stream.closed = true;
    clearTimeout(stream.timer);
    this.#streams.delete(stream);
  }
}

function inspectBody(container: FakeContainer): unknown {
  return {
    Id: container.id,
    Name: `/${container.name}`,
    Config: { Image: "busybox" },
    State: {
      Status: container.status,
      Running: container.status === "running" || container.status === "paused",
      Paused: container.status === "paused",
      Restarting: false,
      Dead: false,
      Pid: container.status === "running" ? 4242 : 0,
      ExitCode: container.exitCode,
      Error: "",
      StartedAt: container.startedAt,
      FinishedAt: container.finishedAt,
    },
  };
}

/** Parses `since`/`until`: `"sec"` or `"sec.nanos"`. */
function parseTime(value: string | null): bigint | undefined {
  if (value === null || value === "") return undefined;
  const [seconds, fraction = ""] = value.split(".");
  return BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0").slice(0, 9));
}

function rfc3339(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, "0");
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`);
}

/**
 * A random full container id.
 *
 * @param prefix Hex digits the id starts with.
 * @returns 64 hex digits.
 */
export function randomId(prefix = ""): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return (prefix + hex).slice(0, 64);
}
