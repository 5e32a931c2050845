/**
 * Every public symbol of `mod.ts`, and every public method and getter of its
 * classes, has an `@example` with a title whose code asserts its result
 * (denoland/std's style): `deno test --doc` then checks what the docs show.
 * Read from `deno doc --json mod.ts`; fields and constructors are shown by
 * their class's examples and are not counted here.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A JSDoc tag as `deno doc --json` gives it. */
interface Tag {
  kind: string;
  doc?: string;
}

/** The parts of a `deno doc --json` declaration this test reads. */
interface Declaration {
  kind: string;
  jsDoc?: { tags?: Tag[] };
  def?: {
    methods?: {
      name: string;
      kind: string;
      accessibility?: string;
      isStatic?: boolean;
      jsDoc?: { tags?: Tag[] };
    }[];
  };
}

/** Every documented thing that must show an example, with its examples. */
async function documented(): Promise<Map<string, Tag[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: decodeURIComponent(new URL("../", import.meta.url).pathname),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(output.code, 0, "deno doc --json mod.ts failed");
  const json = JSON.parse(new TextDecoder().decode(output.stdout));
  const modules = Object.values(json.nodes) as {
    module_doc?: { tags?: Tag[] };
    symbols: { name: string; declarations: Declaration[] }[];
  }[];
  const examples = (tags: Tag[] | undefined) =>
    (tags ?? []).filter((tag) => tag.kind === "example");
  const found = new Map<string, Tag[]>();
  const add = (name: string, tags: Tag[]) =>
    found.set(name, [...(found.get(name) ?? []), ...tags]);
  for (const module of modules) {
    add("mod.ts (module doc)", examples(module.module_doc?.tags));
    for (const symbol of module.symbols) {
      for (const declaration of symbol.declarations) {
        add(symbol.name, examples(declaration.jsDoc?.tags));
        for (const method of declaration.def?.methods ?? []) {
          if (method.accessibility === "private") continue;
          // Overloads count together: one example may show every form.
          const member = method.isStatic ? "." : "#"; // AIOFile.open, AIOFile#open
          add(
            `${symbol.name}${member}${method.name}`,
            examples(method.jsDoc?.tags),
          );
        }
      }
    }
  }
  return found;
}

Deno.test("every public symbol, method and getter has an example", async () => {
  const missing = [...await documented()]
    .filter(([, tags]) => tags.length === 0)
    .map(([name]) => name);
  assert.deepEqual(missing, []);
});

Deno.test("every example has a title and asserts its result", async () => {
  const faults: string[] = [];
  for (const [name, tags] of await documented()) {
    for (const { doc = "" } of tags) {
      const code = doc.indexOf("```ts");
      if (code === -1) faults.push(`${name}: an example without ts code`);
      const title = doc.slice(0, Math.max(code, 0)).trim();
      if (title === "") faults.push(`${name}: an example without a title`);
      // A call such as `assert(...)` or `assert.equal(...)`, not the import.
      if (!/\bassert(\.\w+)?\(/.test(doc)) {
        faults.push(`${name}: "${title}" asserts nothing`);
      }
    }
  }
  assert.deepEqual(faults, []);
});
