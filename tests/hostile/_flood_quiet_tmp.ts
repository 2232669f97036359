/**
 * Child process of the connection-limit cases: makes COUNT concurrent
 * `containerStatus()` calls on a Docker provider at URL (with MAX
 * connections, or the default when MAX is empty) and prints one JSON line
 * counting the outcomes by error name. Run under a low `ulimit -n` to see
 * how running out of descriptors is reported.
 */

import { newDockerProvider } from "../../docker/mod.ts";

const [url, count, max] = Deno.args;
const provider = newDockerProvider(
  { url, maxConnections: max ? Number(max) : undefined, logger: { debug() {}, error() {} } },
  "web",
);
const outcomes: Record<string, number> = {};
const samples: Record<string, string> = {};
await Promise.all(
  Array.from({ length: Number(count) }, () =>
    provider.containerStatus().then(
      (status) => {
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      },
      (error: Error) => {
        const name = error?.name ?? typeof error;
        outcomes[name] = (outcomes[name] ?? 0) + 1;
        samples[name] ??= String(error?.message);
      },
    )),
);
provider.close();
await new Promise((r) => setTimeout(r, 200));
console.error("fds", [...Deno.readDirSync("/proc/self/fd")].length);
console.log(JSON.stringify({ outcomes, samples }));
