/**
 * The floor of the ready-path benchmark: a bare `Deno.serve` hello world on a
 * free loopback port, in its own process. Prints `{"ready":true,"port":N}`.
 *
 *   deno run -A bench/_hello_server.ts
 *
 * @module
 */

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response("hello world", { headers: { "content-type": "text/plain" } }),
);
console.log(JSON.stringify({ ready: true, port: server.addr.port }));
Deno.addSignalListener("SIGTERM", () => server.shutdown().then(() => Deno.exit(0)));
await server.finished;
