import assert from "node:assert/strict";
import { dockerTls } from "../_engines.ts";
import { startFakePve } from "../_fakes/pve/mod.ts";
import { runCli, tempFile } from "./_cli.ts";

const USAGE =
  "usage: idlewatcher docker <container> <command> [flags] | idlewatcher proxmox [<node>/]<vmid> <command> [flags] (idlewatcher help for more)\n";
const TOKEN_ID = "idle@pve!cli";
const SECRET = "8c2f4b1e-0d7a-4f7e-9a53-2b61c0de9f10";
const MISSING = "/nonexistent/idlewatcher";

/** A TCP port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("idlewatcher docker names the place of a missing socket, and the fix once", async (t) => {
  const prefix =
    'idlewatcher: Cannot read the status of container "web": cannot reach the engine at ' +
    `unix://${MISSING}/d.sock: no such socket (fix: start the engine, or `;
  const cases: [string, string[], Record<string, string>, string][] = [
    ["--socket", ["--socket", `${MISSING}/d.sock`], {}, "check the --socket path)"],
    ["--host", ["--host", `unix://${MISSING}/d.sock`], {}, "check --host)"],
    [
      "DOCKER_HOST",
      [],
      { DOCKER_HOST: `unix://${MISSING}/d.sock` },
      "point DOCKER_HOST (or --socket) at its socket)",
    ],
  ];
  for (const [name, flags, env, fix] of cases) {
    await t.step(name, async () => {
      const result = await runCli(["docker", "web", "status", ...flags], { env });
      assert.deepEqual(result, { code: 4, stdout: "", stderr: `${prefix}${fix}\n` });
    });
  }
});

Deno.test("idlewatcher names every missing permission at once, as a NotCapable kind", async (t) => {
  const tls = dockerTls();
  await t.step("the three TLS files of DOCKER_CERT_PATH", async () => {
    const certs = tls?.certDir ?? "/etc/docker-certs";
    const result = await runCli(["docker", "web", "status"], {
      env: { DOCKER_HOST: "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs },
      permissions: ["--allow-net", "--allow-env"],
    });
    const files = ["ca.pem", "cert.pem", "key.pem"].map((file) => `${certs}/${file}`);
    assert.deepEqual(result, {
      code: 4,
      stdout: "",
      stderr: `idlewatcher: Cannot read the TLS files ${files.join(", ")}: missing permission ` +
        `(fix: run with --allow-read=${files.join(",")})\n`,
    });
  });
  await t.step("the environment, with --json", async () => {
    const result = await runCli(["docker", "web", "status", "--json"], {
      permissions: ["--allow-net"],
    });
    assert.equal(result.code, 4);
    assert.deepEqual(JSON.parse(result.stderr), {
      error: "Cannot read the environment variable DOCKER_HOST: missing permission",
      kind: "NotCapable",
      fix: "run with --allow-env=DOCKER_HOST,DOCKER_TLS_VERIFY,DOCKER_CERT_PATH,DOCKER_CONTEXT," +
        "DOCKER_CONFIG,HOME",
      exitCode: 4,
    });
  });
});

Deno.test("idlewatcher docker says a TLS daemon needs TLS when sent plain HTTP", async (t) => {
  const tls = dockerTls();
  if (tls === undefined) {
    if (Deno.env.get("CI")) throw new Error("IDLEWATCHER_DOCKER_TLS_HOST is not set");
    console.error(`SKIPPED "${t.name}": no TLS listener (scripts/engines.sh start)`);
    return;
  }
  const result = await runCli(["docker", "web", "status"], { env: { DOCKER_HOST: tls.host } });
  assert.deepEqual(result, {
    code: 4,
    stdout: "",
    stderr: 'idlewatcher: Cannot read the status of container "web": cannot reach the engine at ' +
      `${tls.host}: it speaks TLS, and this client sent plain HTTP (fix: set ` +
      "DOCKER_TLS_VERIFY=1 (with ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH), or pass " +
      "--tls-ca (and --tls-cert and --tls-key))\n",
  });
});

Deno.test("idlewatcher proxmox speaks of flags and variables, plainly", async (t) => {
  const url = `https://127.0.0.1:${closedPort()}`;
  await t.step("a token without its secret is missing it", async () => {
    const result = await runCli(["proxmox", "pve/101", "status", "--url", url], {
      env: { PROXMOX_TOKEN_ID: TOKEN_ID },
    });
    assert.deepEqual(result, {
      code: 2,
      stdout: "",
      stderr: `idlewatcher: Missing the secret of token ${TOKEN_ID}: set PROXMOX_SECRET ` +
        `(or pass --secret)\n${USAGE}`,
    });
  });
  await t.step("no credentials at all", async () => {
    const result = await runCli(["proxmox", "pve/101", "status", "--url", url]);
    assert.deepEqual(result, {
      code: 2,
      stdout: "",
      stderr: "idlewatcher: Missing the Proxmox credentials: an API token (--token-id and " +
        `PROXMOX_SECRET) or a user (--username and PROXMOX_PASSWORD)\n${USAGE}`,
    });
  });
  await t.step("a refused connection is only refused", async () => {
    const result = await runCli(["proxmox", "pve/101", "start", "--url", url], {
      env: { PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_SECRET: SECRET },
    });
    assert.deepEqual(result, {
      code: 4,
      stdout: "",
      stderr: `idlewatcher: Cannot read CT 101 on node "pve": cannot talk to ${url}: Connection ` +
        "refused (os error 111) (fix: check --url or PROXMOX_URL: PVE's API listens on port " +
        "8006)\n",
    });
  });
  await t.step("a missing --ca-file is no such file", async () => {
    const result = await runCli(
      ["proxmox", "pve/101", "status", "--url", url, "--ca-file", `${MISSING}/ca.pem`],
      { env: { PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_SECRET: SECRET } },
    );
    assert.deepEqual(result, {
      code: 2,
      stdout: "",
      stderr: `idlewatcher: Cannot read the Proxmox CA file ${MISSING}/ca.pem: no such file\n` +
        USAGE,
    });
  });
  await t.step("an unknown CA names --ca-file once", async () => {
    await using fake = await startFakePve({ authDelayMs: 0, statusBroadcastMs: 0 });
    const result = await runCli(["proxmox", "pve/101", "status"], {
      env: { PROXMOX_URL: fake.url, PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_SECRET: SECRET },
    });
    assert.equal(result.code, 4);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^idlewatcher: Cannot read CT 101 on node "pve": cannot talk to https:\/\/[^ ]+: invalid peer certificate: UnknownIssuer \(fix: pass the cluster's CA \(\/etc\/pve\/pve-root-ca\.pem on any node\) with --ca-file or PROXMOX_CA_FILE\)\n$/,
    );
    assert.equal(result.stderr.match(/ca-file|caFile|caCerts/gi)?.length, 1);
  });
});

Deno.test("idlewatcher proxmox <vmid> looks the node up", async () => {
  await using fake = await startFakePve({ authDelayMs: 0, statusBroadcastMs: 0 });
  fake.addNode("pve");
  fake.addNode("pve2");
  fake.addCt("pve2", 102, { name: "db" });
  fake.addToken(TOKEN_ID, SECRET);
  await using ca = await tempFile(fake.caCert);
  const env = {
    PROXMOX_URL: fake.url,
    PROXMOX_TOKEN_ID: TOKEN_ID,
    PROXMOX_SECRET: SECRET,
    PROXMOX_CA_FILE: ca.path,
  };
  assert.deepEqual(await runCli(["proxmox", "102", "status"], { env }), {
    code: 0,
    stdout: "stopped\n",
    stderr: "",
  });
  const absent = await runCli(["proxmox", "109", "status"], { env });
  assert.equal(absent.code, 3);
});
