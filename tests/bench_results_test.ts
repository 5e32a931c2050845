/**
 * The arithmetic of the benchmark suite's report (`bench/results.ts`,
 * `bench/report.ts`): ratios are taken inside each round, missing participants
 * stay missing, and regenerating `RESULTS.md` keeps the soak test's section.
 */

import assert from "node:assert/strict";
import { type Results, spread, summarise } from "../bench/results.ts";
import { markdown, soakSection, textTables } from "../bench/report.ts";
import { chart } from "../bench/chart.ts";
import { WORKLOADS } from "../bench/workloads.ts";

const workload = WORKLOADS[0];
const result = {
  workload,
  rows: [
    { name: "AIOFile [uring]", values: [100, 300, 200] },
    {
      name: "Deno.FsFile, one handle",
      role: "fsfile" as const,
      values: [50, 100, 100],
    },
    { name: "fio io_uring", role: "fio" as const, values: [200, 200, 400] },
    { name: "fio psync (QD1)", role: "fio" as const, values: [400, 150, 100] },
    {
      name: "Node.js (second process)",
      missing: "missing: node is not installed",
      values: [],
    },
  ],
};

Deno.test("spread: median of odd and even counts, with the range", () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
});

Deno.test("summarise: ratios are per round, to the fastest fio and to FsFile", () => {
  const [aio, fsFile, fio, , node] = summarise(result);
  // Rounds: fastest fio 400, 200, 400 -> 0.25, 1.5, 0.5.
  assert.deepEqual(aio.vsFio, { median: 0.5, min: 0.25, max: 1.5 });
  // FsFile 50, 100, 100 -> 2, 3, 2.
  assert.deepEqual(aio.vsFsFile, { median: 2, min: 2, max: 3 });
  assert.equal(fsFile.vsFsFile?.median, 1);
  assert.equal(fio.value?.median, 200);
  assert.equal(node.value, undefined);
});

const results: Results = {
  machine: {
    date: "2026-11-24T00:00:00.000Z",
    cpu: "test CPU",
    cores: 2,
    memoryGiB: 24,
    kernel: "6.0",
    fileSystem: "ext2/ext3",
    deno: "Deno 2",
    node: undefined,
    fio: "fio-3.33",
  },
  options: { rounds: 3, seconds: 1, readMiB: 1, writeMiB: 1, linesMiB: 1 },
  workloads: [result],
};

Deno.test("report: missing participants say why, never zero", () => {
  const text = textTables(results);
  assert.match(
    text,
    /Node\.js \(second process\)\s+missing: node is not installed/,
  );
  assert.doesNotMatch(text, /Node\.js[^\n]*\b0\b/);
  assert.match(
    markdown(results, soakSection(undefined)),
    /\| Node\.js \| not installed \|/,
  );
});

Deno.test("report: regenerating RESULTS.md keeps the soak section", () => {
  const soak = "<!-- soak:start -->\n## Soak\n\nall flat\n<!-- soak:end -->";
  const first = markdown(results, soakSection(`# old\n\n${soak}\n`));
  assert.ok(first.includes(soak));
  assert.ok(markdown(results, soakSection(first)).includes(soak));
  assert.match(soakSection(undefined), /Not run yet/);
});

Deno.test("chart: an SVG with a bar per participant present", () => {
  const svg = chart(results);
  assert.ok(svg.startsWith("<svg"));
  assert.equal(svg.match(/<rect /g)?.length, 4);
  assert.ok(!svg.includes("Node.js"));
});
