import assert from "node:assert/strict";
import { newDockerProvider } from "../../docker/mod.ts";
import { ConnectionError } from "../../errors.ts";
import { dockerTls, EngineApi, requireEngines, uniqueName } from "../_engines.ts";
import { RecordingLogger, SCRIPTS } from "./_containers.ts";
import { withEnv } from "../_env.ts";

/** The TLS listener, or `undefined` (and a note) outside CI when it is not running. */
function requireTls(): ReturnType<typeof dockerTls> {
  const tls = dockerTls();
  if (tls !== undefined) return tls;
  const message = "Docker's TLS listener is not configured (IDLEWATCHER_DOCKER_TLS_HOST); " +
    "run: bash scripts/engines.sh start";
  const ci = Deno.env.get("CI");
  if (ci && ci !== "0" && ci !== "false") throw new Error(message);
  console.error(`SKIPPED: ${message}`);
  return undefined;
}

Deno.test("newDockerProvider() talks to a --tlsverify daemon with client certificates", async (t) => {
  const tls = requireTls();
  const docker = requireEngines(t).find((engine) => engine.name === "docker");
  if (tls === undefined || docker === undefined) return;
  await using api = new EngineApi(docker);
  const name = uniqueName("tls");
  await api.createContainer({ name, cmd: ["sh", "-c", SCRIPTS.exitsOnTerm] });
  const files = {
    caFile: `${tls.certDir}/ca.pem`,
    certFile: `${tls.certDir}/cert.pem`,
    keyFile: `${tls.certDir}/key.pem`,
  };
  const port = new URL(tls.host).port;

  await t.step("with config.tls", async () => {
    const logger = new RecordingLogger();
    using provider = newDockerProvider({ url: tls.host, tls: files, logger }, name);
    assert.equal(await provider.containerStatus(), "stopped");
    await provider.containerStart();
    assert.equal(await provider.containerStatus(), "running");
    await provider.containerStop("", 1);
    assert.equal(await provider.containerStatus(), "stopped");
    assert.deepEqual(logger.calls.slice(0, 2), [
      "GET /_ping 200",
      `GET /v1.41/containers/${name}/json 200`,
    ]);
  });

  await t.step("with DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", async () => {
    const env = { DOCKER_HOST: tls.host, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: tls.certDir };
    using provider = withEnv(env, () => newDockerProvider({ logger: new RecordingLogger() }, name));
    assert.equal(await provider.containerStatus(), "stopped");
  });

  const refused: [string, typeof files | Omit<typeof files, "caFile"> | { caFile: string }][] = [
    ["without the CA", { certFile: files.certFile, keyFile: files.keyFile }],
    ["without a client certificate", { caFile: files.caFile }],
  ];
  for (const [what, config] of refused) {
    await t.step(`${what}, a ConnectionError`, async () => {
      using provider = newDockerProvider(
        { url: tls.host, tls: config, logger: new RecordingLogger() },
        name,
      );
      await assert.rejects(provider.containerStatus(), (error: Error) => {
        assert.ok(error instanceof ConnectionError, String(error));
        assert.ok(
          error.message.startsWith(
            `Cannot read the status of container "${name}": cannot reach the daemon at tcp://127.0.0.1:${port}: `,
          ),
          error.message,
        );
        assert.match(error.message, /: TLS failed \(/);
        assert.ok(!error.message.includes("PRIVATE KEY"));
        return true;
      });
    });
  }
});
