/**
 * The client side of the body-memory benchmark, in a fresh process: the
 * idle RSS after a warm-up, then the peak RSS (sampled every 5 ms) while the
 * server at SOCKET streams 1 GiB at one call. Prints one JSON line.
 *
 *   deno run -A bench/_body_memory_client.ts <socket> <read|status>
 *
 * read:   HttpClient.request() and read() to the end of the 1 GiB body.
 * status: DockerProvider.containerStatus(), whose answer is refused at 4 MiB.
 *
 * @module
 */

import { HttpClient } from "../_internal/http/client.ts";
import { newDockerProvider } from "../docker/mod.ts";

const [socket, mode] = Deno.args;
const gc = (globalThis as { gc?: () => void }).gc;

async function sample<T>(work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
  try {
    const result = await work();
    peak = Math.max(peak, Deno.memoryUsage().rss);
    return { peak, result };
  } finally {
    clearInterval(timer);
  }
}

let outcome: string;
let bytes = 0;
let baseline: number;
let peak: number;
const started = performance.now();
if (mode === "read") {
  using client = new HttpClient({ target: { transport: "unix", path: socket } });
  const warm = await client.request({ method: "GET", path: "/_ping" });
  await warm.bytes();
  gc?.();
  baseline = Deno.memoryUsage().rss;
  const run = await sample(async () => {
    const response = await client.request({ method: "GET", path: "/flood" });
    for (let piece; (piece = await response.read()) !== null;) bytes += piece.byteLength;
    return "read to the end";
  });
  peak = run.peak;
  outcome = run.result;
} else {
  const quiet = { debug() {}, error() {} };
  using provider = newDockerProvider({ url: `unix://${socket}`, logger: quiet }, "web");
  await provider.containerStatus().catch(() => {}); // Warm: modules, version, one refusal.
  gc?.();
  baseline = Deno.memoryUsage().rss;
  const run = await sample(() =>
    provider.containerStatus().then(
      (status) => `resolved ${status}`,
      (error: Error) => `${error.name}: ${error.message.replace(/^.*: the answer/, "the answer")}`,
    )
  );
  peak = run.peak;
  outcome = run.result;
}
console.log(JSON.stringify({
  mode,
  baseline,
  peak,
  bytes,
  outcome,
  seconds: (performance.now() - started) / 1000,
}));
