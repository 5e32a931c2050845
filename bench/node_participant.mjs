// The Node.js participant of the benchmark suite, run by `bench/run.ts` as a
// second process: `node bench/node_participant.mjs '<workload as JSON>'`.
// It does what the Deno participants do, with `node:fs/promises` FileHandle
// reads and writes at positions (a sliding window of `depth` requests) and
// `node:readline` for lines, times only the work, and prints
// `{"ops", "bytes", "seconds"}` as JSON.
import { open, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

const job = JSON.parse(process.argv[2]);
const blocks = Math.floor(job.fileBytes / job.block);

function randomOffset() {
  return Math.floor(Math.random() * blocks) * job.block;
}

function sequentialOffsets() {
  let next = 0;
  return () => {
    const offset = next * job.block;
    next = next + 1 === blocks ? 0 : next + 1;
    return offset;
  };
}

function expect(moved) {
  if (moved !== job.block) {
    throw new Error(`a request moved ${moved} bytes, expected ${job.block}`);
  }
}

async function forSeconds(request) {
  let ops = 0;
  let running = true;
  const started = performance.now();
  const end = started + job.seconds * 1000;
  const slot = async (index) => {
    do {
      expect(await request(index));
      // The clock is read every 64 completions, as in bench/window.ts.
      if (++ops % 64 === 0 && performance.now() >= end) running = false;
    } while (running);
  };
  await Promise.all(Array.from({ length: job.depth }, (_, i) => slot(i)));
  const seconds = (performance.now() - started) / 1000;
  return { ops, bytes: ops * job.block, seconds };
}

async function positional() {
  const writing = job.kind === "seqwrite" || job.kind === "randwrite";
  if (job.kind === "seqwrite") await rm(job.path, { force: true });
  const handle = await open(
    job.path,
    job.kind === "seqwrite" ? "w+" : writing ? "r+" : "r",
  );
  const buffers = Array.from(
    { length: job.depth },
    () => new Uint8Array(job.block).fill(0x5a),
  );
  const read = async (slot, offset) =>
    (await handle.read(buffers[slot], 0, job.block, offset)).bytesRead;
  const write = async (slot, offset) =>
    (await handle.write(buffers[slot], 0, job.block, offset)).bytesWritten;
  try {
    switch (job.kind) {
      case "randread":
        return await forSeconds((slot) => read(slot, randomOffset()));
      case "seqread": {
        const next = sequentialOffsets();
        return await forSeconds((slot) => read(slot, next()));
      }
      case "randwrite":
        return await forSeconds((slot) => write(slot, randomOffset()));
      case "seqwrite": {
        let index = 0;
        const started = performance.now();
        const slot = async (i) => {
          while (index < blocks) expect(await write(i, job.block * index++));
        };
        await Promise.all(Array.from({ length: job.depth }, (_, i) => slot(i)));
        await handle.sync();
        const seconds = (performance.now() - started) / 1000;
        return { ops: blocks, bytes: blocks * job.block, seconds };
      }
      default:
        throw new Error(`unknown workload kind ${job.kind}`);
    }
  } finally {
    await handle.close();
  }
}

async function lines() {
  const started = performance.now();
  const reader = createInterface({
    input: createReadStream(job.path),
    crlfDelay: Infinity,
  });
  let ops = 0;
  for await (const _ of reader) ops++;
  const seconds = (performance.now() - started) / 1000;
  if (ops !== job.lineCount) {
    throw new Error(`counted ${ops} lines, expected ${job.lineCount}`);
  }
  return { ops, bytes: job.fileBytes, seconds };
}

const tally = job.kind === "lines" ? await lines() : await positional();
console.log(JSON.stringify(tally));
