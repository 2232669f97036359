/**
 * A fast fake Docker engine for the benchmarks, run as its own process so that
 * the client under test does not share its event loop:
 *
 *   deno run -A bench/_fake_engine.ts --socket PATH [--events N] [--containers M]
 *     [--watched-every W] [--chunk-bytes B]
 *
 * It prints one JSON line on stdout once it listens:
 * `{"ready":true,"watchedId":"<64 hex>","events":N,"watchedEvents":K,"streamBytes":S}`.
 *
 * Routes (with or without a `/v1.41` prefix):
 * - `GET|HEAD /_ping`: `OK`, `API-Version: 1.41`
 * - `GET /containers/{id or name}/json`: a realistic inspect of a running container
 * - `POST /containers/{id}/{start,stop,kill,pause,unpause}`: 204
 * - `GET /events`: N realistic event lines of M containers (every W-th, and the
 *   last, is the watched container's), written in chunks of B bytes with chunked
 *   transfer-encoding like dockerd, then held open until the client leaves; with
 *   `until` (a bounded replay), an empty answer: the fake keeps no history
 * - `GET /_bench/stats`: `{"eventsOpen","eventsPeak","eventsRequests","requests"}`
 *
 * @module
 */

const API_VERSION = "1.41";

interface Options {
  socket: string;
  events: number;
  containers: number;
  watchedEvery: number;
  chunkBytes: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    socket: "",
    events: 0,
    containers: 50,
    watchedEvery: 50,
    chunkBytes: 65536,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (name === "--socket") options.socket = value;
    else if (name === "--events") options.events = Number(value);
    else if (name === "--containers") options.containers = Number(value);
    else if (name === "--watched-every") options.watchedEvery = Number(value);
    else if (name === "--chunk-bytes") options.chunkBytes = Number(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.socket) throw new Error("--socket is required");
  return options;
}

