/**
 * A fake Docker engine for the `idlewatcher serve` benchmarks, run as its own
 * process: it holds N containers labelled `sablier.enable=true`, answers what
 * the server asks (ping, version, info, the labelled list, inspect, start,
 * stop, pause, unpause, events) and counts every request, so that a benchmark
 * can show how many runtime requests a workload made.
 *
 *   deno run -A bench/_fake_serve_engine.ts --socket PATH [--containers N] [--state running|exited]
 *
 * It prints `{"ready":true,"names":[first name, last name]}` on stdout once it
 * listens. Names are `app-0` … `app-(N-1)`.
 *
 * Extra routes for the benchmark: `GET /_bench/stats` →
 * `{"requests":R,"byRoute":{…},"openEventStreams":E}`; `POST /_bench/reset`
 * zeroes the counts.
 *
 * @module
 */

interface Container {
  id: string;
  name: string;
  status: "running" | "exited" | "paused";
  labels: Record<string, string>;
  startedAt: string;
  finishedAt: string;
}

interface Options {
  socket: string;
  containers: number;
  state: "running" | "exited";
}

function parseOptions(args: string[]): Options {
  const options: Options = { socket: "", containers: 1, state: "running" };
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (name === "--socket") options.socket = value;
    else if (name === "--containers") options.containers = Number(value);
    else if (name === "--state") options.state = value === "exited" ? "exited" : "running";
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.socket) throw new Error("--socket is required");
  return options;
}

const encoder = new TextEncoder();
const ZERO_TIME = "0001-01-01T00:00:00Z";

function hexId(index: number): string {
  const seed = index.toString(16).padStart(8, "0");
  return (seed + "ab12cd34ef56").repeat(4).slice(0, 64);
}

class FakeEngine {
  readonly containers = new Map<string, Container>();
  readonly byName = new Map<string, Container>();
  readonly streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  requests = 0;
  byRoute: Record<string, number> = {};

  constructor(count: number, state: Options["state"]) {
    const now = new Date().toISOString();
    for (let i = 0; i < count; i++) {
      const container: Container = {
        id: hexId(i),
        name: `app-${i}`,
        status: state,
        labels: {
          "sablier.enable": "true",
          "sablier.group": `group-${i % 50}`,
          "com.docker.compose.project": `proj${i % 20}`,
          "com.docker.compose.service": `svc${i}`,
        },
        startedAt: state === "running" ? now : ZERO_TIME,
        finishedAt: state === "running" ? ZERO_TIME : now,
      };
      this.containers.set(container.id, container);
      this.byName.set(container.name, container);
    }
  }

  find(idOrName: string): Container | undefined {
    return this.containers.get(idOrName) ?? this.byName.get(idOrName) ??
      [...this.containers.values()].find((c) => c.id.startsWith(idOrName) && idOrName.length >= 12);
  }

  count(route: string): void {
    this.requests++;
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
  }

  emit(container: Container, action: string): void {
    const now = Date.now();
    const line = JSON.stringify({
      status: action,
      id: container.id,
      from: "busybox:latest",
      Type: "container",
      Action: action,
      Actor: {
        ID: container.id,
        Attributes: { ...container.labels, image: "busybox:latest", name: container.name },
      },
      scope: "local",
      time: Math.floor(now / 1000),
      timeNano: now * 1_000_000,
    }) + "\n";
    const bytes = encoder.encode(line);
    for (const controller of this.streams) {
      try {
        controller.enqueue(bytes);
      } catch {
        this.streams.delete(controller);
      }
    }
  }

  summary(container: Container): Record<string, unknown> {
    return {
      Id: container.id,
      Names: [`/${container.name}`],
      Image: "busybox:latest",
      ImageID: "sha256:" + "0".repeat(64),
      Command: "sleep 3600",
      Created: 1_790_000_000,
      State: container.status,
      Status: container.status === "running" ? "Up 5 minutes" : "Exited (0) 1 minute ago",
      Labels: container.labels,
    };
  }

