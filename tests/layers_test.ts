/**
 * Imports run down the layers only: `ffi/` (bindings and the kernel's
 * constants) imports only `ffi/`; `impl/` (the backends, and `impl/shared/`
 * under both them and the core) imports only `impl/` and `ffi/`; `src/` (the
 * core and its helpers) and `mod.ts` import `src/`, `impl/` and `ffi/`.
 * Nothing imports `tests/` or `bench/`. Read from the source: every relative
 * specifier of an `import`, `export ... from` or `import()`.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** The folders each layer may import from. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  ffi: ["ffi"],
  impl: ["impl", "ffi"],
  src: ["src", "impl", "ffi"],
  "mod.ts": ["src", "impl", "ffi"],
};

/** The `.ts` files under `dir` (a path from the repository's root), recursively. */
function tsFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(new URL(`${dir}/`, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...tsFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/** A relative specifier after `from`, after `import` (a module run for its effects) or in `import(...)`. */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

/** What `file` imports: each target as a path from the repository's root. */
function importsOf(file: string): string[] {
  const source = Deno.readTextFileSync(new URL(file, ROOT));
  const from = new URL(file, ROOT);
  return [...source.matchAll(RELATIVE_IMPORT)].map(([, specifier]) => {
    const target = new URL(specifier, from).href;
    return target.startsWith(ROOT.href)
      ? target.slice(ROOT.href.length)
      : target;
  });
}

/** Every library module with the layer it belongs to. */
function libraryModules(): { file: string; layer: string }[] {
  return [
    ...["ffi", "impl", "src"].flatMap((layer) =>
      tsFiles(layer).map((file) => ({ file, layer }))
    ),
    { file: "mod.ts", layer: "mod.ts" },
  ];
}

/** The imports that leave the folders `layer` may use, as `file -> target`. */
function violations(layer: string): string[] {
  const allowed = MAY_IMPORT[layer];
  return libraryModules()
    .filter((module) => module.layer === layer)
    .flatMap(({ file }) =>
      importsOf(file)
        .filter((target) => !allowed.includes(target.split("/")[0]))
        .map((target) => `${file} -> ${target}`)
    );
}

Deno.test("the import scan finds static, re-exported and dynamic imports", () => {
  assert.ok(importsOf("src/aiofile.ts").includes("impl/backend.ts"));
  assert.ok(importsOf("mod.ts").includes("impl/shared/errors.ts"));
  assert.ok(importsOf("impl/select.ts").includes("impl/uring.ts"));
  assert.ok(importsOf("impl/ring/engine.ts").includes("ffi/errno.ts"));
});

Deno.test("ffi/ imports only ffi/", () => {
  assert.deepEqual(violations("ffi"), []);
});

Deno.test("impl/ imports only impl/ and ffi/", () => {
  assert.deepEqual(violations("impl"), []);
});

Deno.test("src/ and mod.ts import only src/, impl/ and ffi/: never tests/ or bench/", () => {
  assert.deepEqual([...violations("src"), ...violations("mod.ts")], []);
});
