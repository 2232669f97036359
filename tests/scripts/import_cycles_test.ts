import assert from "node:assert/strict";
import { findCycles, importGraph } from "../../scripts/import_cycles.ts";

const SCRIPT = new URL("../../scripts/import_cycles.ts", import.meta.url).pathname;
const REPO = new URL("../..", import.meta.url).pathname;

async function runCheck(folder: string): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", SCRIPT, folder],
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

async function withFiles(
  files: Record<string, string>,
  body: (folder: string) => Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "import-cycles-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${folder}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${folder}/${path}`, text);
    }
    await body(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("import_cycles.ts fails on a cycle that closes through a type-only import", async () => {
  await withFiles({
    "mod.ts": 'export { a } from "./a.ts";\n',
    "a.ts": 'import type { B } from "./lib/b.ts";\nexport const a = (b: B) => b.n;\n',
    "lib/b.ts":
      'import { a } from "../a.ts";\nexport interface B { n: number }\nexport const c = a;\n',
  }, async (folder) => {
    const { code, stdout } = await runCheck(folder);
    assert.equal(code, 1);
    assert.equal(stdout.trim(), "cycle: a.ts, lib/b.ts");
  });
});

Deno.test("import_cycles.ts passes a graph without cycles and ignores tests/ and bench/", async () => {
  await withFiles({
    "mod.ts": 'export { a } from "./a.ts";\n',
    "a.ts": 'import type { B } from "./b.ts";\nexport const a = (b: B) => b.n;\n',
    "b.ts": "export interface B { n: number }\n",
    "tests/x.ts": 'import { y } from "./y.ts";\nexport const x = y;\n',
    "tests/y.ts": 'import { x } from "./x.ts";\nexport const y = () => x;\n',
  }, async (folder) => {
    const { code, stdout } = await runCheck(folder);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), "no import cycles among 3 modules");
  });
});

Deno.test("findCycles() reports a module that imports itself", () => {
  const graph = new Map([["a.ts", new Set(["a.ts"])], ["b.ts", new Set(["a.ts"])]]);
  assert.deepEqual(findCycles(graph), [["a.ts"]]);
});

Deno.test("the library has no import cycles", async () => {
  const graph = await importGraph(REPO);
  assert.ok(graph.has("mod.ts") && graph.has("_internal/http/client.ts"));
  assert.deepEqual(findCycles(graph), []);
});
