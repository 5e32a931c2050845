/**
 * The results of a suite run (`bench/results.json`) and what is derived from
 * them: medians with min-max over rounds, and ratios taken inside each round
 * (to the fastest fio engine, and to `Deno.FsFile` with one handle), so that
 * drift between rounds cancels out.
 *
 * @module
 */

import type { Workload } from "./workloads.ts";

/** One participant's figures for one workload: one value per round, in the workload's unit. */
export interface Row {
  readonly name: string;
  readonly role?: "fsfile" | "fio";
  /** Why there are no figures (not installed, not applicable, failed); set when a measurement fails. */
  missing?: string;
  readonly values: number[];
}

/** One workload's rows. */
export interface WorkloadResult {
  readonly workload: Workload;
  readonly rows: Row[];
}

/** Where and how the suite ran. */
export interface Machine {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly fileSystem: string;
  readonly deno: string;
  readonly node: string | undefined;
  readonly fio: string | undefined;
}

/** A whole run. */
export interface Results {
  readonly machine: Machine;
  readonly options: {
    readonly rounds: number;
    readonly seconds: number;
    readonly readMiB: number;
    readonly writeMiB: number;
    readonly linesMiB: number;
  };
  readonly workloads: WorkloadResult[];
}

/** A median with its range. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** The median and range of `values` (not empty). */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** A row's summary: its figure and its ratios, each a median over rounds. */
export interface Summary {
  readonly row: Row;
  readonly value: Spread | undefined;
  readonly vsFio: Spread | undefined;
  readonly vsFsFile: Spread | undefined;
}

function ratios(
  values: readonly number[],
  references: readonly (readonly number[])[],
): Spread | undefined {
  const per: number[] = [];
  values.forEach((value, round) => {
    const best = Math.max(...references.map((r) => r[round] ?? NaN));
    if (Number.isFinite(best) && best > 0) per.push(value / best);
  });
  return per.length === 0 ? undefined : spread(per);
}

/** Summarises each row of a workload. */
export function summarise(result: WorkloadResult): Summary[] {
  const present = result.rows.filter((row) =>
    row.missing === undefined && row.values.length > 0
  );
  const fio = present.filter((row) => row.role === "fio").map((r) => r.values);
  const fsFile = present.filter((row) => row.role === "fsfile").map((r) =>
    r.values
  );
  return result.rows.map((row) => {
    if (!present.includes(row)) {
      return { row, value: undefined, vsFio: undefined, vsFsFile: undefined };
    }
    return {
      row,
      value: spread(row.values),
      vsFio: ratios(row.values, fio),
      vsFsFile: ratios(row.values, fsFile),
    };
  });
}

/** A figure for people: `312k` IOPS, `2,345` MiB/s. */
export function formatValue(value: number, unit: Workload["unit"]): string {
  if (unit === "IOPS") {
    return value >= 10_000
      ? `${Math.round(value / 1000)}k`
      : `${(value / 1000).toFixed(1)}k`;
  }
  return Math.round(value).toLocaleString("en-US");
}

/** `0.71x`, or `1.2x` and `12x` for larger ratios. */
export function formatRatio(ratio: number): string {
  return ratio >= 10 ? `${ratio.toFixed(0)}x` : `${ratio.toFixed(2)}x`;
}

/** `median (min-max)` in a unit's format. */
export function formatSpread(
  s: Spread,
  format: (n: number) => string,
): string {
  return s.min === s.max
    ? format(s.median)
    : `${format(s.median)} (${format(s.min)}-${format(s.max)})`;
}

/** The cells of one summary row: participant, figure, vs fio, vs FsFile. */
export function cells(summary: Summary, unit: Workload["unit"]): string[] {
  const { row, value, vsFio, vsFsFile } = summary;
  if (value === undefined) {
    return [row.name, row.missing ?? "missing: no figures", "", ""];
  }
  const ratio = (s: Spread | undefined) =>
    s === undefined ? "" : formatSpread(s, formatRatio);
  return [
    row.name,
    formatSpread(value, (n) => formatValue(n, unit)),
    ratio(vsFio),
    ratio(vsFsFile),
  ];
}
