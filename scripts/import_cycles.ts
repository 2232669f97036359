/**
 * Fails when the library's modules import each other in a cycle, type-only
 * imports included. The graph comes from `deno info --json`, so it sees
 * imports exactly as Deno resolves them (JSDoc examples are not imports).
 *
 *   deno run --allow-read --allow-run scripts/import_cycles.ts [FOLDER]
 *
 * FOLDER (default: the current one) is a checkout; its library is every
 * `.ts` file outside `tests/`, `bench/`, `scripts/` and dot folders, and not
 * a `_test.ts`. Prints one line per cycle, `cycle: a.ts, b.ts, ...`, and
 * exits 1 when there is one; prints `no import cycles among N modules` and
 * exits 0 otherwise.
 *
 * @module
 */

import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SKIPPED_FOLDERS = new Set(["tests", "bench", "scripts", "node_modules"]);

/** The graph's modules: each library file (relative path) and the library files it imports. */
export type ImportGraph = Map<string, Set<string>>;

/** Lists the library's `.ts` files below `root`, as paths relative to it. */
export async function libraryFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(folder: string, depth: number): Promise<void> {
    for await (const entry of Deno.readDir(folder)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) {
        if (entry.name.startsWith(".")) continue;
        if (depth === 0 && SKIPPED_FOLDERS.has(entry.name)) continue;
        await walk(path, depth + 1);
      } else if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        files.push(relative(root, path));
      }
    }
  }
  await walk(root, 0);
  return files.sort();
}

interface InfoDependency {
  code?: { specifier?: string };
  type?: { specifier?: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/**
 * Builds the import graph of the library below `root` with `deno info --json`,
 * one run per file that no earlier run reached.
 */
export async function importGraph(root: string): Promise<ImportGraph> {
  const files = await libraryFiles(root);
  const library = new Set(files);
  const graph: ImportGraph = new Map(files.map((file) => [file, new Set<string>()]));
  const seen = new Set<string>();
  const local = (specifier: string | undefined): string | undefined => {
    if (specifier === undefined || !specifier.startsWith("file:")) return undefined;
    const path = relative(root, fileURLToPath(specifier));
    return library.has(path) ? path : undefined;
  };
  for (const file of files) {
    if (seen.has(file)) continue;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", file],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `deno info ${file} failed: ${new TextDecoder().decode(output.stderr).trim()}`,
      );
    }
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] };
    for (const module of info.modules) {
      const from = local(module.specifier);
      if (from === undefined) continue;
      seen.add(from);
      for (const dependency of module.dependencies ?? []) {
        for (const to of [local(dependency.code?.specifier), local(dependency.type?.specifier)]) {
          if (to !== undefined) graph.get(from)!.add(to);
        }
      }
    }
  }
  return graph;
}

/**
 * Finds the cycles of a graph: its strongly connected components of more
 * than one module, and modules that import themselves (Tarjan's algorithm).
 *
 * @returns Each cycle's modules, sorted; the cycles sorted by their first module.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) {
    if (!index.has(node)) visit(node);
  }
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

if (import.meta.main) {
  const root = resolve(Deno.args[0] ?? ".");
  const graph = await importGraph(root);
  const cycles = findCycles(graph);
  for (const cycle of cycles) console.log(`cycle: ${cycle.join(", ")}`);
  if (cycles.length > 0) {
    console.error(
      `${cycles.length} import cycle(s); move the shared type or value to a lower module`,
    );
    Deno.exit(1);
  }
  console.log(`no import cycles among ${graph.size} modules`);
}
