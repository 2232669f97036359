/**
 * Child process of the "nothing outlives close()" cases. For each call of
 * a provider, against a server that never answers it: starts the call,
 * ends it after 50 ms by `close()` or by the caller's signal, and records
 * how it settled. Prints one JSON line, then returns: the process must exit
 * by itself, at once, with no timer or socket left.
 *
 *   deno run -A _end_calls.ts <docker|proxmox> <close|signal> <url> [ca file] [first vmid]
 */

import { newDockerProvider } from "../../docker/mod.ts";
import type { Provider } from "../../provider.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";

const [runtime, mode, url, caFile, firstVmid] = Deno.args;
const quiet = { debug() {}, error() {} };
const CALLS = ["start", "stop", "pause", "unpause", "kill", "status", "watch"] as const;

async function open(vmid: number): Promise<Provider> {
  if (runtime === "docker") return newDockerProvider({ url, logger: quiet }, "web");
  return await newProxmoxProvider("pve", vmid, {
    config: {
      url,
      tokenId: "idle@pve!watcher",
      secret: "0d5e7c4a-1b2f-4e3d-9a8b-7c6d5e4f3a21",
      caCerts: [await Deno.readTextFile(caFile)],
      logger: quiet,
    },
  });
}

async function run(provider: Provider, call: typeof CALLS[number], signal: AbortSignal) {
  const options = { signal };
  switch (call) {
    case "start":
      return await provider.containerStart(options);
    case "stop":
      return await provider.containerStop("SIGTERM", 10, options);
    case "pause":
      return await provider.containerPause(options);
    case "unpause":
      return await provider.containerUnpause(options);
    case "kill":
      return await provider.containerKill("SIGKILL", options);
    case "status":
      return await provider.containerStatus(options);
    case "watch": {
      const { events, errors } = provider.watch(options);
      errors.pipeTo(new WritableStream()).catch(() => {});
      for await (const _ of events) {
        // Ended by the close or the abort.
      }
      return "watch ended";
    }
  }
}

const results: Record<string, string> = {};
let vmid = Number(firstVmid ?? 101);
for (const call of CALLS) {
  const provider = await open(vmid++);
  const caller = new AbortController();
  const reason = new Error("the caller gave up");
  const settled = run(provider, call, caller.signal).then(
    (value) => `resolved ${String(value)}`,
    (error) => error === reason ? "the caller's reason" : `${error?.name}: ${error?.message}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (mode === "close") provider.close();
  else caller.abort(reason);
  results[call] = await settled;
  console.error(`${call}: ${results[call]}`);
  provider.close();
}
console.log(JSON.stringify(results));