/** The deterministic 64-hex id of a container name (what the inspect and events report). */
export async function containerId(name: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The name of the watched container. */
export const WATCHED_NAME = "shop-web-1";

const IMAGES = ["nginx:1.25-alpine", "postgres:16", "redis:7-alpine", "ghcr.io/acme/api:2.4.1"];
const OTHER_ACTIONS = [
  "exec_create: /bin/sh -c curl -fsS http://localhost/health",
  "exec_start: /bin/sh -c curl -fsS http://localhost/health",
  "exec_die",
  "health_status: healthy",
  "start",
  "die",
  "stop",
  "kill",
  "create",
  "destroy",
  "attach",
  "resize",
];
const WATCHED_ACTIONS = ["start", "pause", "unpause", "kill", "die", "stop"];

interface Container {
  id: string;
  name: string;
  image: string;
  attributes: Record<string, string>;
}

async function makeContainer(name: string, index: number): Promise<Container> {
  const id = await containerId(name);
  const image = IMAGES[index % IMAGES.length];
  const project = name.split("-")[0];
  // Half the containers are Compose services (with Compose's labels), half plain ones.
  const compose: Record<string, string> = index % 2 === 0
    ? {
      "com.docker.compose.config-hash": await containerId(`${name}-config`),
      "com.docker.compose.container-number": "1",
      "com.docker.compose.oneoff": "False",
      "com.docker.compose.project": project,
      "com.docker.compose.service": name.split("-")[1] ?? "app",
      "com.docker.compose.version": "2.24.5",
    }
    : { "maintainer": "ops@example.com" };
  return { id, name, image, attributes: { ...compose, image, name } };
}

/** An event line up to its `"time":` field; the stamp is written per event, as dockerd does. */
function eventPrefix(container: Container, action: string): string {
  const attributes: Record<string, string> = { ...container.attributes };
  if (action === "die") attributes.exitCode = "0";
  if (action === "kill") attributes.signal = "15";
  if (action.startsWith("exec_")) attributes.execID = container.id.slice(0, 32) + "0".repeat(32);
  const line = JSON.stringify({
    status: action.split(":")[0],
    id: container.id,
    from: container.image,
    Type: "container",
    Action: action,
    Actor: { ID: container.id, Attributes: attributes },
    scope: "local",
    time: 0,
    timeNano: 0,
  });
  return line.slice(0, line.lastIndexOf('"time":') + '"time":'.length);
}

/** The bytes after the prefix: `<seconds>,"timeNano":<nanoseconds>}` and a newline. */
const SUFFIX_BYTES = 10 + ',"timeNano":'.length + 19 + 2;

/**
 * Builds the event stream: lines of other containers (a pool of templates)
 * and, every W-th and last, the watched container's. Each line gets its own
 * increasing `timeNano` (1 µs apart, from the time the flood starts), so no
 * two lines are alike, as on a real daemon.
 */
async function makeEvents(options: Options) {
  const containers: Container[] = [];
  for (let i = 0; i < options.containers; i++) {
    const name = i === 0 ? WATCHED_NAME : `proj${i % 7}-svc${i}-1`;
    containers.push(await makeContainer(name, i));
  }
  const encoder = new TextEncoder();
  const pool: Uint8Array[] = [];
  for (let i = 0; i < 4096; i++) {
    const container = containers[1 + (i * 7) % (containers.length - 1)];
    pool.push(
      encoder.encode(eventPrefix(container, OTHER_ACTIONS[(i * 5) % OTHER_ACTIONS.length])),
    );
  }
  const watched = WATCHED_ACTIONS.map((action) =>
    encoder.encode(eventPrefix(containers[0], action))
  );
  const isWatched = (i: number) =>
    i === options.events - 1 || i % options.watchedEvery === options.watchedEvery - 1;
  let watchedEvents = 0;
  let streamBytes = 0;
  for (let i = 0, w = 0; i < options.events; i++) {
    const prefix = isWatched(i)
      ? (watchedEvents++, watched[w++ % watched.length])
      : pool[i % pool.length];
    streamBytes += prefix.length + SUFFIX_BYTES;
  }
  /** The lines of one flood; each yielded view is valid until the next one is asked for. */
  function* lines(): Generator<Uint8Array> {
    const scratch = new Uint8Array(64 * 1024);
    let seconds = Math.floor(Date.now() / 1000);
    let nanos = 0;
    for (let i = 0, w = 0; i < options.events; i++) {
      const prefix = isWatched(i) ? watched[w++ % watched.length] : pool[i % pool.length];
      scratch.set(prefix);
      const fraction = String(nanos).padStart(9, "0");
      const { written } = encoder.encodeInto(
        `${seconds},"timeNano":${seconds}${fraction}}\n`,
        scratch.subarray(prefix.length),
      );
      yield scratch.subarray(0, prefix.length + written);
      nanos += 1000;
      if (nanos >= 1e9) {
        nanos = 0;
        seconds++;
      }
    }
  }
  return { watchedId: containers[0].id, watchedEvents, streamBytes, lines };
}

function inspectBody(id: string, name: string): string {
  return JSON.stringify({
    Id: id,
    Created: "2026-11-20T10:00:00.000000000Z",
    Path: "/docker-entrypoint.sh",
    Args: ["nginx", "-g", "daemon off;"],
    State: {
      Status: "running",
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 4242,
      ExitCode: 0,
      Error: "",
      StartedAt: "2026-11-28T09:00:00.000000000Z",
      FinishedAt: "0001-01-01T00:00:00Z",
    },
    Image: `sha256:${id.split("").reverse().join("")}`,
    ResolvConfPath: `/var/lib/docker/containers/${id}/resolv.conf`,
    HostnamePath: `/var/lib/docker/containers/${id}/hostname`,
    HostsPath: `/var/lib/docker/containers/${id}/hosts`,
    LogPath: `/var/lib/docker/containers/${id}/${id}-json.log`,
    Name: `/${name}`,
    RestartCount: 0,
    Driver: "overlay2",
    Platform: "linux",
    HostConfig: {
      NetworkMode: "bridge",
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] },
      Memory: 0,
      CpuShares: 0,
      Ulimits: null,
    },
    Config: {
      Hostname: id.slice(0, 12),
      Env: [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "NGINX_VERSION=1.25.3",
      ],
      Cmd: ["nginx", "-g", "daemon off;"],
      Image: "nginx:1.25-alpine",
      Labels: {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "web",
        "proxy.aliases": "shop",
        "proxy.idle_timeout": "15m",
      },
      StopSignal: "SIGQUIT",
    },
    NetworkSettings: {
      Bridge: "",
      Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] },
      Networks: {
        bridge: {
          NetworkID: id.slice(0, 64),
          EndpointID: id.slice(1) + "0",
          Gateway: "172.17.0.1",
          IPAddress: "172.17.0.2",
          IPPrefixLen: 16,
          MacAddress: "02:42:ac:11:00:02",
        },
      },
    },
  });
}

