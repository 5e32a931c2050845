/**
 * `bench/results.svg`: one panel per workload, one bar per participant, the bar
 * showing its median relative to the fastest participant of the workload, and
 * the label its figure and its ratio to fio. Plain SVG, no script, readable on
 * GitHub and JSR in light and dark themes.
 *
 * @module
 */

import {
  formatRatio,
  formatValue,
  type Results,
  summarise,
  type Summary,
} from "./results.ts";

const WIDTH = 860;
const LABEL = 250;
const BAR = 400;
const ROW = 16;
const TITLE = 26;
const GAP = 12;
const MARGIN = 8;

/** Colours by kind of participant. */
function colour(name: string): string {
  if (name.startsWith("AIOFile")) return "#2f7ed8";
  if (name.startsWith("fio")) return "#8c8c8c";
  if (name.startsWith("Deno.FsFile")) return "#e8a33d";
  return "#59a14f";
}

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

function panel(
  title: string,
  unit: "IOPS" | "MiB/s",
  summaries: Summary[],
  top: number,
): { svg: string; height: number } {
  const shown = summaries.filter((s) => s.value !== undefined);
  if (shown.length === 0) return { svg: "", height: 0 };
  const best = Math.max(...shown.map((s) => s.value!.median));
  const parts = [
    `<text x="${MARGIN}" y="${top + 17}" class="title">${escape(title)}</text>`,
  ];
  shown.forEach((s, i) => {
    const y = top + TITLE + i * ROW;
    const width = Math.max(1, (s.value!.median / best) * BAR);
    const fio = s.vsFio === undefined || s.row.role === "fio"
      ? ""
      : `, ${formatRatio(s.vsFio.median)} fio`;
    parts.push(
      `<text x="${LABEL - 8}" y="${y + 11}" class="name">${
        escape(s.row.name)
      }</text>`,
      `<rect x="${LABEL}" y="${y + 2}" width="${width.toFixed(1)}" height="${
        ROW - 4
      }" fill="${colour(s.row.name)}"/>`,
      `<text x="${(LABEL + width + 6).toFixed(1)}" y="${
        y + 11
      }" class="value">${
        formatValue(s.value!.median, unit)
      } ${unit}${fio}</text>`,
    );
  });
  return { svg: parts.join("\n"), height: TITLE + shown.length * ROW + GAP };
}

/** The chart of a run, as an SVG document. */
export function chart(results: Results): string {
  let top = 8;
  const panels: string[] = [];
  for (const result of results.workloads) {
    const { svg, height } = panel(
      result.workload.title,
      result.workload.unit,
      summarise(result),
      top,
    );
    panels.push(svg);
    top += height;
  }
  const { machine } = results;
  const footer = `${
    machine.date.slice(0, 10)
  }, ${machine.cpu} (${machine.cores} cores), Linux ${machine.kernel}, ${machine.deno}`;
  const height = top + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">
<style>
.title { font-weight: 600; font-size: 14px; fill: #24292f; }
.name { text-anchor: end; fill: #24292f; }
.value, .footer { fill: #57606a; }
@media (prefers-color-scheme: dark) {
  .title, .name { fill: #e6edf3; }
  .value, .footer { fill: #9198a1; }
}
</style>
${panels.join("\n")}
<text x="0" y="${top + 12}" class="footer">${
    escape(footer)
  }. Bars: median relative to the fastest participant of each workload.</text>
</svg>
`;
}
