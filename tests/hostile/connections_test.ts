/**
 * Many concurrent calls: a bounded pool per daemon and per cluster, a queue
 * whose calls keep their own deadline and signal, and running out of file
 * descriptors reported as a ConnectionError, never a crash.
 */

import assert from "node:assert/strict";
import { Transport } from "../../docker/_transport.ts";
import { withoutFrames } from "../../_internal/http/dial.ts";
import { ConnectionError, TimeoutError } from "../../errors.ts";
import { CT_RUNNING, dockerAt, proxmoxAt } from "./_providers.ts";
import { HostileServer, inspect, PING, pveGuestList, pveTls, respond } from "./_server.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A daemon that answers each inspection after `ms`. */
function slowDaemon(ms: number) {
  return HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      if (request.path === "/_ping") await conn.write(PING);
      else {
        await delay(ms);
        await conn.write(inspect("running"));
      }
    }
  });
}

Deno.test("1,000 concurrent calls open at most maxConnections sockets", async (t) => {
  await t.step("Docker: the default of 32", async () => {
    await using server = await slowDaemon(5);
    using provider = dockerAt(server);
    const statuses = await Promise.all(
      Array.from({ length: 1_000 }, () => provider.containerStatus()),
    );
    assert.ok(statuses.every((status) => status === "running"));
    assert.ok(server.peakOpen <= 32, `the daemon saw ${server.peakOpen} sockets at once`);
    assert.ok(server.peakOpen >= 2, "the calls ran in parallel");
  });

  await t.step("Docker: a configured limit of 4, shared by the providers of a host", async () => {
    await using server = await slowDaemon(2);
    using one = dockerAt(server, { maxConnections: 4 });
    using two = dockerAt(server, { maxConnections: 4 });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? one : two).containerStatus()),
    );
    assert.ok(server.peakOpen <= 4, `the daemon saw ${server.peakOpen} sockets at once`);
  });

  await t.step("Proxmox over TLS: the default of 32", async () => {
    const tls = await pveTls();
    await using server = HostileServer.tls(tls, async (conn) => {
      while (await conn.readRequest() !== null) {
        await delay(5);
        await conn.write(respond(200, CT_RUNNING));
      }
    });
    using provider = await proxmoxAt(server, tls.ca);
    const statuses = await Promise.all(
      Array.from({ length: 1_000 }, () => provider.containerStatus()),
    );
    assert.ok(statuses.every((status) => status === "running"));
    assert.ok(server.peakOpen <= 32, `PVE saw ${server.peakOpen} sockets at once`);
  });
});

Deno.test("A call waiting for a connection keeps its own signal and deadline", async (t) => {
  await t.step("Docker: the caller's abort ends the wait with its reason", async () => {
    const hold = Promise.withResolvers<void>();
    await using server = await HostileServer.unix(async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.path === "/_ping") await conn.write(PING);
        else {
          await hold.promise;
          await conn.write(inspect("running"));
        }
      }
    });
    using provider = dockerAt(server, { maxConnections: 1 });
    const first = provider.containerStatus();
    await delay(50);
    const caller = new AbortController();
    const reason = new Error("gave up");
    const queued = provider.containerStatus({ signal: caller.signal });
    setTimeout(() => caller.abort(reason), 50);
    await assert.rejects(queued, (error) => error === reason);
    hold.resolve();
    assert.equal(await first, "running");
    assert.equal(server.accepted, 1);
  });

  await t.step("Proxmox: a queued request times out on its own deadline", async () => {
    const tls = await pveTls();
    const hold = Promise.withResolvers<void>();
    let requests = 0;
    await using server = HostileServer.tls(tls, async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        const guests = pveGuestList(request);
        if (guests) {
          await conn.write(guests);
          continue;
        }
        if (requests++ > 0) await hold.promise;
        await conn.write(respond(200, CT_RUNNING));
      }
    });
    try {
      using provider = await proxmoxAt(server, tls.ca, { maxConnections: 1, timeout: 0.3 });
      const first = provider.containerStatus().catch((error) => error);
      await delay(20);
      const started = performance.now();
      await assert.rejects(provider.containerStatus(), TimeoutError);
      assert.ok(await first instanceof TimeoutError);
      // Bounded by its own 0.3 s, not by the 30 s default, however long it queued.
      assert.ok(performance.now() - started < 5_000);
    } finally {
      hold.resolve();
    }
  });
});

/** Runs the flood child under `ulimit -n <fds>`; its report, exit code and stderr. */
async function floodUnderUlimit(args: string[], fds: number) {
  const child = new URL("./_flood_calls.ts", import.meta.url).pathname;
  const command = new Deno.Command("bash", {
    args: ["-c", `ulimit -n ${fds} && exec "$0" run -A "$@"`, Deno.execPath(), child, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
  const { code, stdout, stderr } = await command.output();
  const text = new TextDecoder().decode(stdout).trim();
  return {
    code,
    stderr: new TextDecoder().decode(stderr),
    report: text
      ? JSON.parse(text.split("\n").at(-1)!) as {
        outcomes: Record<string, number>;
        samples: Record<string, { message: string; stack: string; code: unknown }>;
      }
      : undefined,
  };
}

Deno.test("Running out of file descriptors is an error for the calls it hits, never a crash", async (t) => {
  await using server = await slowDaemon(100);

  await t.step("600 calls under ulimit -n 64 with the default pool all succeed", async () => {
    const { code, stderr, report } = await floodUnderUlimit(["provider", server.url, "600"], 64);
    assert.equal(code, 0, stderr);
    assert.deepEqual(report?.outcomes, { running: 600 });
  });

  await t.step("a pool of 1,000 under ulimit -n 64: the calls past the limit reject", async () => {
    const { code, stderr, report } = await floodUnderUlimit(
      ["http", server.url, "600", "1000"],
      64,
    );
    assert.equal(code, 0, stderr);
    const { outcomes, samples } = report!;
    assert.deepEqual(Object.keys(outcomes).sort(), ["200", "Error"]);
    assert.equal(outcomes["200"] + outcomes.Error, 600);
    assert.equal(samples.Error.code, "EMFILE");
    // No frames: Deno cannot render the frames of a TypeScript error while out of descriptors.
    assert.equal(samples.Error.stack, `Error: ${samples.Error.message}`);
  });
});

Deno.test("Transport.transportError() makes running out of descriptors a frameless ConnectionError", () => {
  const host = { transport: "unix" as const, path: "/x.sock", url: "unix:///x.sock", basePath: "" };
  const quiet = { debug() {}, error() {} };
  const transport = new Transport(host, { transport: "unix", path: "/x.sock" }, quiet);
  try {
    const emfile = withoutFrames(Object.assign(new Error("Too many open files (os error 24)"), {
      code: "EMFILE",
    }));
    const error = transport.transportError(emfile, {
      context: { action: "status", container: "web", logger: quiet },
    });
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /Too many open files/);
    assert.equal(error.stack, `ConnectionError: ${error.message}`);
    assert.equal(error.cause, emfile);
  } finally {
    transport.close();
  }
});
