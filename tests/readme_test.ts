import assert from "node:assert/strict";

const REPO = new URL("../", import.meta.url).pathname;

/** The TypeScript block that follows `heading` in the README. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await Deno.readTextFile(`${REPO}README.md`);
  const start = readme.indexOf(`\n${heading}\n`);
  assert.notEqual(start, -1, `README has no "${heading}"`);
  const match = /\n```ts\n([\s\S]*?)\n```\n/.exec(readme.slice(start));
  assert.ok(match, `no ts block after "${heading}"`);
  return match[1];
}

/** Runs `code` as a program of this package (its imports resolve through deno.json). */
async function runProgram(
  code: string,
  options: { args?: string[]; env?: Record<string, string> },
) {
  const file = await Deno.makeTempFile({ prefix: "idlewatcher-readme-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const env: Record<string, string> = { NO_COLOR: "1", ...options.env };
    for (const key of ["PATH", "HOME", "DENO_DIR"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) env[key] = value;
    }
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${REPO}deno.json`, file, ...(options.args ?? [])],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("README's Errors example handles a dead socket without a word on stderr", async () => {
  const code = await readmeBlock("### Errors");
  const result = await runProgram(code, {
    args: ["web"],
    env: { DOCKER_HOST: "unix:///nonexistent/idlewatcher/docker.sock" },
  });
  assert.deepEqual(result, { code: 0, stdout: "unknown\n", stderr: "" });
});

Deno.test("defaultLogger prints a failed call as one ERROR line, without stack or cause", async () => {
  const code = `
    import { newDockerProvider } from "@idlewatcher/provider/docker";
    using provider = newDockerProvider({}, "web");
    console.log(await provider.containerStatus().catch((error) => error.name));
  `;
  const result = await runProgram(code, {
    env: { DOCKER_HOST: "unix:///nonexistent/idlewatcher/docker.sock" },
  });
  assert.deepEqual(result, {
    code: 0,
    stdout: "ConnectionError\n",
    stderr: 'ERROR docker status web: Cannot read the status of container "web": ' +
      "cannot reach the daemon at unix:///nonexistent/idlewatcher/docker.sock: no such socket " +
      "(fix: start the daemon, or give the provider its socket (socketPath, url or DOCKER_HOST))\n",
  });
});

Deno.test("README's Logging section shows the line defaultLogger prints", async () => {
  const readme = await Deno.readTextFile(`${REPO}README.md`);
  const shown = /\n(ERROR docker start web: .*)\n/.exec(readme)?.[1];
  assert.ok(shown);
  const code = `
    import { newDockerProvider } from "@idlewatcher/provider/docker";
    using provider = newDockerProvider({}, "web");
    await provider.containerStart().catch(() => {});
  `;
  const result = await runProgram(code, {
    env: { DOCKER_HOST: "unix:///var/run/docker.sock", HOME: "/nonexistent" },
  });
  // Where the machine has a Docker at the default socket, the line differs; the shape does not.
  if (result.stderr.includes("no such socket")) assert.equal(result.stderr, `${shown}\n`);
  else assert.equal(result.stderr.split("\n").length, result.stderr === "" ? 1 : 2);
});
