/**
 * A PVE (or a proxy in front of it) that echoes the request's headers back in
 * its error: the token's secret, the password, the ticket and the CSRF token
 * appear in no rendering of the error and in no log line.
 */

import assert from "node:assert/strict";
import { ApiError, ProviderError } from "../../errors.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";
import { CT_RUNNING, LinesLogger, proxmoxAt, SECRET } from "./_providers.ts";
import { HostileServer, pveGuestList, pveTls, type Received, respond } from "./_server.ts";

const PASSWORD = "hunter2-correct-horse";
const TICKET = "PVE:root@pam:65F0A1B2::c2lnbmF0dXJlLW9mLXRoZS10aWNrZXQ=";
const CSRF = "65F0A1B2:Y3NyZi10b2tlbi1vZi10aGUtc2Vzc2lvbg";

/**
 * Answers the provider's first status read (made when it is created) as a
 * running CT, then every call with a 500 that repeats the whole request.
 */
function echoing(): (request: Received) => Uint8Array {
  let reads = 0;
  return (request) => {
    if (request.path.endsWith("/status/current") && reads++ === 0) return respond(200, CT_RUNNING);
    return echo(request);
  };
}

function echo(request: Received): Uint8Array {
  const message = `refused: ${request.head} ${decodeURIComponent(request.body)}`;
  return respond(500, JSON.stringify({ data: null, message }));
}

function renderings(error: unknown, logger: LinesLogger): string[] {
  assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${error}`);
  return [
    error.message,
    String(error.stack),
    JSON.stringify(error),
    JSON.stringify({ ...error }),
    Deno.inspect(error, { depth: Infinity }),
    error instanceof ApiError ? error.serverMessage : "",
    ...logger.lines,
  ];
}

function assertNoSecret(texts: string[], secrets: string[]): void {
  for (const text of texts) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret in: ${text.slice(0, 400)}`);
      assert.ok(!text.includes(encodeURIComponent(secret)), `an encoded secret in: ${text}`);
    }
  }
}

Deno.test("Proxmox errors redact an echoed token secret, password, ticket and CSRF token", async (t) => {
  const tls = await pveTls();
  await t.step("a token", async () => {
    const answer = echoing();
    await using server = HostileServer.tls(tls, async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        await conn.write(pveGuestList(request) ?? answer(request));
      }
    });
    const logger = new LinesLogger();
    using provider = await proxmoxAt(server, tls.ca, { logger });
    for (const call of [() => provider.containerStatus(), () => provider.containerStart()]) {
      const error = await call().then(() => undefined, (error) => error);
      const texts = renderings(error, logger);
      assert.ok(texts[0].includes("refused"), texts[0]);
      assertNoSecret(texts, [SECRET]);
    }
  });
  await t.step("a user: password, ticket and CSRF token", async () => {
    const answer = echoing();
    await using server = HostileServer.tls(tls, async (conn) => {
      for (let request; (request = await conn.readRequest()) !== null;) {
        if (request.path.startsWith("/api2/json/access/ticket")) {
          await conn.write(respond(
            200,
            JSON.stringify({
              data: { ticket: TICKET, CSRFPreventionToken: CSRF, username: "root@pam" },
            }),
          ));
        } else await conn.write(pveGuestList(request) ?? answer(request));
      }
    });
    const logger = new LinesLogger();
    using provider = await newProxmoxProvider("pve", 101, {
      config: {
        url: server.url,
        username: "root@pam",
        password: PASSWORD,
        caCerts: [tls.ca],
        logger,
      },
    });
    for (const call of [() => provider.containerStatus(), () => provider.containerStop("", 5)]) {
      const error = await call().then(() => undefined, (error) => error);
      const texts = renderings(error, logger);
      assert.ok(texts[0].includes("refused"), texts[0]);
      assertNoSecret(texts, [PASSWORD, TICKET, CSRF]);
    }
  });
});
