/**
 * The test suite's fake PVE (tests/_fakes/pve) in a process of its own, driven
 * by JSON lines on stdin, so that the client under test does not share its
 * event loop:
 *
 *   deno run -A bench/_fake_pve_server.ts '{"taskDurationMs":1000}'
 *
 * The argument is the fake's options. It prints
 * `{"ready":true,"url":...,"caCert":...,"tokenId":...,"secret":...}` once it
 * listens, then answers one JSON line per command:
 *
 * - `{"cmd":"addCts","nodes":["pve"],"from":1000,"count":500}`: adds the nodes (once)
 *   and CTs `from`..`from+count-1` (CT `from+i` on node `i mod nodes`), every other one running
 * - `{"cmd":"addVms","nodes":["pve"],"from":1500,"count":250}`: the same with QEMU VMs
 * - `{"cmd":"setStatus","vmid":1000,"status":"running"}`: flips a CT or a VM at once
 * - `{"cmd":"requests","reset":true}`: the requests received since the last reset,
 *   counted by kind
 * - `{"cmd":"set","field":"taskDurationMs","value":1000}`: changes a knob
 * - `{"cmd":"settled"}`: waits until no task runs
 *
 * @module
 */

import { type FakePveOptions, startFakePve } from "../tests/_fakes/pve/mod.ts";
import { lineSplitter } from "./_harness.ts";

const TOKEN_ID = "bench@pve!bench";
const SECRET = "bench-secret";

/** The kind of a request path, for counting. */
function kind(method: string, path: string): string {
  const rel = path.replace(/^\/api2\/json/, "");
  if (/^\/nodes\/[^/]+\/lxc$/.test(rel)) return "list";
  if (/^\/nodes\/[^/]+\/qemu$/.test(rel)) return "vm-list";
  if (rel === "/cluster/resources") return "resources";
  if (/\/status\/current$/.test(rel)) return "status";
  if (/\/tasks\/[^/]+\/status$/.test(rel)) return "task-status";
  if (/^\/nodes\/[^/]+\/tasks$/.test(rel)) return "task-list";
  if (method === "POST" && /\/status\/[a-z]+$/.test(rel)) return "action";
  return "other";
}

async function serve(options: FakePveOptions): Promise<void> {
  await using fake = await startFakePve({ authDelayMs: 10, ...options });
  fake.addToken(TOKEN_ID, SECRET);
  const nodes = new Set<string>();
  console.log(JSON.stringify({
    ready: true,
    url: fake.url,
    caCert: fake.caCert,
    tokenId: TOKEN_ID,
    secret: SECRET,
  }));
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
    lineSplitter(),
  );
  for await (const line of lines) {
    if (!line.trim()) continue;
    const command = JSON.parse(line) as Record<string, unknown>;
    let answer: Record<string, unknown> = { ok: true };
    switch (command.cmd) {
      case "addCts":
      case "addVms": {
        const names = command.nodes as string[];
        for (const node of names.filter((name) => !nodes.has(name))) {
          fake.addNode(node);
          nodes.add(node);
        }
        const from = command.from as number;
        for (let i = 0; i < (command.count as number); i++) {
          const status = i % 2 ? "running" : "stopped";
          if (command.cmd === "addVms") {
            fake.addVm(names[i % names.length], from + i, { name: `vm-${from + i}`, status });
          } else {
            fake.addCt(names[i % names.length], from + i, { name: `ct-${from + i}`, status });
          }
        }
        break;
      }
      case "setStatus": {
        const vmid = command.vmid as number;
        const status = command.status as "running" | "stopped";
        if (fake.vm(vmid)) fake.setVm(vmid, { status });
        else fake.setCt(vmid, { status });
        break;
      }
      case "requests": {
        const byKind: Record<string, number> = {};
        for (const request of fake.requests) {
          const k = kind(request.method, request.path);
          byKind[k] = (byKind[k] ?? 0) + 1;
        }
        answer = { count: fake.requests.length, byKind };
        if (command.reset) fake.resetRequests();
        break;
      }
      case "set":
        (fake as unknown as Record<string, unknown>)[command.field as string] = command.value;
        break;
      case "settled":
        await fake.tasksSettled();
        break;
      default:
        answer = { ok: false, error: `unknown command ${String(command.cmd)}` };
    }
    console.log(JSON.stringify(answer));
  }
}

if (import.meta.main) await serve(JSON.parse(Deno.args[0] ?? "{}") as FakePveOptions);
