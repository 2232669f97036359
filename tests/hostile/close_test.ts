/**
 * Nothing outlives close() or the caller's abort: for every call of both
 * runtimes, a script whose call is ended either way exits as soon as its
 * last await settles, with no timer or socket left to keep it alive.
 */

import assert from "node:assert/strict";
import { HostileServer, PING, pveGuestList, pveTls, respond } from "./_server.ts";

/** Answers what a provider needs to exist (Docker's ping, PVE's first status of each CT); ignores every other request. */
function silentDaemon() {
  return HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      if (request.path === "/_ping") await conn.write(PING);
    }
  });
}

/**
 * A PVE that answers each CT's first status. With `tasks`, it also starts a
 * task for each power call, a task that never ends (the call waits for it);
 * without, it never answers the power call itself.
 */
function silentPve(tls: { cert: string; key: string }, tasks: boolean) {
  const answered = new Set<string>();
  return HostileServer.tls(tls, async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      const guests = pveGuestList(request);
      if (guests) {
        await conn.write(guests);
        continue;
      }
      const ct = /\/lxc\/(\d+)\/status\/current/.exec(request.path)?.[1];
      if (request.method === "GET" && ct !== undefined && !answered.has(ct)) {
        answered.add(ct);
        const data = { vmid: Number(ct), name: `ct${ct}`, status: "stopped" };
        await conn.write(respond(200, JSON.stringify({ data })));
      } else if (tasks && request.method === "POST") {
        const upid = "UPID:pve:0000A1B2:0001C3D4:65700000:vzstart:101:idle@pve!watcher:";
        await conn.write(respond(200, JSON.stringify({ data: upid })));
      } else if (tasks && request.path.includes("/tasks/")) {
        await conn.write(respond(200, JSON.stringify({ data: { status: "running" } })));
      } else if (tasks && request.method === "GET") {
        const data = { vmid: 101, name: "ct", status: "stopped" };
        await conn.write(respond(200, JSON.stringify({ data })));
      }
    }
  });
}

/** Runs the child; how long it took to exit by itself, and what it printed. */
async function runChild(args: string[]) {
  const child = new URL("./_end_calls.ts", import.meta.url).pathname;
  const started = performance.now();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, ...args],
    stdout: "piped",
    stderr: "piped",
    // A timer left armed would keep the child alive 30 s (Docker) or 120 s (PVE).
    signal: AbortSignal.timeout(25_000),
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const text = new TextDecoder().decode(stdout).trim();
  return {
    code,
    seconds,
    stderr: new TextDecoder().decode(stderr),
    results: text ? JSON.parse(text) as Record<string, string> : {},
  };
}

const CALLS = ["start", "stop", "pause", "unpause", "kill", "status", "watch"];

Deno.test("Ending a call by close() or by its signal leaves nothing that keeps the process alive", async (t) => {
  const tls = await pveTls();
  const caFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(caFile, tls.ca);
  try {
    await using daemon = await silentDaemon();
    await using pve = silentPve(tls, false);
    await using busyPve = silentPve(tls, true);
    let firstVmid = 100;
    for (const runtime of ["docker", "proxmox", "proxmox with a task that never ends"]) {
      for (const mode of ["close", "signal"]) {
        await t.step(
          `${runtime}, ended by ${mode === "close" ? "close()" : "the signal"}`,
          async () => {
            const url = runtime === "docker"
              ? daemon.url
              : runtime === "proxmox"
              ? pve.url
              : busyPve.url;
            firstVmid += 100;
            const { code, seconds, stderr, results } = await runChild([
              runtime,
              mode,
              url,
              caFile,
              mode === "close" ? "101" : "201",
            ]);
            assert.equal(code, 0, `the child was killed or failed after ${seconds} s: ${stderr}`);
            assert.deepEqual(Object.keys(results), CALLS);
            for (const call of CALLS) {
              const outcome = results[call];
              if (call === "watch") assert.equal(outcome, "resolved watch ended");
              else if (call === "status" && runtime.includes("task")) continue;
              else if (mode === "signal") assert.equal(outcome, "the caller's reason", call);
              else assert.match(outcome, /^\w*Error: .*closed/, call);
            }
            // Startup plus 7 × 50 ms: far below any deadline a leftover timer would wait for.
            assert.ok(seconds < 15, `the child took ${seconds} s to exit`);
          },
        );
      }
    }
  } finally {
    await Deno.remove(caFile);
  }
});
