/**
 * `signal` in the options of `Reader`, `LineReader`, `Writer` and `asyncOpen`
 * (and its wrappers), on every backend: a signal aborted already rejects every
 * call with its reason and does no I/O; an abort midway rejects the next step
 * and the pending calls; `close()` still closes.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  asyncOpen,
  type BackendName,
  createContext,
  LineReader,
  Reader,
  TextFileWrapper,
  Writer,
} from "../mod.ts";
import { fileAccess } from "../src/aiofile.ts";
import { backendTest } from "./backends.ts";

const encoder = new TextEncoder();

/** Asserts that `promise` rejects with `reason` itself. */
async function rejectsWith(
  promise: Promise<unknown>,
  reason: unknown,
  what = "the call",
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.equal(error, reason, `${what} rejected with another error`);
    return true;
  });
}

/** `promise`, or a failure naming `what` if it has not settled after `ms`. */
async function within<T>(
  ms: number,
  promise: Promise<T>,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Counts the I/O calls the helpers make on `file`: those of the file access
 * they share and the public ones the wrapper uses.
 */
function countCalls(file: AIOFile<"r+">): { calls: number } {
  const count = { calls: 0 };
  const access = fileAccess(file);
  const { readBytes, readInto, write } = access;
  access.readBytes = (...args) => (count.calls++, readBytes(...args));
  access.readInto = (...args) => (count.calls++, readInto(...args));
  access.write = (...args) => (count.calls++, write(...args));
  const { read, readBytes: publicReadBytes, fsync, fdsync, stat } = file;
  file.read = (...args) => (count.calls++, read.apply(file, args));
  file.readBytes = (...args) => (
    count.calls++, publicReadBytes.apply(file, args)
  );
  file.fsync = (...args) => (count.calls++, fsync.apply(file, args));
  file.fdsync = (...args) => (count.calls++, fdsync.apply(file, args));
  file.stat = () => (count.calls++, stat.apply(file));
  return count;
}

function mkfifo(path: string): void {
  const { success } = new Deno.Command("mkfifo", { args: [path] }).outputSync();
  assert.ok(success, `mkfifo ${path}`);
}

// ---------------------------------------------------------------------------
// A signal aborted already

backendTest(
  "a signal aborted already: every call of Reader, LineReader and Writer rejects with its reason at once, with no I/O",
  async (context, dir) => {
    const path = `${dir}/data`;
    await Deno.writeTextFile(path, "one\ntwo\n");
    await using afp = await AIOFile.open(path, "r+", { context });
    const calls = countCalls(afp);
    const reason = new Error("aborted before");
    const signal = AbortSignal.abort(reason);

    const reader = new Reader(afp, { signal });
    await rejectsWith(reader.read(), reason, "Reader.read");
    await rejectsWith(reader[Symbol.asyncIterator]().next(), reason, "a step");
    assert.equal(reader.offset, 0);

    const lines = new LineReader(afp, { signal });
    await rejectsWith(lines.readLine(), reason, "LineReader.readLine");
    await rejectsWith(lines[Symbol.asyncIterator]().next(), reason, "a step");
    assert.equal(lines.offset, 0);

    const writer = new Writer(afp, { signal });
    await rejectsWith(writer.write("XXX"), reason, "Writer.write");
    await rejectsWith(writer.flush(), reason, "Writer.flush");
    assert.equal(writer.offset, 0);
    const behind = new Writer(afp, { signal, writeBehind: 4 });
    await rejectsWith(behind.write("YYY"), reason, "a write-behind write");

    assert.equal(calls.calls, 0, "no read or write was asked of the file");
    assert.equal(await Deno.readTextFile(path), "one\ntwo\n");
  },
);

backendTest(
  "a signal aborted already: asyncOpen rejects with its reason and opens (creates) nothing",
  async (context, dir) => {
    const path = `${dir}/never`;
    const reason = new Error("aborted before");
    const signal = AbortSignal.abort(reason);
    await rejectsWith(asyncOpen(path, "w", { context, signal }), reason);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    await assert.rejects(
      // @ts-expect-error: not an AbortSignal
      asyncOpen(path, "w", { context, signal: "no" }),
      /options\.signal must be an AbortSignal/,
    );
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  },
);

backendTest(
  "a signal aborted already: every call of a file wrapper rejects with its reason at once, with no I/O, and close() closes",
  async (context, dir) => {
    const path = `${dir}/data`;
    await Deno.writeTextFile(path, "one\ntwo\n");
    const afp = await AIOFile.open(path, "r+", { context });
    const calls = countCalls(afp);
    const reason = new Error("aborted before");
    const signal = AbortSignal.abort(reason);
    const wrapper = new TextFileWrapper(afp, 0, { signal });

    await rejectsWith(wrapper.read(), reason, "read");
    await rejectsWith(wrapper.read(2), reason, "read(2)");
    await rejectsWith(wrapper.readLine(), reason, "readLine");
    await rejectsWith(wrapper.write("XXX"), reason, "write");
    await rejectsWith(wrapper[Symbol.asyncIterator]().next(), reason, "lines");
    await rejectsWith(wrapper.iterChunked(2).next(), reason, "chunks");
    await rejectsWith(wrapper.stat(), reason, "stat");
    await rejectsWith(wrapper.flush(), reason, "flush");
    await rejectsWith(wrapper.seek(0, 2), reason, "seek from the end");
    const readable = wrapper.readable.getReader();
    await rejectsWith(readable.read(), reason, "the readable stream");
    const byob = wrapper.readable.getReader({ mode: "byob" });
    await rejectsWith(byob.read(new Uint8Array(4)), reason, "a BYOB read");
    const writable = wrapper.writable.getWriter();
    await rejectsWith(writable.write("XXX"), reason, "the writable stream");
    assert.equal(wrapper.tell(), 0);

    assert.equal(calls.calls, 0, "no read or write was asked of the file");
    await wrapper.close();
    assert.equal(wrapper.closed, true);
    assert.equal(await Deno.readTextFile(path), "one\ntwo\n");
  },
);

// ---------------------------------------------------------------------------
// Aborting midway

backendTest(
  "Reader and LineReader aborted mid-iteration: the next step rejects with the reason, and every later call",
  async (context, dir) => {
    const path = `${dir}/data`;
    const text = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`)
      .join("");
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "r", { context });

    const chunksAbort = new AbortController();
    const reason = new Error("enough chunks");
    const chunks = new Reader(afp, {
      chunkSize: 4096,
      signal: chunksAbort.signal,
    });
    const chunkSteps = chunks[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      const step = await chunkSteps.next();
      assert.equal(step.done, false);
      assert.equal(step.value, text.slice(i * 4096, (i + 1) * 4096));
    }
    chunksAbort.abort(reason);
    await rejectsWith(chunkSteps.next(), reason, "the next chunk");
    await rejectsWith(chunks.read(), reason, "a later read");

    const linesAbort = new AbortController();
    const lines = new LineReader(afp, {
      chunkSize: 4096,
      signal: linesAbort.signal,
    });
    const lineSteps = lines[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      assert.equal((await lineSteps.next()).value, `line ${i}\n`);
    }
    // The next lines are read and decoded already: they are not given out.
    linesAbort.abort(reason);
    await rejectsWith(lineSteps.next(), reason, "the next line");
    await rejectsWith(lines.readLine(), reason, "a later readLine");
    assert.equal(lines.offset, "line 0\nline 1\nline 2\n".length);

    // A call waiting behind another rejects at the abort too.
    const binary = await AIOFile.open(path, "rb", { context });
    try {
      const controller = new AbortController();
      const reader = new Reader(binary, { signal: controller.signal });
      const first = reader.read();
      const second = reader.read();
      controller.abort(reason);
      // Both are checked together: either may settle first.
      await Promise.all([
        rejectsWith(first, reason, "the read in flight"),
        rejectsWith(second, reason, "the read waiting its turn"),
      ]);
    } finally {
      await binary.close();
    }
  },
);

backendTest(
  "Writer aborted: pending and later writes reject with the reason, and the file holds the writes that resolved",
  async (_context, dir, backend: BackendName) => {
    // One request at a time: the writes after the first wait their turn, and
    // the abort drops them.
    await using context = createContext({
      backend,
      maxRequests: 1,
      tuning: { inlineWriteMax: 0 }, // no write lands before it is queued
    });
    const path = `${dir}/data`;
    await using afp = await AIOFile.open(path, "w+", { context });
    const controller = new AbortController();
    const reason = new Error("stop writing");
    const writer = new Writer(afp, { signal: controller.signal });
    assert.equal(await writer.write("first;"), 6);
    const pieces = Array.from({ length: 20 }, (_, i) => `piece ${i};`);
    const writes = pieces.map((piece) => writer.write(piece));
    controller.abort(reason);
    const outcomes = await Promise.allSettled(writes);
    await rejectsWith(writer.write("late;"), reason, "a later write");
    await rejectsWith(writer.flush(), reason, "flush");

    const expected = new Uint8Array(writer.offset);
    expected.set(encoder.encode("first;"));
    let end = 6;
    let at = 6;
    let rejected = 0;
    outcomes.forEach((outcome, i) => {
      const bytes = encoder.encode(pieces[i]);
      if (outcome.status === "fulfilled") {
        assert.equal(outcome.value, bytes.length);
        expected.set(bytes, at);
        end = at + bytes.length;
      } else {
        assert.equal(outcome.reason, reason);
        rejected++;
      }
      at += bytes.length;
    });
    assert.ok(rejected > 0, "the abort cancelled writes waiting their turn");
    const written = await Deno.readFile(path);
    assert.deepEqual(written, expected.subarray(0, end));
    await afp.close(); // never refused because of the signal
  },
);

backendTest(
  "asyncOpen with a signal: writes waiting their turn at the abort reject with the reason, and the file holds the writes that resolved",
  async (_context, dir, backend: BackendName) => {
    await using context = createContext({
      backend,
      maxRequests: 1,
      tuning: { inlineWriteMax: 0 },
    });
    const path = `${dir}/data`;
    const controller = new AbortController();
    const reason = new Error("stop writing");
    const afp = await asyncOpen(path, "w", {
      context,
      signal: controller.signal,
    });
    const pieces = Array.from({ length: 20 }, (_, i) => `piece ${i};`);
    const writes = pieces.map((piece) => afp.write(piece));
    controller.abort(reason);
    const outcomes = await Promise.allSettled(writes);
    await afp.close();
    const text = await Deno.readTextFile(path);
    let expected = "";
    outcomes.forEach((outcome, i) => {
      if (outcome.status === "fulfilled") {
        expected = expected.padEnd(i * pieces[0].length, "\0") + pieces[i];
      } else {
        assert.equal(outcome.reason, reason);
      }
    });
    assert.ok(
      outcomes.some(({ status }) => status === "rejected"),
      "the abort cancelled writes waiting their turn",
    );
    assert.equal(text, expected);
  },
);

backendTest(
  "Writer with write-behind aborted: a pending call resolves only if its write lands; flush reports the cancelled ones, then the file closes",
  async (_context, dir, backend: BackendName) => {
    await using context = createContext({
      backend,
      maxRequests: 1,
      tuning: { inlineWriteMax: 0 }, // no write lands before it is queued
    });
    const path = `${dir}/data`;
    const afp = await AIOFile.open(path, "w+", { context });
    const controller = new AbortController();
    const reason = new Error("stop writing");
    const writer = new Writer(afp, {
      signal: controller.signal,
      writeBehind: 8,
    });
    const pieces = Array.from({ length: 8 }, (_, i) => `piece ${i};`);
    const writes = pieces.map((piece) => writer.write(piece));
    controller.abort(reason);
    const outcomes = await Promise.allSettled(writes);
    const text = await Deno.readTextFile(path);
    let at = 0;
    outcomes.forEach((outcome, i) => {
      if (outcome.status === "fulfilled") {
        assert.equal(
          text.slice(at, at + pieces[i].length),
          pieces[i],
          `call ${i} resolved: its bytes have landed`,
        );
      } else {
        assert.equal(outcome.reason, reason);
      }
      at += pieces[i].length;
    });
    assert.ok(
      outcomes.some(({ status }) => status === "rejected"),
      "the abort cancelled writes waiting their turn",
    );
    await rejectsWith(writer.flush(), reason, "flush");
    await rejectsWith(writer.write("late;"), reason, "a later write");
    await afp.close(); // the cancelled writes were reported: nothing left
    assert.equal(afp.closed, true);
  },
);

backendTest(
  "asyncOpen with a signal: after the abort read, readLine, write, iteration and the streams reject with the reason; close() still closes",
  async (context, dir) => {
    const path = `${dir}/data`;
    const controller = new AbortController();
    const reason = new Error("stop");
    const afp = await asyncOpen(path, "w+", {
      context,
      signal: controller.signal,
    });
    await afp.write("one\ntwo\nthree\n");
    afp.seek(0);
    assert.equal(await afp.readLine(), "one\n");
    const lines = afp[Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, "two\n");
    const chunks = afp.iterChunked(2);
    assert.equal((await chunks.next()).value, "th");
    const readable = afp.readable.getReader();
    const writable = afp.writable.getWriter();
    await writable.write("four\n");
    const pending = afp.read();
    const stat = afp.stat();
    const before = afp.tell();
    const size = afp.seek(0, 2);
    controller.abort(reason);
    // Checked together: any of them may settle first.
    await Promise.all([
      rejectsWith(pending, reason, "the read called before the abort"),
      rejectsWith(stat, reason, "the stat called before the abort"),
      rejectsWith(size, reason, "the seek called before the abort"),
      // The streams error at once, with no read or write asked of them.
      rejectsWith(readable.closed, reason, "the readable stream"),
      rejectsWith(writable.closed, reason, "the writable stream"),
    ]);
    // The seek that rejected moves nothing, even once its size() is in.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(afp.tell(), before, "a rejected seek moved the position");
    await rejectsWith(afp.read(), reason, "read");
    await rejectsWith(afp.readLine(), reason, "readLine");
    await rejectsWith(afp.write("more"), reason, "write");
    await rejectsWith(lines.next(), reason, "the next line");
    await rejectsWith(chunks.next(), reason, "the next chunk");
    await rejectsWith(readable.read(), reason, "the readable stream");
    await rejectsWith(writable.write("more"), reason, "the writable stream");
    await rejectsWith(afp.flush(), reason, "flush");
    await afp.close();
    assert.equal(afp.closed, true);
    // The stream wrote at the position, after "th".
    assert.equal(await Deno.readTextFile(path), "one\ntwo\nthfour\n");
  },
);

backendTest(
  "a FIFO through asyncOpen: aborting a read that waits for data rejects it with the reason, and the file closes",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const controller = new AbortController();
    const reason = new Error("stop waiting");
    const opening = asyncOpen(fifo, "rb", {
      context,
      signal: controller.signal,
    });
    // A writer that never writes: the read waits for data.
    const writer = await Deno.open(fifo, { write: true });
    try {
      const afp = await opening;
      const reading = afp.read(10);
      let settled = false;
      reading.then(() => settled = true, () => settled = true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(settled, false, "the read waits for data");
      controller.abort(reason);
      await within(1000, rejectsWith(reading, reason), "the aborted read");
      await within(5000, afp.close(), "close()");
      assert.equal(afp.closed, true);
    } finally {
      writer.close();
    }
  },
  { only: ["uring", "linux", "thread"] },
);

Deno.test({
  name:
    "[deno] a FIFO through asyncOpen: aborting a read that waits for data (skipped: " +
    "Deno.FsFile reads cannot be cancelled; the read rejects at once, and " +
    "close() waits for it to end)",
  ignore: true,
  fn() {},
});

backendTest(
  "a FIFO through asyncOpen: aborting while the open waits for a writer rejects with the reason, and the file is closed once open",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const controller = new AbortController();
    const reason = new Error("stop waiting");
    const opening = asyncOpen(fifo, "r", {
      context,
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(reason);
    const rejected = within(1000, rejectsWith(opening, reason), "the open");
    await rejected.catch(() => {});
    // The open completes when a writer comes; the library then closes the
    // file, and the writer finds no reader left.
    const writer = await Deno.open(fifo, { write: true });
    try {
      await rejected;
      let broken = false;
      for (let i = 0; i < 500 && !broken; i++) {
        try {
          await writer.write(new Uint8Array(1));
          await new Promise((resolve) => setTimeout(resolve, 10));
        } catch (error) {
          assert.ok(error instanceof Deno.errors.BrokenPipe, String(error));
          broken = true;
        }
      }
      assert.ok(broken, "the reading end was closed");
    } finally {
      writer.close();
    }
  },
);
