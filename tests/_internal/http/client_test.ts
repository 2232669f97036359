import assert from "node:assert/strict";
import { HttpClient, type HttpRequest } from "../../../_internal/http/client.ts";
import {
  answerEach,
  RawServer,
  type ReceivedRequest,
  type ServerConn,
} from "../../_fakes/raw_server.ts";

const encoder = new TextEncoder();

function ok(body: string, extraHeaders = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${
    encoder.encode(body).byteLength
  }\r\n${extraHeaders}\r\n${body}`;
}

/** Waits (bounded) until `condition()` holds, letting the event loop run in between. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.ok(condition(), "condition not reached");
}

Deno.test("HttpClient.request() keeps the reason phrase exactly as sent", async (t) => {
  const latin1 = new Uint8Array([
    ...encoder.encode("HTTP/1.1 400 ung"),
    0xfc,
    ...encoder.encode("ltig\r\n"),
  ]);
  const cases: [string, Uint8Array | string, string][] = [
    [
      "with spaces",
      "HTTP/1.1 500 unable to create CT 100 - storage 'local' does not exist\r\n",
      "unable to create CT 100 - storage 'local' does not exist",
    ],
    ["in UTF-8", "HTTP/1.1 400 Paramètre invalide: ‹vmid›\r\n", "Paramètre invalide: ‹vmid›"],
    ["in Latin-1", latin1, "ungültig"],
    ["empty after a space", "HTTP/1.1 200 \r\n", ""],
    ["missing", "HTTP/1.1 200\r\n", ""],
  ];
  for (const [name, statusLine, expected] of cases) {
    await t.step(name, async () => {
      await using server = await RawServer.start(async (conn) => {
        await conn.readRequest();
        await conn.write(statusLine);
        await conn.write("Content-Length: 0\r\n\r\n");
      });
      using client = new HttpClient({ target: server.target });
      await using response = await client.request({ method: "GET", path: "/" });
      assert.equal(response.statusText, expected);
    });
  }
});

Deno.test("HttpClient.request() exposes status and headers", async () => {
  await using server = await RawServer.start(
    answerEach(
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n" +
        "X-Folded: one\r\n two\r\nContent-Length: 2\r\n\r\n{}",
    ),
  );
  using client = new HttpClient({ target: server.target });
  const response = await client.request({ method: "GET", path: "/" });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("CONTENT-TYPE"), "application/json");
  assert.deepEqual(response.headers.getSetCookie(), ["a=1", "b=2"]);
  assert.equal(response.headers.get("x-folded"), "one two");
  assert.deepEqual(await response.json(), {});
});

Deno.test("HttpClient.request() reuses keep-alive connections", async (t) => {
  await t.step("sequential requests share one connection", async () => {
    await using server = await RawServer.start(answerEach(ok("hi")));
    using client = new HttpClient({ target: server.target });
    for (let i = 0; i < 3; i++) {
      const response = await client.request({ method: "GET", path: "/" });
      assert.equal(await response.text(), "hi");
    }
    assert.equal(server.accepts, 1);
    assert.equal(client.idleConnections, 1);
  });

  await t.step("concurrent requests use separate connections", async () => {
    await using server = await RawServer.start(answerEach(ok("hi")));
    using client = new HttpClient({ target: server.target, maxIdleConnections: 2 });
    const responses = await Promise.all(
      [1, 2, 3].map(() => client.request({ method: "GET", path: "/" })),
    );
    for (const response of responses) assert.equal(await response.text(), "hi");
    assert.equal(server.accepts, 3);
    assert.equal(client.idleConnections, 2, "no more than maxIdleConnections are kept");
  });

  await t.step("HTTP/1.0 with keep-alive, HEAD, 204, 304 and chunked bodies", async () => {
    const answers = [
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na",
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n",
      ok("c"),
    ];
    await using server = await RawServer.start(async (conn) => {
      for (const answer of answers) {
        await conn.readRequest();
        await conn.write(answer);
      }
    });
    using client = new HttpClient({ target: server.target });
    const bodies = [];
    for (const method of ["GET", "HEAD", "DELETE", "GET", "GET", "GET"]) {
      const response = await client.request({ method, path: "/" });
      bodies.push(await response.text());
    }
    assert.deepEqual(bodies, ["a", "", "", "", "b", "c"]);
    assert.equal(server.accepts, 1);
  });
});

Deno.test("HttpClient.request() does not reuse connections that cannot carry another request", async (t) => {
  const cases: [string, string, Record<string, string>?][] = [
    ["Connection: close", ok("x", "Connection: close\r\n")],
    ["HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"],
    ["Connection: close in the request", ok("x"), { Connection: "close" }],
    [
      "Content-Length beside Transfer-Encoding",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    ],
  ];
  for (const [name, answer, headers] of cases) {
    await t.step(name, async () => {
      await using server = await RawServer.start(answerEach(answer));
      using client = new HttpClient({ target: server.target });
      for (let i = 0; i < 2; i++) {
        const response = await client.request({ method: "GET", path: "/", headers });
        assert.equal(await response.text(), "x");
      }
      assert.equal(server.accepts, 2);
    });
  }

  await t.step("a cancelled body", async () => {
    await using server = await RawServer.start(answerEach(ok("0123456789")));
    using client = new HttpClient({ target: server.target });
    const first = await client.request({ method: "GET", path: "/" });
    first.cancel();
    assert.equal(await first.read(), null);
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "0123456789");
    assert.equal(server.accepts, 2);
  });

  await t.step("extra bytes after the body", async () => {
    await using server = await RawServer.start(answerEach(ok("x") + "garbage"));
    using client = new HttpClient({ target: server.target });
    for (let i = 0; i < 2; i++) {
      assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "x");
    }
    assert.equal(server.accepts, 2);
  });
});

Deno.test("HttpClient.request() drops idle connections the server closed", async (t) => {
  await t.step("closed after the response", async () => {
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      await conn.write(ok("once"));
    });
    using client = new HttpClient({ target: server.target });
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "once");
    await until(() => client.idleConnections === 0);
    assert.equal(await (await client.request({ method: "POST", path: "/" })).text(), "once");
    assert.equal(server.accepts, 2);
  });

  await t.step("unsolicited bytes while idle", async () => {
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      await conn.write(ok("once"));
      await conn.write("HTTP/1.1 408 Request Timeout\r\n\r\n");
      await conn.waitForClose();
    });
    using client = new HttpClient({ target: server.target });
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "once");
    await until(() => client.idleConnections === 0);
    const response = await client.request({ method: "GET", path: "/" });
    assert.equal(response.status, 200);
    await response.cancel();
    assert.equal(server.accepts, 2);
  });

  await t.step("after the idle timeout", async () => {
    await using server = await RawServer.start(answerEach(ok("x")));
    using client = new HttpClient({ target: server.target, idleTimeout: 1 });
    await (await client.request({ method: "GET", path: "/" })).bytes();
    await until(() => client.idleConnections === 0);
  });

  await t.step("after the idle timeout counted from its last use", async () => {
    await using server = await RawServer.start(answerEach(ok("x")));
    using client = new HttpClient({ target: server.target, idleTimeout: 40 });
    await (await client.request({ method: "GET", path: "/" })).bytes();
    await new Promise((resolve) => setTimeout(resolve, 25));
    await (await client.request({ method: "GET", path: "/" })).bytes();
    await until(() => client.idleConnections === 0);
  });
});

/** A server whose second request on each connection is read and then left unanswered (the connection closes). */
function closesOnSecondRequest(seen: string[]) {
  return async (conn: ServerConn) => {
    let request: ReceivedRequest | null;
    for (let i = 0; (request = await conn.readRequest()) !== null; i++) {
      seen.push(request.line);
      if (i === 1) return;
      await conn.write(ok("ok"));
    }
  };
}

Deno.test("HttpClient.request() replays a request on a stale connection only when asked", async (t) => {
  await t.step("a POST without retryOnStale rejects and is sent once", async () => {
    const seen: string[] = [];
    await using server = await RawServer.start(closesOnSecondRequest(seen));
    using client = new HttpClient({ target: server.target });
    await (await client.request({ method: "GET", path: "/warm" })).text();
    await assert.rejects(
      client.request({ method: "POST", path: "/containers/1/start" }),
      Deno.errors.UnexpectedEof,
    );
    assert.deepEqual(seen, ["GET /warm HTTP/1.1", "POST /containers/1/start HTTP/1.1"]);
  });

  await t.step("retryOnStale replays once on a fresh connection", async () => {
    const seen: string[] = [];
    await using server = await RawServer.start(closesOnSecondRequest(seen));
    using client = new HttpClient({ target: server.target });
    await (await client.request({ method: "GET", path: "/warm" })).text();
    const response = await client.request({ method: "GET", path: "/again", retryOnStale: true });
    assert.equal(await response.text(), "ok");
    assert.deepEqual(seen, ["GET /warm HTTP/1.1", "GET /again HTTP/1.1", "GET /again HTTP/1.1"]);
    assert.equal(server.accepts, 2);
  });

  await t.step("not after part of the response arrived", async () => {
    const seen: string[] = [];
    await using server = await RawServer.start(async (conn) => {
      let request: ReceivedRequest | null;
      for (let i = 0; (request = await conn.readRequest()) !== null; i++) {
        seen.push(request.line);
        await conn.write(i === 0 ? ok("ok") : "HTTP/1.1 200");
        if (i === 1) return;
      }
    });
    using client = new HttpClient({ target: server.target });
    await (await client.request({ method: "GET", path: "/" })).text();
    await assert.rejects(
      client.request({ method: "GET", path: "/", retryOnStale: true }),
      Deno.errors.UnexpectedEof,
    );
    assert.equal(seen.length, 2);
  });

  await t.step("not on a fresh connection", async () => {
    const seen: string[] = [];
    await using server = await RawServer.start(async (conn) => {
      seen.push((await conn.readRequest())!.line);
    });
    using client = new HttpClient({ target: server.target });
    await assert.rejects(
      client.request({ method: "GET", path: "/", retryOnStale: true }),
      Deno.errors.UnexpectedEof,
    );
    assert.equal(seen.length, 1);
  });
});

Deno.test("HttpClient.request() reads the body framings", async (t) => {
  await t.step("Content-Length", async () => {
    const body = "x".repeat(200_000);
    await using server = await RawServer.start(answerEach(ok(body)));
    using client = new HttpClient({ target: server.target });
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), body);
  });

  await t.step("until the server closes", async () => {
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      await conn.write("HTTP/1.1 200 OK\r\n\r\nfirst ");
      await conn.write("second");
    });
    using client = new HttpClient({ target: server.target });
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "first second");
    assert.equal(client.idleConnections, 0);
  });

  await t.step("chunked, written a byte at a time, with extensions and trailers", async () => {
    const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n1 ; x\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n";
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      for (const byte of encoder.encode(wire)) await conn.write(new Uint8Array([byte]));
      await conn.readRequest();
      await conn.write(ok("next"));
    });
    using client = new HttpClient({ target: server.target });
    const response = await client.request({ method: "GET", path: "/" });
    const pieces: Uint8Array[] = [];
    for (let piece; (piece = await response.read()) !== null;) pieces.push(piece);
    // Every piece is still intact after all later reads.
    assert.equal(
      pieces.map((piece) => new TextDecoder().decode(piece)).join(""),
      "hello 0123456789",
    );
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "next");
    assert.equal(server.accepts, 1);
  });

  await t.step("100 Continue before the final response", async () => {
    await using server = await RawServer.start(
      answerEach("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + ok("done")),
    );
    using client = new HttpClient({ target: server.target });
    const response = await client.request({ method: "POST", path: "/", body: "{}" });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "done");
  });
});

Deno.test("HttpClient.request() rejects malformed responses with InvalidData", async (t) => {
  const cases: [string, string][] = [
    ["a garbage status line", "SSH-2.0-OpenSSH_9.2\r\n\r\n"],
    ["a non-numeric status", "HTTP/1.1 2xx OK\r\n\r\n"],
    ["HTTP/2", "HTTP/2 200 OK\r\n\r\n"],
    ["a header without a colon", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"],
    ["a space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"],
    ["a folded first header", "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n"],
    ["a NUL in a header value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n"],
    ["an invalid Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n"],
    [
      "conflicting Content-Lengths",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ],
    [
      "an unsupported Transfer-Encoding",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    ],
    ["an unexpected 101", "HTTP/1.1 101 Switching Protocols\r\n\r\n"],
  ];
  for (const [name, answer] of cases) {
    await t.step(name, async () => {
      await using server = await RawServer.start(answerEach(answer));
      using client = new HttpClient({ target: server.target });
      await assert.rejects(client.request({ method: "GET", path: "/" }), Deno.errors.InvalidData);
      assert.equal(client.idleConnections, 0);
    });
  }

  const bodyCases: [string, string][] = [
    ["a bad chunk size", "zz\r\nhello\r\n0\r\n\r\n"],
    ["an empty chunk size", "\r\nhello\r\n0\r\n\r\n"],
    ["a chunk longer than its size", "2\r\nhello\r\n0\r\n\r\n"],
    ["a chunk size too large", "fffffffffffffffff\r\n"],
    ["an endless chunk-size line", "1;" + "x".repeat(10_000)],
  ];
  for (const [name, body] of bodyCases) {
    await t.step(name, async () => {
      await using server = await RawServer.start(async (conn) => {
        await conn.readRequest();
        await conn.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
        await conn.waitForClose();
      });
      using client = new HttpClient({ target: server.target });
      const response = await client.request({ method: "GET", path: "/" });
      await assert.rejects(response.text(), Deno.errors.InvalidData);
      await assert.rejects(response.read(), Deno.errors.InvalidData, "the error sticks");
    });
  }

  await t.step("a head larger than 64 KiB", async () => {
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      await conn.write(`HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(70_000)}\r\n\r\n`);
      await conn.waitForClose();
    });
    using client = new HttpClient({ target: server.target });
    await assert.rejects(client.request({ method: "GET", path: "/" }), Deno.errors.InvalidData);
  });

  await t.step("a head that never ends", async () => {
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      await conn.write("HTTP/1.1 200 OK\r\n");
      // Fills the buffer past the limit, then waits for the client to give up.
      for (let i = 0; i < 20; i++) await conn.write(`X-${i}: ${"v".repeat(4000)}\r\n`);
      await conn.waitForClose();
    });
    using client = new HttpClient({ target: server.target });
    await assert.rejects(client.request({ method: "GET", path: "/" }), /larger than 65536 bytes/);
  });
});

Deno.test("HttpClient.request() rejects truncated responses with UnexpectedEof", async (t) => {
  const cases: [string, string][] = [
    ["inside the head", "HTTP/1.1 200 OK\r\nContent-Le"],
    ["inside a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"],
    ["inside a chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"],
    [
      "before the last chunk",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ],
  ];
  for (const [name, answer] of cases) {
    await t.step(name, async () => {
      await using server = await RawServer.start(async (conn) => {
        await conn.readRequest();
        await conn.write(answer);
      });
      using client = new HttpClient({ target: server.target });
      await assert.rejects(
        (async () => await (await client.request({ method: "GET", path: "/" })).text())(),
        Deno.errors.UnexpectedEof,
      );
    });
  }
});

Deno.test("HttpClient.request() aborts at any point", async (t) => {
  await t.step("before sending", async () => {
    await using server = await RawServer.start(answerEach(ok("x")));
    using client = new HttpClient({ target: server.target });
    const reason = new Error("not now");
    await assert.rejects(
      client.request({ method: "GET", path: "/", signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
    assert.equal(server.accepts, 0);
  });

  await t.step("while connecting", async () => {
    // A TCP listener that never answers the TLS handshake.
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using client = new HttpClient({
      target: { transport: "tls", hostname: "127.0.0.1", port: listener.addr.port },
    });
    const controller = new AbortController();
    const request = client.request({ method: "GET", path: "/", signal: controller.signal });
    using _accepted = await listener.accept();
    const reason = new Error("give up");
    controller.abort(reason);
    await assert.rejects(request, (error) => error === reason);
  });

  await t.step("while waiting for the head", async () => {
    const received = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<void>();
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      received.resolve();
      await conn.waitForClose();
      closed.resolve();
    });
    using client = new HttpClient({ target: server.target });
    const controller = new AbortController();
    const request = client.request({ method: "GET", path: "/", signal: controller.signal });
    await received.promise;
    const reason = new Error("stop waiting");
    controller.abort(reason);
    await assert.rejects(request, (error) => error === reason);
    await closed.promise; // The client closed its side.
    assert.equal(client.idleConnections, 0);
  });

  await t.step("while reading the body", async () => {
    const closed = Promise.withResolvers<void>();
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      await conn.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
      await conn.waitForClose();
      closed.resolve();
    });
    using client = new HttpClient({ target: server.target });
    const controller = new AbortController();
    const response = await client.request({ method: "GET", path: "/", signal: controller.signal });
    assert.equal(new TextDecoder().decode((await response.read())!), "first");
    const reading = response.read();
    const reason = new Error("enough");
    controller.abort(reason);
    await assert.rejects(reading, (error) => error === reason);
    await assert.rejects(response.read(), (error) => error === reason);
    await closed.promise;
  });

  await t.step("after the body was read, without effect", async () => {
    await using server = await RawServer.start(answerEach(ok("x")));
    using client = new HttpClient({ target: server.target });
    const controller = new AbortController();
    const response = await client.request({ method: "GET", path: "/", signal: controller.signal });
    assert.equal(await response.text(), "x");
    controller.abort();
    assert.equal(await (await client.request({ method: "GET", path: "/" })).text(), "x");
    assert.equal(server.accepts, 1);
  });
});

Deno.test("HttpClient.close() closes idle and in-flight connections", async (t) => {
  await t.step("a request waiting for its head", async () => {
    const received = Promise.withResolvers<void>();
    await using server = await RawServer.start(async (conn) => {
      await conn.readRequest();
      received.resolve();
      await conn.waitForClose();
    });
    const client = new HttpClient({ target: server.target });
    const request = client.request({ method: "GET", path: "/" });
    await received.promise;
    client.close();
    await assert.rejects(request, Deno.errors.Interrupted);
    await assert.rejects(client.request({ method: "GET", path: "/" }), Deno.errors.BadResource);
    client.close();
  });

  await t.step("a request still connecting", async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const client = new HttpClient({
      target: { transport: "tls", hostname: "127.0.0.1", port: listener.addr.port },
    });
    const request = client.request({ method: "GET", path: "/" });
    using _accepted = await listener.accept();
    client.close();
    await assert.rejects(request, Deno.errors.Interrupted);
  });

  await t.step("a body being read, and the idle pool", async () => {
    await using server = await RawServer.start(async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.line.startsWith("GET /idle ")) {
          await conn.write(ok("idle"));
          continue;
        }
        await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
        await conn.waitForClose();
        return;
      }
    });
    const client = new HttpClient({ target: server.target });
    const streaming = await client.request({ method: "GET", path: "/stream" });
    assert.equal(await (await client.request({ method: "GET", path: "/idle" })).text(), "idle");
    assert.equal(client.idleConnections, 1);
    assert.equal(new TextDecoder().decode((await streaming.read())!), "part");
    const reading = streaming.read();
    client.close();
    assert.equal(client.idleConnections, 0);
    await assert.rejects(reading, Deno.errors.Interrupted);
    await assert.rejects(streaming.read(), Deno.errors.Interrupted);
  });
});

Deno.test("HttpClient.request() serializes requests exactly", async (t) => {
  const heads: string[] = [];
  await using server = await RawServer.start(
    answerEach((request) => {
      heads.push(request.head + request.body);
      return ok("");
    }),
    { transport: "tcp" },
  );
  using client = new HttpClient({ target: server.target });
  const { port } = server.target as { port: number };

  await t.step("a JSON POST", async () => {
    await (await client.request({
      method: "POST",
      path: "/v1.41/containers/abc/stop?t=10",
      headers: { "Content-Type": "application/json" },
      body: '{"é":1}',
    })).bytes();
    assert.equal(
      heads.at(-1),
      `POST /v1.41/containers/abc/stop?t=10 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 8\r\n\r\n{"é":1}',
    );
  });

  await t.step("a POST without a body sends Content-Length: 0", async () => {
    await (await client.request({ method: "POST", path: "/start" })).bytes();
    assert.equal(
      heads.at(-1),
      `POST /start HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\n\r\n`,
    );
  });

  await t.step("a GET has no Content-Length; a given Host wins", async () => {
    await (await client.request({ method: "GET", path: "/", headers: { host: "pve" } })).bytes();
    assert.equal(heads.at(-1), "GET / HTTP/1.1\r\nhost: pve\r\n\r\n");
  });

  await t.step("a Uint8Array body", async () => {
    await (await client.request({ method: "PUT", path: "/", body: new Uint8Array([0x61, 0x62]) }))
      .bytes();
    assert.equal(
      heads.at(-1),
      `PUT / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 2\r\n\r\nab`,
    );
  });

  await t.step("injections are refused with TypeError before sending", async () => {
    const count = heads.length;
    const bad: HttpRequest[] = [
      { method: "GET", path: "/ HTTP/1.1\r\nX: y" },
      { method: "GET", path: "/a b" },
      { method: "GET", path: "http://other/" },
      { method: "GET", path: "" },
      { method: "GET", path: "/caf\u00e9" },
      { method: "GET", path: "/\x7f" },
      { method: "GET /x", path: "/" },
      { method: "GET", path: "/", headers: { "X-A": "a\r\nX-Injected: 1" } },
      { method: "GET", path: "/", headers: { "X-A": "a\nb" } },
      { method: "GET", path: "/", headers: { "X A": "b" } },
      { method: "GET", path: "/", headers: { "Content-Length": "5" } },
      { method: "GET", path: "/", headers: { "transfer-encoding": "chunked" } },
    ];
    for (const request of bad) {
      await assert.rejects(client.request(request), TypeError, JSON.stringify(request));
    }
    assert.equal(heads.length, count);
  });
});

Deno.test("HttpClient sends Host: localhost over unix sockets", async () => {
  let head = "";
  await using server = await RawServer.start(
    answerEach((request) => (head = request.head, ok(""))),
  );
  using client = new HttpClient({ target: server.target });
  await (await client.request({ method: "GET", path: "/_ping" })).bytes();
  assert.equal(head, "GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
});

Deno.test("HttpClient's idle pool does not keep a process alive", async () => {
  await using server = await RawServer.start(answerEach(ok("x")));
  const script = `
    import { HttpClient } from ${
    JSON.stringify(new URL("../../../_internal/http/client.ts", import.meta.url).href)
  };
    const client = new HttpClient({ target: ${JSON.stringify(server.target)} });
    await (await client.request({ method: "GET", path: "/" })).text();
    console.log(client.idleConnections);
  `;
  const { success, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(15_000),
  }).output();
  assert.ok(success, "the process exited on its own");
  assert.equal(new TextDecoder().decode(stdout).trim(), "1");
});
