/**
 * Watches against servers that misbehave on purpose: a Docker events stream
 * closed right after each line, and a PVE cluster that names a node `..`.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../errors.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";
import { dockerAt, SECRET, TOKEN_ID } from "./_providers.ts";
import { HostileServer, inspect, PING, pveTls, respond } from "./_server.ts";

Deno.test("A Docker events stream closed after each line is reconnected to ever more slowly", async () => {
  const opens: number[] = [];
  await using server = await HostileServer.unix(async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      if (request.path.endsWith("/_ping")) await conn.write(PING);
      else if (request.path.startsWith("/v1.41/info")) {
        await conn.write(respond(200, JSON.stringify({ SystemTime: new Date().toISOString() })));
      } else if (request.path.startsWith("/v1.41/containers/")) await conn.write(inspect());
      else if (request.path.startsWith("/v1.41/events")) {
        opens.push(performance.now());
        const line = JSON.stringify({
          Type: "container",
          Action: "exec_create: sh",
          Actor: { ID: "c0ffee", Attributes: {} },
          time: Math.floor(Date.now() / 1000),
          timeNano: Date.now() * 1e6,
        });
        await conn.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${line}\n`,
        );
        return;
      } else await conn.write(respond(404, '{"message":"no"}'));
    }
  });
  using provider = dockerAt(server, { logger: { debug() {}, error() {} } });
  const controller = new AbortController();
  const { events, errors } = provider.watch({ signal: controller.signal });
  const draining = Promise.all([
    events.pipeTo(new WritableStream()).catch(() => {}),
    errors.pipeTo(new WritableStream()).catch(() => {}),
  ]);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  controller.abort();
  await draining;
  // Waits of at least 50, 100, 200, 400, 800 ms (100 ms doubling, up to half off
  // at random): at most 6 opens in 2 s. A backoff that started over at each
  // open made about 26.
  assert.ok(opens.length >= 2, `the stream was opened ${opens.length} times`);
  assert.ok(opens.length <= 7, `the stream was opened ${opens.length} times in 2 s`);
  const gaps = opens.slice(1).map((at, i) => at - opens[i]);
  assert.ok(gaps.at(-1)! > gaps[0], `the waits did not grow: ${gaps.map(Math.round)}`);
});

Deno.test("A node name PVE sends is checked before it goes into a path", async () => {
  const tls = await pveTls();
  const paths: string[] = [];
  await using server = HostileServer.tls(tls, async (conn) => {
    for (let request; (request = await conn.readRequest()) !== null;) {
      paths.push(request.path);
      if (request.path.startsWith("/api2/json/cluster/resources")) {
        const data = [{ vmid: 101, type: "lxc", node: "..", status: "running" }];
        await conn.write(respond(200, JSON.stringify({ data })));
      } else await conn.write(respond(200, JSON.stringify({ data: null })));
    }
  });
  await assert.rejects(
    newProxmoxProvider("", 101, {
      config: { url: server.url, tokenId: TOKEN_ID, secret: SECRET, caCerts: [tls.ca] },
    }),
    (error) => {
      assert.ok(error instanceof ProviderError);
      assert.match(error.message, /node "\.\.", which is not a node name/);
      return true;
    },
  );
  assert.deepEqual(paths, ["/api2/json/cluster/resources?type=vm"]);
});
