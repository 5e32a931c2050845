/**
 * Importing `mod.ts` costs nothing: its static module graph holds no `node:`
 * module (the first one starts Deno's Node compatibility layer, 20-25 ms) and
 * no FFI code. Backends load with `import()` when the first file that needs
 * one opens.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The modules `mod.ts` imports statically, directly or not (`deno info`). */
async function staticGraph(): Promise<string[]> {
  const root = new URL("../mod.ts", import.meta.url);
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root.pathname],
    env: { NO_COLOR: "1" },
  }).output();
  assert.ok(success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: {
        isDynamic?: boolean;
        code?: { specifier?: string };
        type?: { specifier?: string };
      }[];
    }[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      if (dependency.isDynamic) continue;
      for (const to of [dependency.code, dependency.type]) {
        if (to?.specifier !== undefined) stack.push(to.specifier);
      }
    }
  }
  const base = new URL("../", import.meta.url).href;
  return [...seen].map((s) => s.startsWith(base) ? s.slice(base.length) : s);
}

/** Modules of FFI code: the bindings, and what calls them. */
const FFI_MODULES = [
  /^ffi\/(?!(arch|errno)\.ts$)/, // ffi/arch.ts and ffi/errno.ts hold constants only
  /^impl\/(ring|uring\w*|linux|thread|stream_file|descriptor|wake|providers)\.ts$/,
];

Deno.test("mod.ts imports no node: module and no FFI code statically", async () => {
  const graph = await staticGraph();
  assert.ok(graph.includes("mod.ts"));
  assert.ok(graph.includes("src/aiofile.ts"), "the graph was not followed");
  const node = graph.filter((s) => s.startsWith("node:"));
  assert.deepEqual(node, [], "node: modules in the static graph");
  const ffi = graph.filter((s) => FFI_MODULES.some((re) => re.test(s)));
  assert.deepEqual(ffi, [], "FFI modules in the static graph");
});
