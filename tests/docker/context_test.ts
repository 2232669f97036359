import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../errors.ts";
import { resolveDockerHost } from "../../docker/_host.ts";

const sha = (name: string) => createHash("sha256").update(name).digest("hex");

/** A docker CLI folder in memory: `config.json` and contexts, each with a docker endpoint. */
function store(
  files: Record<string, string>,
): (path: string) => string {
  return (path) => {
    if (Object.hasOwn(files, path)) return files[path];
    throw new Deno.errors.NotFound(`No such file or directory: ${path}`);
  };
}

function meta(name: string, host: string, skip = false): string {
  return JSON.stringify({
    Name: name,
    Metadata: {},
    Endpoints: { docker: { Host: host, SkipTLSVerify: skip } },
  });
}

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("resolveDockerHost() follows the docker CLI's current context", async (t) => {
  const files = store({
    "/home/u/.docker/config.json": JSON.stringify({ currentContext: "rootless", auths: {} }),
    [`/home/u/.docker/contexts/meta/${sha("rootless")}/meta.json`]: meta(
      "rootless",
      "unix:///run/user/1000/docker.sock",
    ),
    [`/home/u/.docker/contexts/meta/${sha("podman")}/meta.json`]: meta(
      "podman",
      "unix:///run/podman/podman.sock",
    ),
    [`/cfg/contexts/meta/${sha("remote")}/meta.json`]: meta("remote", "tcp://h.example:2376"),
    [`/cfg/contexts/tls/${sha("remote")}/docker/ca.pem`]: "CA",
    [`/cfg/contexts/tls/${sha("remote")}/docker/cert.pem`]: "CERT",
    [`/cfg/contexts/tls/${sha("remote")}/docker/key.pem`]: "KEY",
  });
  const resolve = (vars: Record<string, string>) =>
    resolveDockerHost({}, env(vars), { readTextFile: files });
  await t.step("currentContext in ~/.docker/config.json", () => {
    assert.equal(resolve({ HOME: "/home/u" }).url, "unix:///run/user/1000/docker.sock");
  });
  await t.step("DOCKER_CONTEXT over config.json", () => {
    assert.equal(
      resolve({ HOME: "/home/u", DOCKER_CONTEXT: "podman" }).url,
      "unix:///run/podman/podman.sock",
    );
  });
  await t.step("DOCKER_HOST over any context", () => {
    assert.equal(
      resolve({ HOME: "/home/u", DOCKER_CONTEXT: "podman", DOCKER_HOST: "unix:///d.sock" }).url,
      "unix:///d.sock",
    );
  });
  await t.step("the configuration over any context", () => {
    const host = resolveDockerHost({ socketPath: "/c.sock" }, env({ HOME: "/home/u" }), {
      readTextFile: files,
    });
    assert.equal(host.url, "unix:///c.sock");
  });
  await t.step("the context default is the default socket", () => {
    assert.equal(
      resolve({ HOME: "/home/u", DOCKER_CONTEXT: "default" }).url,
      "unix:///var/run/docker.sock",
    );
  });
  await t.step("DOCKER_CONFIG, and a tcp:// context with its TLS files", () => {
    assert.deepEqual(resolve({ DOCKER_CONFIG: "/cfg", DOCKER_CONTEXT: "remote" }), {
      transport: "tls",
      hostname: "h.example",
      port: 2376,
      url: "tcp://h.example:2376",
      basePath: "",
      tls: {
        caFile: `/cfg/contexts/tls/${sha("remote")}/docker/ca.pem`,
        certFile: `/cfg/contexts/tls/${sha("remote")}/docker/cert.pem`,
        keyFile: `/cfg/contexts/tls/${sha("remote")}/docker/key.pem`,
      },
    });
  });
  await t.step("no config.json, or no permission to read it: the default socket", () => {
    assert.equal(resolve({ HOME: "/nobody" }).url, "unix:///var/run/docker.sock");
    const denied = () => {
      throw new Deno.errors.NotCapable('Requires read access to "/home/u/.docker/config.json"');
    };
    const host = resolveDockerHost({}, env({ HOME: "/home/u" }), { readTextFile: denied });
    assert.equal(host.url, "unix:///var/run/docker.sock");
  });
  await t.step("a context that does not exist is an error, as in the docker CLI", () => {
    assert.throws(
      () => resolve({ HOME: "/home/u", DOCKER_CONTEXT: "gone" }),
      (error) =>
        error instanceof InvalidArgumentError &&
        error.reason ===
          'Cannot use docker context "gone" (from DOCKER_CONTEXT): it does not exist',
    );
  });
  await t.step("a context that skips TLS verification is refused", () => {
    const skipping = store({
      [`/cfg/contexts/meta/${sha("lax")}/meta.json`]: meta("lax", "tcp://h:2376", true),
    });
    assert.throws(
      () =>
        resolveDockerHost({}, env({ DOCKER_CONFIG: "/cfg", DOCKER_CONTEXT: "lax" }), {
          readTextFile: skipping,
        }),
      /skips TLS verification/,
    );
  });
});