  inspect(container: Container): Record<string, unknown> {
    return {
      Id: container.id,
      Created: "2026-11-20T10:00:00.000000000Z",
      Name: `/${container.name}`,
      RestartCount: 0,
      State: {
        Status: container.status,
        Running: container.status !== "exited",
        Paused: container.status === "paused",
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: container.status === "exited" ? 0 : 4242,
        ExitCode: 0,
        Error: "",
        StartedAt: container.startedAt,
        FinishedAt: container.finishedAt,
      },
      Config: {
        Hostname: container.id.slice(0, 12),
        Image: "busybox:latest",
        Labels: container.labels,
        Cmd: ["sleep", "3600"],
      },
      HostConfig: { NetworkMode: "none" },
    };
  }

  power(container: Container, action: string): number {
    const now = new Date().toISOString();
    if (action === "start" || action === "restart") {
      if (container.status !== "exited" && action === "start") return 304;
      container.status = "running";
      container.startedAt = now;
      this.emit(container, "start");
    } else if (action === "stop" || action === "kill") {
      if (container.status === "exited") return 304;
      container.status = "exited";
      container.finishedAt = now;
      this.emit(container, "kill");
      this.emit(container, "die");
      if (action === "stop") this.emit(container, "stop");
    } else if (action === "pause") {
      if (container.status !== "running") return 409;
      container.status = "paused";
      this.emit(container, "pause");
    } else if (action === "unpause") {
      if (container.status !== "paused") return 409;
      container.status = "running";
      this.emit(container, "unpause");
    } else {
      return 404;
    }
    return 204;
  }

  events(url: URL): Response {
    const until = url.searchParams.get("until");
    const once = url.searchParams.get("stream") === "false";
    if (until !== null || once) {
      // A bounded replay: the fake keeps no history.
      return new Response("", { headers: { "content-type": "application/json" } });
    }
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.streams.add(c);
      },
      cancel: () => void this.streams.delete(controller),
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  handle(request: Request): Response {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/v1\.\d+/, "");
    if (path === "/_bench/stats") {
      return Response.json({
        requests: this.requests,
        byRoute: this.byRoute,
        openEventStreams: this.streams.size,
      });
    }
    if (path === "/_bench/reset") {
      this.requests = 0;
      this.byRoute = {};
      return new Response(null, { status: 204 });
    }
    const json = (value: unknown, status = 200) => Response.json(value, { status });
    const missing = (id: string) => json({ message: `No such container: ${id}` }, 404);
    if (path === "/_ping") {
      this.count("ping");
      return new Response(request.method === "HEAD" ? null : "OK", {
        headers: { "api-version": "1.41", "content-type": "text/plain" },
      });
    }
    if (path === "/version") {
      this.count("version");
      return json({
        Version: "20.10.24",
        ApiVersion: "1.41",
        MinAPIVersion: "1.12",
        Os: "linux",
        Arch: "amd64",
        Components: [{ Name: "Engine", Version: "20.10.24" }],
      });
    }
    if (path === "/info") {
      this.count("info");
      return json({
        ID: "FAKE:ENGINE",
        Name: "fake",
        ServerVersion: "20.10.24",
        SystemTime: new Date().toISOString(),
        Containers: this.containers.size,
      });
    }
    if (path === "/events") {
      this.count("events");
      return this.events(url);
    }
    if (path === "/containers/json") {
      this.count("list");
      return json([...this.containers.values()].map((c) => this.summary(c)));
    }
    const match = /^\/containers\/([^/]+)\/([a-z]+)$/.exec(path);
    if (match) {
      const id = decodeURIComponent(match[1]);
      const container = this.find(id);
      if (match[2] === "json" && request.method === "GET") {
        this.count("inspect");
        return container ? json(this.inspect(container)) : missing(id);
      }
      if (request.method === "POST") {
        this.count(match[2]);
        if (!container) return missing(id);
        const status = this.power(container, match[2]);
        return new Response(null, { status });
      }
    }
    this.count("other");
    return json({ message: `page not found: ${path}` }, 404);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const engine = new FakeEngine(options.containers, options.state);
  try {
    await Deno.remove(options.socket);
  } catch {
    // absent: fine
  }
  const server = Deno.serve(
    { path: options.socket, onListen() {} },
    (request) => engine.handle(request),
  );
  console.log(JSON.stringify({
    ready: true,
    names: [`app-0`, `app-${options.containers - 1}`],
  }));
  Deno.addSignalListener("SIGTERM", () => {
    for (const controller of engine.streams) {
      try {
        controller.close();
      } catch {
        // already closed
      }
    }
    server.shutdown().then(() => Deno.exit(0));
  });
  await server.finished;
}

if (import.meta.main) await main();
