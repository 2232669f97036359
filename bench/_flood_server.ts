/**
 * A server that streams a 1 GiB body at whoever asks: a Docker daemon whose
 * inspect answer never ends well (chunked, 64 KiB chunks), on a unix
 * socket. Prints `{"socket": path}` once listening; stops when stdin closes.
 *
 *   deno run -A bench/_flood_server.ts
 *
 * @module
 */

const GIB = 1024 * 1024 * 1024;
const CHUNK = 64 * 1024;
const encoder = new TextEncoder();
const piece = new Uint8Array(CHUNK).fill(0x61);
const chunk = new Uint8Array([
  ...encoder.encode(`${CHUNK.toString(16)}\r\n`),
  ...piece,
  ...encoder.encode("\r\n"),
]);
const PING = encoder.encode(
  "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK",
);

const dir = await Deno.makeTempDir({ prefix: "flood-" });
const socket = `${dir}/flood.sock`;
const listener = Deno.listen({ transport: "unix", path: socket });

async function write(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    for (let written = 0; written < bytes.byteLength;) {
      written += await conn.write(bytes.subarray(written));
    }
    return true;
  } catch {
    return false;
  }
}

async function serve(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  let pending = "";
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      pending += new TextDecoder().decode(buffer.subarray(0, n));
      const end = pending.indexOf("\r\n\r\n");
      if (end === -1) continue;
      const line = pending.slice(0, pending.indexOf("\r\n"));
      pending = pending.slice(end + 4);
      if (line.includes("/_ping")) {
        if (!await write(conn, PING)) return;
        continue;
      }
      const head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n";
      if (!await write(conn, encoder.encode(head))) return;
      for (let sent = 0; sent < GIB; sent += CHUNK) {
        if (!await write(conn, chunk)) return;
      }
      if (!await write(conn, encoder.encode("0\r\n\r\n"))) return;
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the client.
    }
  }
}

(async () => {
  for await (const conn of listener) serve(conn);
})().catch(() => {});
console.log(JSON.stringify({ socket }));
for await (const _ of Deno.stdin.readable) {
  // Runs until the bench closes stdin.
}
listener.close();
await Deno.remove(dir, { recursive: true });
Deno.exit(0);
