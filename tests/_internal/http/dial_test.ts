import assert from "node:assert/strict";
import { describeTarget, dial } from "../../../_internal/http/dial.ts";
import { HttpClient } from "../../../_internal/http/client.ts";
import { makeTestCertificates } from "./_tls.ts";

Deno.test("describeTarget() names the target without key material", () => {
  assert.equal(
    describeTarget({ transport: "unix", path: "/var/run/docker.sock" }),
    "unix:///var/run/docker.sock",
  );
  assert.equal(
    describeTarget({ transport: "tcp", hostname: "docker.local", port: 2375 }),
    "tcp://docker.local:2375",
  );
  assert.equal(
    describeTarget({ transport: "tcp", hostname: "::1", port: 2375 }),
    "tcp://[::1]:2375",
  );
  const tls = describeTarget({
    transport: "tls",
    hostname: "pve",
    port: 8006,
    cert: "CERT",
    key: "SECRET KEY",
  });
  assert.equal(tls, "tls://pve:8006");
});

Deno.test("dial() opens unix and tcp connections", async (t) => {
  await t.step("unix", async () => {
    const dir = await Deno.makeTempDir();
    try {
      using listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
      using conn = await dial({ transport: "unix", path: `${dir}/s.sock` });
      using accepted = await listener.accept();
      await conn.write(new Uint8Array([1]));
      assert.equal(await accepted.read(new Uint8Array(1)), 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("tcp", async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using _conn = await dial({ transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
    using _accepted = await listener.accept();
  });
  await t.step("errors from Deno pass through", async () => {
    await assert.rejects(
      dial({ transport: "unix", path: "/nonexistent/dir/s.sock" }),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("dial() rejects with the signal's reason", async (t) => {
  await t.step("when already aborted", async () => {
    const reason = new Error("stop");
    await assert.rejects(
      dial({ transport: "tcp", hostname: "127.0.0.1", port: 1 }, {
        signal: AbortSignal.abort(reason),
      }),
      (error) => error === reason,
    );
  });
  await t.step("during a TLS handshake that never ends", async () => {
    // A plain TCP listener that never speaks TLS.
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const controller = new AbortController();
    const dialing = dial({ transport: "tls", hostname: "127.0.0.1", port: listener.addr.port }, {
      signal: controller.signal,
    });
    using _accepted = await listener.accept();
    const reason = new Error("stop");
    controller.abort(reason);
    // The resource sanitizer checks that the half-open TLS connection was closed.
    await assert.rejects(dialing, (error) => error === reason);
  });
});

Deno.test("HttpClient.request() speaks TLS to a server with a private CA", async (t) => {
  const { caCert, cert, key } = await makeTestCertificates();
  using listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(4096);
      try {
        if (await conn.read(buffer) !== null) {
          await conn.write(
            new TextEncoder().encode(
              "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret",
            ),
          );
        }
      } catch {
        // The client rejected the certificate.
      } finally {
        conn.close();
      }
    }
  })();
  const port = listener.addr.port;

  await t.step("trusted with caCerts", async () => {
    using client = new HttpClient({
      target: { transport: "tls", hostname: "127.0.0.1", port, caCerts: [caCert] },
    });
    const response = await client.request({ method: "GET", path: "/" });
    assert.equal(await response.text(), "secret");
  });
  await t.step("refused without the CA", async () => {
    using client = new HttpClient({ target: { transport: "tls", hostname: "127.0.0.1", port } });
    await assert.rejects(client.request({ method: "GET", path: "/" }), /certificate/i);
  });
  listener.close();
  await serving;
});
