/**
 * Child process of the connection-limit cases: makes COUNT concurrent calls
 * to the daemon at URL and prints one JSON line counting the outcomes by
 * error name. Run under a low `ulimit -n` to see how running out of
 * descriptors is reported.
 *
 *   deno run -A _flood_calls.ts provider <url> <count> [maxConnections]
 *     containerStatus() calls on a Docker provider
 *   deno run -A _flood_calls.ts http <url> <count> <maxConnections>
 *     inspect requests on a bare HttpClient
 */

import { HttpClient } from "../../_internal/http/client.ts";
import { newDockerProvider } from "../../docker/mod.ts";

const [layer, url, count, max] = Deno.args;
const maxConnections = max ? Number(max) : undefined;
const outcomes: Record<string, number> = {};
const samples: Record<string, { message: string; stack: string; code: unknown }> = {};

function record(outcome: string, error?: Error & { code?: unknown }): void {
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  if (error === undefined || samples[outcome] !== undefined) return;
  // Its stack is read at the end, with every descriptor free again.
  samples[outcome] = { message: error.message, stack: "", code: error.code };
  sampleErrors.set(outcome, error);
}
const sampleErrors = new Map<string, Error>();

if (layer === "provider") {
  const provider = newDockerProvider({ url, maxConnections }, "web");
  await Promise.all(
    Array.from({ length: Number(count) }, () =>
      provider.containerStatus().then(
        (status) => record(status),
        (error) => record(error?.name ?? typeof error, error),
      )),
  );
  provider.close();
} else {
  const path = url.replace(/^unix:\/\//, "");
  const client = new HttpClient({ target: { transport: "unix", path }, maxConnections });
  await Promise.all(
    Array.from({ length: Number(count) }, async () => {
      try {
        const response = await client.request({
          method: "GET",
          path: "/v1.41/containers/web/json",
        });
        await response.bytes();
        record(String(response.status));
      } catch (error) {
        record((error as Error)?.name ?? typeof error, error as Error);
      }
    }),
  );
  client.close();
}
for (const [outcome, error] of sampleErrors) samples[outcome].stack = String(error.stack);
console.log(JSON.stringify({ outcomes, samples }));
