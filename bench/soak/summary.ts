/**
 * The summary of a soak run: its two tables (resources and verdict per
 * backend; what ran), its notes and its problems, as printed and as written
 * into `bench/RESULTS.md`.
 *
 * @module
 */

import { count, mib, volume } from "./format.ts";
import { RSS_MIN_OPS } from "./leaks.ts";
import type { Options } from "./options.ts";
import type { BackendResult } from "./run_backend.ts";
import type { Usage } from "./usage.ts";

/** A Markdown table, columns padded as `deno fmt` pads them; numbers right-aligned. */
function table(
  header: readonly string[],
  right: readonly boolean[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = header.map((title, i) =>
    Math.max(3, title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: readonly string[]) =>
    `| ${
      cells.map((cell, i) =>
        right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])
      ).join(" | ")
    } |`;
  const rule = `| ${
    widths.map((w, i) => right[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))
      .join(" | ")
  } |`;
  return [line(header), rule, ...rows.map(line)];
}

/** `start / warm / end / closed` of one resource. */
function series(
  result: BackendResult,
  value: (usage: Usage) => number | undefined,
): string {
  const { before, warm, end, closed } = result;
  return [before, warm, end, closed].map((u) =>
    u === undefined ? "-" : String(value(u) ?? "n/a")
  ).join(" / ");
}

/** The table of each backend's speed, resources and verdict, as lines. */
export function resultTable(results: readonly BackendResult[]): string[] {
  const header = [
    "backend",
    "ops",
    "seconds",
    "ops/s",
    "checked",
    "RSS MiB: start / warm / end / max",
    "fds: start / warm / end / closed",
    "aio-nr: start / warm / end / closed",
    "rings: start / warm / end / closed",
    "verdict",
  ];
  const right = [
    false,
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
    false,
  ];
  const rows = results.map((r) => {
    if (r.skipped !== undefined) {
      return [
        r.backend,
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        `skipped: ${r.skipped}`,
      ];
    }
    const rss = [r.before?.rss, r.rss?.warm, r.rss?.end, r.maxRss].map((v) =>
      v === undefined ? "-" : mib(v)
    ).join(" / ");
    return [
      r.backend,
      count(r.ops!),
      r.seconds!.toFixed(1),
      count(r.ops! / r.seconds!),
      volume(r.counts!.bytesChecked),
      rss,
      series(r, (u) => u.fds.length),
      series(r, (u) => u.aioNr),
      series(r, (u) => u.rings),
      r.problems.length === 0 ? "ok" : "FAIL",
    ];
  });
  return table(header, right, rows);
}

/** The table of what ran on each backend that ran, as lines. */
export function mixTable(results: readonly BackendResult[]): string[] {
  const header = [
    "backend",
    "reads (short, empty)",
    "writes (past the end)",
    "written",
    "truncates (growing)",
    "size()",
    "syncs",
    "reopens (contexts)",
    "batches (mean, max size)",
  ];
  const right = [false, true, true, true, true, true, true, true, true];
  const rows = results.filter((r) => r.counts !== undefined).map((r) => {
    const c = r.counts!;
    return [
      r.backend,
      `${count(c.reads)} (${count(c.shortReads)}, ${count(c.emptyReads)})`,
      `${count(c.writes)} (${count(c.pastEndWrites)})`,
      volume(c.bytesWritten),
      `${count(c.truncates)} (${count(c.grows)})`,
      count(c.sizes),
      count(c.syncs),
      `${count(c.reopens)} (${count(c.contexts)})`,
      `${count(c.batches)} (${
        (r.ops! / Math.max(1, c.batches)).toFixed(1)
      }, ${c.maxBatch})`,
    ];
  });
  return table(header, right, rows);
}

/** Every problem of every backend, each prefixed with its backend. */
export function problemLines(results: readonly BackendResult[]): string[] {
  return results.flatMap((r) => r.problems.map((p) => `${r.backend}: ${p}`));
}

/** What the reader of the tables must know about this run. */
export function notes(options: Options): string[] {
  return options.ops < RSS_MIN_OPS
    ? [
      `RSS is not judged: runs under ${
        count(RSS_MIN_OPS)
      } operations end before it settles.`,
    ]
    : [];
}

/** Whether every backend passed (a skipped one passes unless it was asked for). */
export function passed(results: readonly BackendResult[]): boolean {
  return results.every((r) => r.problems.length === 0);
}
