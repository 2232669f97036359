import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../errors.ts";
import {
  type DockerHost,
  type EnvReader,
  loadDialTarget,
  resolveDockerHost,
} from "../../docker/_host.ts";
import { newDockerProvider } from "../../docker/mod.ts";

/** An environment made of `vars`; records which names were read. */
function envOf(vars: Record<string, string>): EnvReader & { read: string[] } {
  const read: string[] = [];
  const env = (name: string) => {
    read.push(name);
    return vars[name];
  };
  return Object.assign(env, { read });
}

function invalid(pattern: RegExp) {
  return (error: unknown) => error instanceof InvalidArgumentError && pattern.test(error.message);
}

Deno.test({
  name: "resolveDockerHost() follows the config, then DOCKER_HOST, then the default socket",
  permissions: "none",
  async fn(t) {
    await t.step("default socket, reading only DOCKER_HOST", () => {
      const env = envOf({});
      assert.deepEqual(resolveDockerHost({}, env), {
        transport: "unix",
        path: "/var/run/docker.sock",
        url: "unix:///var/run/docker.sock",
        basePath: "",
      });
      assert.deepEqual(env.read, ["DOCKER_HOST"]);
    });

    await t.step("DOCKER_HOST", () => {
      const host = resolveDockerHost({}, envOf({ DOCKER_HOST: "unix:///run/podman/podman.sock" }));
      assert.equal(host.transport, "unix");
      assert.equal(host.transport === "unix" && host.path, "/run/podman/podman.sock");
    });

    await t.step("an empty DOCKER_HOST counts as unset", () => {
      assert.equal(
        resolveDockerHost({}, envOf({ DOCKER_HOST: "" })).url,
        "unix:///var/run/docker.sock",
      );
    });

    await t.step("config.url wins and the environment is not read", () => {
      const env = envOf({ DOCKER_HOST: "tcp://elsewhere:2375" });
      const host = resolveDockerHost({ url: "unix:///tmp/d.sock" }, env);
      assert.equal(host.url, "unix:///tmp/d.sock");
      assert.deepEqual(env.read, []);
    });

    await t.step("config.socketPath is unix://<path>", () => {
      const env = envOf({});
      assert.deepEqual(
        resolveDockerHost({ socketPath: "/tmp/d.sock" }, env),
        resolveDockerHost({ url: "unix:///tmp/d.sock" }, env),
      );
      assert.deepEqual(env.read, []);
    });
  },
});

