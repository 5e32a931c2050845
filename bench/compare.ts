/**
 * One comparison run: the read benches and fio, interleaved over several rounds
 * (bench, fio, bench, fio, ...) so that drift on a noisy machine hits both
 * alike, then `bench/summary.ts` prints IOPS ranges and ratios to
 * `Deno.FsFile` and to fio.
 *
 * ```sh
 * deno run --allow-all bench/compare.ts [rounds=2]
 * ```
 *
 * @module
 */

const rounds = Number(Deno.args[0] ?? 2);
const dir = await Deno.makeTempDir({ prefix: "aiofile-compare-" });
const here = (file: string) =>
  decodeURIComponent(new URL(file, import.meta.url).pathname);

async function capture(args: string[], out: string): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  if (code !== 0) {
    throw new Error(
      `${args.join(" ")} failed:\n${new TextDecoder().decode(stderr)}`,
    );
  }
  await Deno.writeFile(out, stdout);
}

const reports: string[] = [];
for (let round = 1; round <= rounds; round++) {
  console.error(`round ${round} of ${rounds}: deno bench`);
  const bench = `${dir}/bench${round}.json`;
  await capture(
    ["bench", "--allow-all", "--json", here("./read.bench.ts")],
    bench,
  );
  console.error(`round ${round} of ${rounds}: fio`);
  const fio = `${dir}/fio${round}.json`;
  await capture(["run", "--allow-all", here("./fio.ts"), "--json"], fio);
  reports.push(bench, fio);
}
const summary = await new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-read", here("./summary.ts"), ...reports],
  stdout: "inherit",
  stderr: "inherit",
}).output();
await Deno.remove(dir, { recursive: true });
Deno.exit(summary.code);
