/**
 * HttpClient against fetch over a unix socket:
 * - sequential small GETs to a `Deno.serve({ path })` server;
 * - reading a chunked stream of small events (one HTTP chunk per event, as
 *   Docker's /events sends them) from a raw server.
 *
 * Run: deno bench -A bench/http_client_bench.ts
 */

import { HttpClient } from "../_internal/http/client.ts";

const EVENTS = 10_000;
const dir = Deno.makeTempDirSync();

// Small GETs.
const servePath = `${dir}/serve.sock`;
const server = Deno.serve(
  { path: servePath, onListen() {} },
  () => new Response('{"ok":true}', { headers: { "content-type": "application/json" } }),
);
server.unref();

// An event stream: one chunk per event, then the end of the body.
const eventsPath = `${dir}/events.sock`;
const event = JSON.stringify({
  Type: "container",
  Action: "start",
  Actor: { ID: "a".repeat(64), Attributes: { name: "web", image: "nginx" } },
  time: 1700000000,
}) + "\n";
const eventChunk = `${event.length.toString(16)}\r\n${event}\r\n`;
const eventsResponse = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" +
    eventChunk.repeat(EVENTS) + "0\r\n\r\n",
);
const listener = Deno.listen({ transport: "unix", path: eventsPath });
listener.unref();
(async () => {
  for await (const conn of listener) {
    (async () => {
      const buffer = new Uint8Array(16 * 1024);
      try {
        while (await conn.read(buffer) !== null) {
          for (let written = 0; written < eventsResponse.length;) {
            written += await conn.write(eventsResponse.subarray(written));
          }
        }
      } catch {
        // The client went away.
      } finally {
        conn.close();
      }
    })();
  }
})();

const serveClient = new HttpClient({ target: { transport: "unix", path: servePath } });
const eventsClient = new HttpClient({ target: { transport: "unix", path: eventsPath } });
const serveFetch = Deno.createHttpClient({ proxy: { transport: "unix", path: servePath } });
const eventsFetch = Deno.createHttpClient({ proxy: { transport: "unix", path: eventsPath } });

Deno.bench("HttpClient: small GET", { group: "get", baseline: true }, async () => {
  const response = await serveClient.request({ method: "GET", path: "/_ping" });
  await response.json();
});

Deno.bench("fetch: small GET", { group: "get" }, async () => {
  const response = await fetch("http://docker/_ping", { client: serveFetch });
  await response.json();
});

Deno.bench(
  `HttpClient: ${EVENTS} chunked events`,
  { group: "events", baseline: true },
  async () => {
    const response = await eventsClient.request({ method: "GET", path: "/events" });
    let bytes = 0;
    for (let piece; (piece = await response.read()) !== null;) bytes += piece.byteLength;
    if (bytes !== event.length * EVENTS) throw new Error(`read ${bytes} bytes`);
  },
);

Deno.bench(`fetch: ${EVENTS} chunked events`, { group: "events" }, async () => {
  const response = await fetch("http://docker/events", { client: eventsFetch });
  let bytes = 0;
  for await (const piece of response.body!) bytes += piece.byteLength;
  if (bytes !== event.length * EVENTS) throw new Error(`read ${bytes} bytes`);
});

globalThis.addEventListener("unload", () => {
  serveClient.close();
  eventsClient.close();
  serveFetch.close();
  eventsFetch.close();
  Deno.removeSync(dir, { recursive: true });
});