Deno.test({
  name: "resolveDockerHost() resolves tcp://, http:// and https:// hosts",
  permissions: "none",
  async fn(t) {
    const cases: [string, Record<string, string>, DockerHost][] = [
      ["tcp://127.0.0.1:2375", {}, {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: 2375,
        url: "tcp://127.0.0.1:2375",
        basePath: "",
      }],
      ["tcp://docker.example", {}, {
        transport: "tcp",
        hostname: "docker.example",
        port: 2375,
        url: "tcp://docker.example:2375",
        basePath: "",
      }],
      ["http://[::1]:8080/", {}, {
        transport: "tcp",
        hostname: "::1",
        port: 8080,
        url: "http://[::1]:8080",
        basePath: "",
      }],
      ["http://proxy.example/docker/", {}, {
        transport: "tcp",
        hostname: "proxy.example",
        port: 80,
        url: "http://proxy.example:80/docker",
        basePath: "/docker",
      }],
      ["https://docker.example", {}, {
        transport: "tls",
        hostname: "docker.example",
        port: 443,
        url: "https://docker.example:443",
        basePath: "",
        tls: {},
      }],
      ["TCP://h:1234", { DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs/" }, {
        transport: "tls",
        hostname: "h",
        port: 1234,
        url: "tcp://h:1234",
        basePath: "",
        tls: { caFile: "/certs/ca.pem", certFile: "/certs/cert.pem", keyFile: "/certs/key.pem" },
      }],
      ["tcp://h", { DOCKER_TLS_VERIFY: "yes", HOME: "/home/me" }, {
        transport: "tls",
        hostname: "h",
        port: 2376,
        url: "tcp://h:2376",
        basePath: "",
        tls: {
          caFile: "/home/me/.docker/ca.pem",
          certFile: "/home/me/.docker/cert.pem",
          keyFile: "/home/me/.docker/key.pem",
        },
      }],
    ];
    for (const [url, vars, expected] of cases) {
      await t.step(`${url} ${JSON.stringify(vars)}`, () => {
        assert.deepEqual(resolveDockerHost({ url }, envOf(vars)), expected);
      });
    }

    await t.step("config.tls turns tcp:// into TLS without reading the environment", () => {
      const env = envOf({});
      const tls = { caFile: "/c/ca.pem", certFile: "/c/cert.pem", keyFile: "/c/key.pem" };
      const host = resolveDockerHost({ url: "tcp://h:2376", tls }, env);
      assert.equal(host.transport, "tls");
      assert.deepEqual(host.transport === "tls" && host.tls, tls);
      assert.deepEqual(env.read, []);
    });

    await t.step("DOCKER_HOST with DOCKER_TLS_VERIFY, like the docker CLI", () => {
      const host = resolveDockerHost(
        {},
        envOf({ DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/c" }),
      );
      assert.equal(host.transport, "tls");
      assert.equal(host.transport === "tls" && host.tls?.keyFile, "/c/key.pem");
    });
  },
});

Deno.test({
  name: "resolveDockerHost() refuses bad hosts with an InvalidArgumentError",
  permissions: "none",
  async fn(t) {
    const cases: [
      string,
      Parameters<typeof resolveDockerHost>[0],
      Record<string, string>,
      RegExp,
    ][] = [
      ["an unsupported scheme", { url: "ssh://me@h" }, {}, /unsupported scheme "ssh:\/\/"/],
      ["a bad DOCKER_HOST", {}, { DOCKER_HOST: "npipe:////./pipe/docker" }, /from DOCKER_HOST/],
      ["no scheme", { url: "/var/run/docker.sock" }, {}, /no scheme/],
      ["an empty socket path", { url: "unix://" }, {}, /socket path is empty/],
      ["url and socketPath", { url: "unix:///a", socketPath: "/b" }, {}, /not both/],
      ["an empty url", { url: "" }, {}, /url must be a non-empty string/],
      ["TLS on a unix socket", { socketPath: "/s", tls: {} }, {}, /do not apply to a unix socket/],
      ["TLS on http://", { url: "http://h", tls: {} }, {}, /http:\/\/ is plain text/],
      [
        "a certificate without its key",
        { url: "tcp://h", tls: { certFile: "c" } },
        {},
        /go together/,
      ],
      ["a query", { url: "tcp://h:1?x=1" }, {}, /query or a fragment/],
      ["no host name", { url: "http://:80" }, {}, /not a valid URL|no host name/],
      [
        "DOCKER_TLS_VERIFY without DOCKER_CERT_PATH or HOME",
        { url: "tcp://h" },
        { DOCKER_TLS_VERIFY: "1" },
        /set DOCKER_CERT_PATH/,
      ],
    ];
    for (const [what, config, vars, pattern] of cases) {
      await t.step(what, () => {
        assert.throws(() => resolveDockerHost(config, envOf(vars)), invalid(pattern));
      });
    }

    await t.step("credentials in the URL are refused and not echoed", () => {
      assert.throws(
        () => resolveDockerHost({ url: "https://admin:s3cret@h" }, envOf({})),
        (error: Error) =>
          invalid(/credentials in the URL/)(error) && !error.message.includes("s3cret"),
      );
    });
  },
});

Deno.test({
  name: "loadDialTarget() reads the TLS files into the dial target",
  permissions: "none",
  async fn(t) {
    const files: Record<string, string> = {
      "/c/ca.pem": "CA",
      "/c/cert.pem": "CERT",
      "/c/key.pem": "KEY",
    };
    const read = (path: string) => files[path];

    await t.step("tls with every file", () => {
      const host = resolveDockerHost(
        {
          url: "tcp://h:2376",
          tls: { caFile: "/c/ca.pem", certFile: "/c/cert.pem", keyFile: "/c/key.pem" },
        },
        envOf({}),
      );
      assert.deepEqual(loadDialTarget(host, read), {
        transport: "tls",
        hostname: "h",
        port: 2376,
        caCerts: ["CA"],
        cert: "CERT",
        key: "KEY",
      });
    });

    await t.step("https:// with the system's roots", () => {
      const host = resolveDockerHost({ url: "https://h" }, envOf({}));
      assert.deepEqual(loadDialTarget(host, read), {
        transport: "tls",
        hostname: "h",
        port: 443,
        caCerts: undefined,
        cert: undefined,
        key: undefined,
      });
    });

    await t.step("unix and tcp read nothing", () => {
      const none = () => assert.fail("no file should be read");
      assert.deepEqual(loadDialTarget(resolveDockerHost({ socketPath: "/s" }, envOf({})), none), {
        transport: "unix",
        path: "/s",
      });
      assert.deepEqual(loadDialTarget(resolveDockerHost({ url: "tcp://h:1" }, envOf({})), none), {
        transport: "tcp",
        hostname: "h",
        port: 1,
      });
    });
  },
});

Deno.test({
  name: "newDockerProvider() names the --allow-env flag it lacks",
  permissions: { env: false, read: false, write: false, net: false },
  fn() {
    assert.throws(
      () => newDockerProvider({}, "web"),
      invalid(
        /Cannot read the environment variable DOCKER_HOST: missing permission; run with --allow-env=DOCKER_HOST/,
      ),
    );
  },
});

Deno.test({
  name: "newDockerProvider() names in one error the --allow-read flag all its TLS files need",
  permissions: { env: false, read: false, write: false, net: false },
  fn() {
    assert.throws(
      () =>
        newDockerProvider({
          url: "tcp://127.0.0.1:1",
          tls: { caFile: "/etc/ca.pem", certFile: "/etc/cert.pem", keyFile: "/etc/key.pem" },
        }, "web"),
      invalid(
        /^Cannot read the TLS files \/etc\/ca.pem, \/etc\/cert.pem, \/etc\/key.pem: missing permission; run with --allow-read=\/etc\/ca.pem,\/etc\/cert.pem,\/etc\/key.pem$/,
      ),
    );
  },
});

Deno.test({
  name: "newDockerProvider() names a missing TLS file",
  permissions: { read: true },
  fn() {
    const missing = "/nonexistent/idlewatcher/ca.pem";
    assert.throws(
      () => newDockerProvider({ url: "tcp://127.0.0.1:1", tls: { caFile: missing } }, "web"),
      invalid(new RegExp(`Cannot read the TLS file ${missing}: no such file`)),
    );
  },
});
