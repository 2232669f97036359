/**
 * The floor of the ready-path benchmark: a bare `Deno.serve` hello world on a
 * free loopback port, in its own process. Prints `{"ready":true,"port":N}`.
 * With `--bytes N` it answers N bytes of HTML instead (a floor with the
 * loading page's size).
 *
 *   deno run -A bench/_hello_server.ts [--bytes N]
 *
 * @module
 */

const bytes = Deno.args[0] === "--bytes" ? Number(Deno.args[1]) : 0;
const body = bytes > 0 ? `<!DOCTYPE html>${"x".repeat(Math.max(0, bytes - 15))}` : "hello world";
const type = bytes > 0 ? "text/html; charset=utf-8" : "text/plain";
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response(body, { headers: { "content-type": type } }),
);
console.log(JSON.stringify({ ready: true, port: server.addr.port }));
Deno.addSignalListener("SIGTERM", () => server.shutdown().then(() => Deno.exit(0)));
await server.finished;