const ENGINE_HEADERS = {
  "api-version": API_VERSION,
  "docker-experimental": "false",
  "ostype": "linux",
  "server": "Docker/20.10.24 (linux)",
};

async function serve(options: Options): Promise<void> {
  const events = await makeEvents(options);
  const stats = {
    eventsOpen: 0,
    eventsPeak: 0,
    eventsRequests: 0,
    requests: {} as Record<string, number>,
  };
  const count = (route: string) => stats.requests[route] = (stats.requests[route] ?? 0) + 1;
  const inspectCache = new Map<string, string>();

  const eventStream = (): ReadableStream<Uint8Array> => {
    const lines = events.lines();
    let carry: Uint8Array | undefined;
    let open = true;
    let done = false;
    const closeOnce = () => {
      if (open) {
        open = false;
        stats.eventsOpen--;
      }
    };
    stats.eventsOpen++;
    stats.eventsRequests++;
    stats.eventsPeak = Math.max(stats.eventsPeak, stats.eventsOpen);
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (done) return new Promise<void>(() => {}); // held open, like dockerd
        const chunk = new Uint8Array(options.chunkBytes);
        let filled = 0;
        while (filled < chunk.length) {
          const line = carry ?? lines.next().value;
          carry = undefined;
          if (!line) {
            done = true;
            break;
          }
          const room = chunk.length - filled;
          if (line.length <= room) {
            chunk.set(line, filled);
            filled += line.length;
          } else {
            chunk.set(line.subarray(0, room), filled);
            filled += room;
            carry = line.subarray(room);
          }
        }
        if (filled > 0) controller.enqueue(chunk.subarray(0, filled));
      },
      cancel: closeOnce,
    }, { highWaterMark: 0 });
  };

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/v1\.\d+/, "");
    if (request.body) await request.body.cancel();
    if (path === "/_ping") {
      count("ping");
      return new Response(request.method === "HEAD" ? null : "OK", {
        headers: { ...ENGINE_HEADERS, "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (path === "/_bench/stats") return Response.json(stats);
    if (path === "/events" && url.searchParams.has("until")) {
      // A bounded replay (a client resuming): this fake keeps no history.
      count("events-replay");
      return new Response("", {
        headers: { ...ENGINE_HEADERS, "content-type": "application/json" },
      });
    }
    if (path === "/events") {
      count("events");
      return new Response(eventStream(), {
        headers: { ...ENGINE_HEADERS, "content-type": "application/json" },
      });
    }
    const match = path.match(/^\/containers\/([^/]+)\/(json|start|stop|kill|pause|unpause)$/);
    if (match) {
      const [, ref, action] = match;
      count(action);
      if (action === "json" && request.method === "GET") {
        let body = inspectCache.get(ref);
        if (!body) {
          const id = /^[0-9a-f]{64}$/.test(ref) ? ref : await containerId(ref);
          const name = ref === events.watchedId ? WATCHED_NAME : ref;
          body = inspectBody(id, name);
          inspectCache.set(ref, body);
        }
        return new Response(body, {
          headers: { ...ENGINE_HEADERS, "content-type": "application/json" },
        });
      }
      if (request.method === "POST") {
        return new Response(null, { status: 204, headers: ENGINE_HEADERS });
      }
    }
    count("other");
    return Response.json({ message: "page not found" }, { status: 404, headers: ENGINE_HEADERS });
  };

  try {
    await Deno.remove(options.socket);
  } catch { /* not there */ }
  const server = Deno.serve({
    path: options.socket,
    onListen: () => {
      console.log(JSON.stringify({
        ready: true,
        watchedId: events.watchedId,
        watchedName: WATCHED_NAME,
        events: options.events,
        watchedEvents: events.watchedEvents,
        streamBytes: events.streamBytes,
      }));
    },
    onError: (error) => {
      console.error(`fake engine: ${error}`);
      return new Response("internal error", { status: 500 });
    },
  }, handler);
  await server.finished;
}

if (import.meta.main) await serve(parseOptions(Deno.args));
