/**
 * `cp`: copies a file chunk by chunk with `iterChunked`, a few writes in
 * flight while the next chunks are read, in bounded memory (at most
 * {@linkcode MAX_IN_FLIGHT_BYTES} of writes waiting, plus the reader's
 * read-ahead). On a terminal, stderr shows a progress bar with the rate and
 * the time left, redrawn at most ten times a second; otherwise, and at the
 * end, one line with the size, time and throughput.
 *
 *     usage: cp.ts [--chunk-size=BYTES] SOURCE DEST
 *
 * Example:
 *
 *     deno run --allow-read --allow-write examples/cp.ts --chunk-size=1M big.iso /tmp/big.iso
 *
 * @module
 */

import { asyncOpen } from "../mod.ts";
import { parseByteCount, refuseSameFile, runCommand } from "./_cli.ts";

const usage = `usage: cp.ts [--chunk-size=BYTES] SOURCE DEST

Copies SOURCE to DEST (created or overwritten; a directory means DEST/<name
of SOURCE>). A progress bar shows on stderr when it is a terminal; a line
with the throughput follows the copy.

  --chunk-size=BYTES  bytes per read and write (default 64K; K, M, G allowed)

example: deno run --allow-read --allow-write examples/cp.ts --chunk-size=1M big.iso /tmp/big.iso
`;

/** The most bytes of writes waiting to land at once. */
export const MAX_IN_FLIGHT_BYTES = 8 * 2 ** 20;
/** The largest chunk size accepted. */
const MAX_CHUNK_SIZE = 64 * 2 ** 20;
/** The least time between two redraws of the progress bar, in milliseconds. */
export const REDRAW_INTERVAL_MS = 100;

/** `1.5 MiB`-style sizes. */
function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (bytes >= 1024 && unit < units.length - 1) {
    bytes /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${bytes.toFixed(1)} ${units[unit]}`;
}

/** `m:ss` (or `h:mm:ss`) from seconds. */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m] = [Math.floor(s / 3600), Math.floor(s / 60) % 60];
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * The progress bar's text, throttled: {@linkcode ProgressMeter.update} gives a
 * new line to draw at most once per {@linkcode REDRAW_INTERVAL_MS}, with the
 * share done, the mean rate so far and the time left at that rate. A total of
 * 0 (a file whose size is unknown, such as a pipe) shows bytes and rate only.
 */
export class ProgressMeter {
  #lastDraw: number;
  /** A meter for a copy that started at time `start` (ms); it first draws a line after one interval. */
  constructor(readonly start: number) {
    this.#lastDraw = start;
  }

  /**
   * The line to draw for `done` of `total` bytes at time `now` (ms), or
   * `undefined` if the last one was drawn too recently.
   */
  update(done: number, total: number, now: number): string | undefined {
    if (now - this.#lastDraw < REDRAW_INTERVAL_MS) return undefined;
    this.#lastDraw = now;
    return this.line(done, total, now);
  }

  /** The line for `done` of `total` bytes at time `now` (ms), drawn or not. */
  line(done: number, total: number, now: number): string {
    const seconds = (now - this.start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const speed = `${formatBytes(rate)}/s`;
    if (total <= 0) return `${formatBytes(done)}  ${speed}`;
    const width = 30;
    const share = Math.min(1, done / total);
    const filled = Math.round(width * share);
    const eta = rate > 0 ? formatDuration((total - done) / rate) : "?";
    return `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${
      Math.floor(100 * share)
    }%  ${formatBytes(done)} of ${formatBytes(total)}  ${speed}  ETA ${eta}`;
  }
}

/** Where `dest` puts the copy: inside it, under the source's name, if it is a directory. */
async function destination(source: string, dest: string): Promise<string> {
  try {
    if ((await Deno.stat(dest)).isDirectory) {
      return `${dest.replace(/\/+$/, "")}/${source.split("/").at(-1)}`;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return dest;
}

/**
 * Copies `source` to `dest` in chunks of `chunkSize` bytes; `onProgress` is
 * called after each chunk with the bytes copied so far and the total.
 * Resolves to the bytes copied.
 */
export async function copyFile(
  source: string,
  dest: string,
  chunkSize: number,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<number> {
  await using src = await asyncOpen(source, "rb");
  await refuseSameFile(source, dest);
  await using dst = await asyncOpen(dest, "wb");
  const total = await src.file.size();
  // Writes land one after another in call order: the oldest finishes first.
  const writes: { done: Promise<number>; bytes: number }[] = [];
  let inFlight = 0;
  let copied = 0;
  for await (const chunk of src.iterChunked(chunkSize)) {
    const done = dst.write(chunk);
    done.catch(() => {}); // A failure is reported where the write is awaited.
    writes.push({ done, bytes: chunk.length });
    inFlight += chunk.length;
    while (inFlight > MAX_IN_FLIGHT_BYTES) {
      const oldest = writes.shift()!;
      await oldest.done;
      inFlight -= oldest.bytes;
    }
    copied += chunk.length;
    onProgress(copied, total);
  }
  await Promise.all(writes.map((write) => write.done));
  return copied;
}

if (import.meta.main) {
  await runCommand({
    usage,
    options: { "chunk-size": { type: "string", default: "64K" } },
    positionals: { min: 2, max: 2 },
  }, async ({ values, positionals: [source, dest] }) => {
    const chunkSize = parseByteCount(
      "chunk-size",
      values["chunk-size"]!,
      MAX_CHUNK_SIZE,
    );
    const target = await destination(source, dest);
    const encoder = new TextEncoder();
    const terminal = Deno.stderr.isTerminal();
    const started = performance.now();
    const meter = new ProgressMeter(started);
    let drawn = false;
    const copied = await copyFile(source, target, chunkSize, (done, total) => {
      const bar = terminal && meter.update(done, total, performance.now());
      if (!bar) return;
      Deno.stderr.writeSync(encoder.encode(`\r${bar}\x1b[K`));
      drawn = true;
    });
    if (drawn) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
    const seconds = (performance.now() - started) / 1000;
    console.error(
      `copied ${copied} bytes to ${target} in ${seconds.toFixed(3)} s (${
        formatBytes(copied / Math.max(seconds, 1e-9))
      }/s)`,
    );
  });
}
