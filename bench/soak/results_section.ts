/**
 * The soak test's section of `bench/RESULTS.md`: what is between
 * `<!-- soak:start -->` and `<!-- soak:end -->` is replaced (the file is made,
 * or the section appended, when missing); nothing else in the file changes.
 *
 * @module
 */

import { count, hex } from "./format.ts";
import type { Options } from "./options.ts";
import type { BackendResult } from "./run_backend.ts";
import {
  mixTable,
  notes,
  passed,
  problemLines,
  resultTable,
} from "./summary.ts";
import {
  SOAK_END as END_MARKER,
  SOAK_START as START_MARKER,
} from "../report.ts";

/** The section of `bench/RESULTS.md`, markers excluded; `deno fmt` leaves it as it is. */
export function resultsSection(
  options: Options,
  results: readonly BackendResult[],
): string {
  const ran = results.filter((r) => r.skipped === undefined).map((r) =>
    r.backend
  );
  const problems = problemLines(results);
  const lines = [
    "## Soak",
    "",
    // Wrapped at 80 columns as `deno fmt` wraps prose; keep the figures in step
    // with the constants of `batches.ts`, `backend_soak.ts`, `samples.ts` and
    // `leaks.ts`.
    "`bench/soak.ts`: mixed random reads, writes, truncates, syncs and size checks,",
    "up to 32 in flight, every byte read checked against a model of the file; the",
    "file reopened and read whole every 2% of the run, the context made anew every",
    "10%. Start is before the backend's context is made, warm after warm-up (the",
    "first 10% of the operations), end after the last operation, closed after the",
    "last context is closed; RSS settles later, so its warm and end are the medians",
    "of the samples over 40-60% and 80-100% of the run. Flat means: fds, io_uring and",
    "AIO ring mappings, and aio-nr (machine-wide, so only a rise counts) back to",
    "start whenever the context is closed and the same at the end as after warm-up",
    "(fds apart from the data file's handles); RSS at the end within 10% + 16 MiB of",
    "warm, on runs of 500,000 operations or more.",
    "",
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Kernel: ${Deno.osRelease()}`,
    `- Machine: ${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs`,
    `- Deno: ${Deno.version.deno}`,
    `- Operations: ${count(options.ops)} per backend (${ran.join(", ")})`,
    `- Seed: ${hex(options.seed)}`,
    `- Verdict: ${passed(results) ? "pass, all flat" : "FAIL"}`,
    "",
    ...resultTable(results),
    "",
    ...mixTable(results),
    "",
  ];
  for (const note of notes(options)) lines.push(note, "");
  if (problems.length > 0) {
    lines.push("```text", ...problems, "```", "");
  }
  return lines.join("\n");
}

/**
 * `text` (the file's content, or undefined when it does not exist) with the soak
 * section replaced by `section`, or appended when it has no markers. Throws when
 * the markers are not one start followed by one end.
 */
export function withSoakSection(
  text: string | undefined,
  section: string,
): string {
  const block = `${START_MARKER}\n\n${section.trimEnd()}\n\n${END_MARKER}`;
  if (text === undefined || text.trim() === "") return `${block}\n`;
  const starts = text.split(START_MARKER).length - 1;
  const ends = text.split(END_MARKER).length - 1;
  if (starts === 0 && ends === 0) {
    return `${text}${text.endsWith("\n") ? "" : "\n"}\n${block}\n`;
  }
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (starts !== 1 || ends !== 1 || end < start) {
    throw new Error(
      `expected one ${START_MARKER} followed by one ${END_MARKER}: fix the file by hand`,
    );
  }
  return text.slice(0, start) + block + text.slice(end + END_MARKER.length);
}

/** Writes `section` into `bench/RESULTS.md`; returns the file's path. */
export async function writeResults(section: string): Promise<string> {
  const path = decodeURIComponent(
    new URL("../RESULTS.md", import.meta.url).pathname,
  );
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.writeTextFile(path, withSoakSection(text, section));
  return path;
}
