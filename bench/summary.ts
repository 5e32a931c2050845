/**
 * Turns saved `deno bench --json` reports (and optionally `bench/fio.ts --json`
 * reports) into IOPS, with the range over several runs and ratios against each
 * group's baseline and against fio at the same queue depth.
 *
 * The operations per iteration are read from the group name (`QD32` means 32).
 *
 * ```sh
 * deno bench --json ... bench/ > run1.json        # twice or more
 * deno run --allow-read --allow-write --allow-env --allow-run=fio bench/fio.ts --json > fio1.json
 * deno run --allow-read bench/summary.ts run1.json run2.json fio1.json fio2.json
 * ```
 *
 * @module
 */

interface BenchEntry {
  group?: string | null;
  name: string;
  baseline: boolean;
  results: { ok?: { avg: number } }[];
}

interface FioResult {
  name: string;
  iops?: number;
}

const benches = new Map<
  string,
  { group: string; name: string; iops: number[]; ratio: number[] }
>();
const fio = new Map<string, number[]>();

function depthOf(text: string): number {
  const match = /QD(\d+)/.exec(text);
  return match === null ? 1 : Number(match[1]);
}

for (const file of Deno.args) {
  const text = await Deno.readTextFile(file);
  const report = JSON.parse(text.slice(text.indexOf("{")));
  if (Array.isArray(report.benches)) {
    const entries = report.benches as BenchEntry[];
    const baselines = new Map<string, number>();
    for (const entry of entries) {
      const avg = entry.results[0]?.ok?.avg;
      if (
        entry.baseline && avg !== undefined && !baselines.has(entry.group ?? "")
      ) {
        baselines.set(entry.group ?? "", avg);
      }
    }
    for (const entry of entries) {
      const avg = entry.results[0]?.ok?.avg;
      if (avg === undefined) continue;
      const group = entry.group ?? "";
      const key = `${group}\u0000${entry.name}`;
      let row = benches.get(key);
      if (row === undefined) {
        row = { group, name: entry.name, iops: [], ratio: [] };
        benches.set(key, row);
      }
      row.iops.push(depthOf(group) * 1e9 / avg);
      const base = baselines.get(group);
      if (base !== undefined) row.ratio.push(base / avg);
    }
  } else if (Array.isArray(report.results)) {
    for (const result of report.results as FioResult[]) {
      if (result.iops === undefined) continue;
      const list = fio.get(result.name) ?? [];
      list.push(result.iops);
      fio.set(result.name, list);
    }
  } else {
    throw new Error(`${file}: neither a deno bench nor a fio.ts JSON report`);
  }
}

function kilo(n: number): string {
  return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
}

function range(values: number[], show: (n: number) => string): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return show(low) === show(high) ? show(low) : `${show(low)}-${show(high)}`;
}

const times = (n: number) => `${n.toFixed(2)}x`;
const mean = (values: number[]) =>
  values.reduce((a, b) => a + b, 0) / values.length;

/**
 * The best fio job (random reads) at the depth of a read group (highest mean
 * IOPS), as [name, mean IOPS]; none for other groups.
 */
function bestFio(group: string): [string, number] | undefined {
  if (!/\bread\b/.test(group)) return undefined;
  const depth = depthOf(group);
  let best: [string, number] | undefined;
  const direct = group.includes("O_DIRECT");
  for (const [name, values] of fio) {
    if (depthOf(name) !== depth || name.includes("O_DIRECT") !== direct) {
      continue;
    }
    const value = mean(values);
    if (best === undefined || value > best[1]) best = [name, value];
  }
  return best;
}

let lastGroup: string | undefined;
for (const row of benches.values()) {
  if (row.group !== lastGroup) {
    lastGroup = row.group;
    const reference = bestFio(row.group);
    console.log(
      `\n${row.group}${
        reference === undefined
          ? ""
          : ` — vs ${reference[0]} at ${kilo(reference[1])} IOPS (mean)`
      }`,
    );
  }
  const reference = bestFio(row.group);
  const vsFio = reference === undefined
    ? ""
    : `  ${range(row.iops.map((v) => v / reference[1]), times)} of fio`;
  const vsBaseline = row.ratio.length === 0
    ? "" // the group has no baseline
    : `  ${range(row.ratio, times).padStart(11)} vs baseline`;
  console.log(
    `  ${row.name.padEnd(56)} ${
      range(row.iops, kilo).padStart(11)
    } IOPS${vsBaseline}${vsFio}`,
  );
}
if (fio.size > 0) {
  console.log("\nfio");
  for (const [name, values] of fio) {
    console.log(
      `  ${name.padEnd(56)} ${range(values, kilo).padStart(11)} IOPS`,
    );
  }
}
console.log(`\n(${Deno.args.length} reports; ranges are min-max over runs)`);
