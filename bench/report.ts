/**
 * Renders suite results for people: a plain-text table for the terminal and
 * `bench/RESULTS.md` (the soak test's section of an existing file is kept).
 *
 * @module
 */

import { cells, type Results, summarise } from "./results.ts";

/** The column heads of a workload's table. */
function header(unit: string): string[] {
  return ["participant", `${unit}, median (min-max)`, "vs fio", "vs FsFile"];
}

/** The results as aligned plain-text tables, one per workload. */
export function textTables(results: Results): string {
  const out: string[] = [];
  for (const result of results.workloads) {
    const { workload } = result;
    const rows = [
      header(workload.unit),
      ...summarise(result).map((s) => cells(s, workload.unit)),
    ];
    const widths = rows[0].map((_, i) =>
      Math.max(...rows.map((r) => r[i].length))
    );
    out.push(`\n${workload.title} [${workload.id}]`);
    for (const row of rows) {
      out.push(
        "  " +
          row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd(),
      );
    }
  }
  return out.join("\n");
}

/** Where the soak test's section of `RESULTS.md` starts (`bench/soak.ts` writes it). */
export const SOAK_START = "<!-- soak:start -->";
/** Where the soak test's section of `RESULTS.md` ends. */
export const SOAK_END = "<!-- soak:end -->";

/** The soak test's section of an existing `RESULTS.md`, markers included, or a placeholder. */
export function soakSection(existing: string | undefined): string {
  const start = existing?.indexOf(SOAK_START) ?? -1;
  const end = existing?.indexOf(SOAK_END) ?? -1;
  if (existing !== undefined && start >= 0 && end > start) {
    return existing.slice(start, end + SOAK_END.length);
  }
  return `${SOAK_START}\n\n## Soak\n\nNot run yet: \`deno task soak\` writes its summary here.\n\n${SOAK_END}`;
}

function markdownTable(rows: string[][]): string {
  const line = (row: string[]) => `| ${row.join(" | ")} |`;
  return [
    line(rows[0]),
    line(rows[0].map(() => "---")),
    ...rows.slice(1).map(line),
  ]
    .join("\n");
}

/** `bench/RESULTS.md`: machine, method, one table per workload, the chart, the soak section. */
export function markdown(results: Results, soak: string): string {
  const { machine, options } = results;
  const tables = results.workloads.map((result) => {
    const { workload } = result;
    const rows = [
      header(workload.unit),
      ...summarise(result).map((s) => cells(s, workload.unit)),
    ];
    return `### ${workload.title}\n\n\`${workload.id}\`: ${
      workload.block / 1024
    } KiB requests, ${workload.depth} in flight for participants that can have more than one.\n\n${
      markdownTable(rows)
    }`;
  });
  return `# Benchmark results

Regenerated with \`deno task bench\` (this file, \`bench/results.svg\` and
\`bench/results.json\`). Figures depend on the machine; the ratios are what
carries over.

| | |
|---|---|
| date | ${machine.date} |
| CPU | ${machine.cpu}, ${machine.cores} cores |
| memory | ${machine.memoryGiB} GiB |
| kernel | ${machine.kernel} |
| file system | ${machine.fileSystem} |
| Deno | ${machine.deno} |
| Node.js | ${machine.node ?? "not installed"} |
| fio | ${machine.fio ?? "not installed"} |

## Method

- Files: ${options.readMiB} MiB of random data for reads, ${options.writeMiB} MiB written sequentially then \`fsync\`ed, the same size rewritten at random, ${options.linesMiB} MiB of 100-byte lines. Page-cached workloads read their file fully right before the workload runs in each round (this kernel evicts idle page cache within about a minute); \`O_DIRECT\` workloads go to the device.
- Requests are kept in flight as fio keeps them: each completion starts the next request at once (a sliding window of the queue depth). \`Deno.FsFile\` with one handle has a file pointer and no positional read, so it runs one request at a time whatever the depth; "a handle per request in flight" opens one per window slot, before timing. fio \`psync\` is synchronous, so QD1.
- Each participant times only its own work (fio and Node.js report theirs). About ${options.seconds} s per measurement; the sequential write and the line count do a fixed amount of work.
- A warm-up round, then ${options.rounds} rounds; each round runs every participant of a workload in turn (A B C, B C A, C A B, ...: a different one first each round), so drift on a shared machine hits all alike. After each random-write measurement the file is synced, untimed, so that no participant inherits another's dirty pages.
- Figures: median (min-max) over rounds. Ratios are taken inside each round, then the median (min-max) of those is shown: "vs fio" to the fastest fio engine of the round, "vs FsFile" to \`Deno.FsFile\` with one handle. A participant that cannot take part says why.
- Line counting: \`AIOFile\` rows use \`LineReader\` (text); \`Deno.FsFile\` is \`readable\` + \`TextDecoderStream\` + \`split\`; \`node:fs\` is \`node:readline\` over \`createReadStream\`; Node.js runs \`node:readline\` too.

![Throughput of each participant relative to the fastest in each workload](results.svg)

## Figures

${tables.join("\n\n")}

${soak}
`;
}
