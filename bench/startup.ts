/**
 * What the library costs a fresh process: importing `mod.ts` against an empty
 * script, and opening and reading one 100 KB file through `AIOFile` against
 * `Deno.readFile`, each a `deno run -A` of its own. The scripts run in turn,
 * round after round (A B C D, A B C D, ...), so that drift on a noisy machine
 * hits all alike; the table gives medians with min-max, and the ratios.
 *
 * ```sh
 * deno task bench:startup [rounds=20]
 * ```
 *
 * @module
 */

import { spread } from "./results.ts";

const rounds = Number(Deno.args[0] ?? 20);
const dir = await Deno.makeTempDir({ prefix: "aiofile-startup-" });
const mod = new URL("../mod.ts", import.meta.url).href;
const data = `${dir}/data.bin`;
await Deno.writeFile(data, crypto.getRandomValues(new Uint8Array(65536)));
await Deno.writeFile(data, new Uint8Array(100_000), { append: true });

const SCRIPTS: Record<string, string> = {
  "empty script": "",
  "import mod.ts": `import "${mod}";`,
  "Deno.readFile, 100 KB":
    `const b = await Deno.readFile(${JSON.stringify(data)});\n` +
    `if (b.length !== 165536) throw new Error("short");`,
  "AIOFile open + read, 100 KB": `import { AIOFile } from "${mod}";\n` +
    `await using afp = await AIOFile.open(${JSON.stringify(data)}, "rb");\n` +
    `const b = await afp.read();\n` +
    `if (b.length !== 165536) throw new Error("short");`,
  "same, deno backend": `import { AIOFile, createContext } from "${mod}";\n` +
    `await using context = createContext({ backend: "deno" });\n` +
    `await using afp = await AIOFile.open(${
      JSON.stringify(data)
    }, "rb", { context });\n` +
    `const b = await afp.read();\n` +
    `if (b.length !== 165536) throw new Error("short");`,
  "a local module importing nothing": `import "${
    new URL("./startup_empty_module.ts", import.meta.url).href
  }";`,
};

const paths: Record<string, string> = {};
for (const [name, source] of Object.entries(SCRIPTS)) {
  paths[name] = `${dir}/${name.replace(/\W+/g, "_")}.ts`;
  await Deno.writeTextFile(paths[name], source);
}

async function runOnce(path: string): Promise<number> {
  const started = performance.now();
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", path],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "null",
  }).output();
  const ms = performance.now() - started;
  if (!success) throw new Error(new TextDecoder().decode(stderr));
  return ms;
}

try {
  // Caches every module first: the runs measure starting, not compiling.
  for (const path of Object.values(paths)) await runOnce(path);
  const times: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, path] of Object.entries(paths)) {
      (times[name] ??= []).push(await runOnce(path));
    }
  }
  const median = (name: string) => spread(times[name]).median;
  const rows = Object.keys(SCRIPTS).map((name) => {
    const { median: mid, min, max } = spread(times[name]);
    return `| ${name} | ${mid.toFixed(1)} (${min.toFixed(1)}-${
      max.toFixed(1)
    }) |`;
  });
  console.log(`| script (deno run -A) | ms, median (min-max) of ${rounds} |`);
  console.log("| --- | --- |");
  for (const row of rows) console.log(row);
  console.log(
    `\nimport mod.ts over an empty script: ${
      (median("import mod.ts") - median("empty script")).toFixed(1)
    } ms (target: within 5 ms)`,
  );
  console.log(
    `AIOFile open + read against Deno.readFile: ${
      (median("AIOFile open + read, 100 KB") /
        median("Deno.readFile, 100 KB")).toFixed(2)
    }x (target: within 1.3x); on the deno backend ${
      (median("same, deno backend") / median("Deno.readFile, 100 KB"))
        .toFixed(2)
    }x`,
  );
  console.log(
    `any first local import (a module of nothing) over an empty script: ${
      (median("a local module importing nothing") - median("empty script"))
        .toFixed(1)
    } ms`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
