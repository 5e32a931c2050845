/**
 * Cancellation of `AIOFile`'s operations with `{ signal }`, on every backend:
 * a signal aborted already, requests waiting for their turn, a read of a FIFO
 * that would wait for good, a request in io_uring cancelled in the kernel, and
 * many aborted requests leaking nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, createContext } from "../mod.ts";
import { fileAccess } from "../src/aiofile.ts";
import { type UringBackend, uringProvider } from "../impl/uring.ts";
import { RingBackend } from "../impl/ring/engine.ts";
import { loadLibc } from "../ffi/libc.ts";
import { pendingForeignCalls } from "../impl/pending.ts";
import { unavailableReason } from "../impl/providers.ts";
import { backendTest, withTempDir } from "./backends.ts";
import { openFlags, parseMode } from "../src/mode.ts";

const FFI_BACKENDS = { only: ["uring", "linux", "thread"] } as const;

/** A reason that is no `DOMException`, so that a test sees it is passed on. */
class Stop extends Error {}

function isStop(error: unknown): boolean {
  return error instanceof Stop;
}

/** Makes a FIFO at `path`. */
function mkfifo(path: string): void {
  const { code } = new Deno.Command("mkfifo", { args: [path] }).outputSync();
  assert.equal(code, 0, "mkfifo failed");
}

backendTest(
  "a signal aborted already rejects every operation with its reason, and nothing changes",
  async (context, dir) => {
    const path = `${dir}/file.bin`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await using afp = await AIOFile.open(path, "r+b", { context });
    const signal = AbortSignal.abort(new Stop("before"));
    const options = { signal };
    const calls: [string, () => Promise<unknown>][] = [
      ["read", () => afp.read(3, 0, options)],
      ["readBytes", () => afp.readBytes(-1, 0, options)],
      ["readInto", () => afp.readInto(new Uint8Array(3), 0, options)],
      ["write", () => afp.write(new Uint8Array([9]), 0, options)],
      ["writeBytes", () => afp.writeBytes(new Uint8Array([9]), 5, options)],
      ["fsync", () => afp.fsync(options)],
      ["fdsync", () => afp.fdsync(options)],
      ["truncate", () => afp.truncate(0, options)],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call(), isStop, name);
    }
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
  },
);

backendTest(
  "options that are not { signal } with an AbortSignal are a TypeError",
  async (context, dir) => {
    await using afp = await AIOFile.open(`${dir}/file.bin`, "w+b", {
      context,
    });
    const bad = [5, "x", null, { signal: {} }, { signal: true }];
    for (const options of bad) {
      await assert.rejects(
        afp.read(1, 0, options as { signal?: AbortSignal }),
        TypeError,
        JSON.stringify(options),
      );
      await assert.rejects(
        afp.fsync(options as { signal?: AbortSignal }),
        TypeError,
      );
    }
    assert.deepEqual(await afp.read(1, 0, {}), new Uint8Array(0));
    assert.equal(await afp.write(new Uint8Array([1]), 0, undefined), 1);
  },
);

backendTest(
  "requests waiting for a turn of the context are dropped when their signal aborts",
  async (_context, dir, backend) => {
    const path = `${dir}/file.bin`;
    const data = new Uint8Array(64 * 1024).map((_, i) => i & 255);
    await Deno.writeFile(path, data);
    await using context = createContext({ backend, maxRequests: 1 });
    await using afp = await AIOFile.open(path, "rb", { context });
    const controller = new AbortController();
    const signal = controller.signal;
    const reads = Array.from(
      { length: 50 },
      (_, i) => afp.read(1024, i * 1024, { signal }),
    );
    controller.abort(new Stop("enough"));
    const outcomes = await Promise.allSettled(reads);
    // The first may have been over before the abort; the others waited.
    const rejected = outcomes.filter((o) =>
      o.status === "rejected" && isStop(o.reason)
    );
    assert.ok(rejected.length >= 49, `${rejected.length} of 50 rejected`);
    // No turn was lost: the context still serves, one request at a time.
    const again = await Promise.all(
      Array.from({ length: 8 }, (_, i) => afp.read(1024, i * 1024)),
    );
    again.forEach((read, i) =>
      assert.deepEqual(read, data.subarray(i * 1024, (i + 1) * 1024))
    );
  },
);

backendTest(
  "a write aborted while it waits for its turn never lands",
  async (_context, dir, backend) => {
    const path = `${dir}/file.bin`;
    await using context = createContext({ backend, maxRequests: 1 });
    await using afp = await AIOFile.open(path, "w+b", { context });
    const controller = new AbortController();
    const big = new Uint8Array(1 << 20).fill(1);
    // The first write takes the only turn; the second waits for it.
    const first = afp.write(big, 0, { signal: controller.signal });
    const second = afp.write(new Uint8Array(16).fill(2), 1 << 21, {
      signal: controller.signal,
    });
    controller.abort(new Stop("no"));
    const [, last] = await Promise.allSettled([first, second]);
    assert.ok(last.status === "rejected" && isStop(last.reason));
    await afp.fsync();
    const size = (await Deno.stat(path)).size;
    assert.ok(size <= 1 << 20, `the second write landed (size ${size})`);
  },
);

backendTest(
  "a read of a FIFO that waits for good is cancelled; the file and the context stay usable",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    // "r+" opens a FIFO without waiting for a writer, and is its own writer:
    // a read waits until something is written.
    const afp = await AIOFile.open(fifo, "r+b", { context });
    const controller = new AbortController();
    const reading = afp.read(10, 0, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    controller.abort(new Stop("no writer"));
    await assert.rejects(reading, isStop);
    assert.ok(performance.now() - started < 1000);
    // The pool thread was given back, and nothing was read: the stream goes on.
    assert.equal(await afp.write(new Uint8Array([1, 2, 3])), 3);
    assert.deepEqual(await afp.read(3, 3), new Uint8Array([1, 2, 3]));
    await afp.close();
    assert.equal(pendingForeignCalls(), 0);
    await using other = await AIOFile.open(`${dir}/plain.txt`, "w+", {
      context,
    });
    await other.write("still serving");
    assert.equal(await other.read(), "still serving");
  },
  FFI_BACKENDS,
);

Deno.test({
  name: "[deno] a read of a FIFO that waits for good is cancelled (skipped: " +
    "Deno.FsFile reads cannot be cancelled; the read rejects at once, and " +
    "the file's next operation waits for it)",
  ignore: true,
  fn() {},
});

const uringReason = unavailableReason("uring");

Deno.test({
  name:
    `[uring] a request in the kernel is cancelled there (IORING_OP_ASYNC_CANCEL)${
      uringReason ? ` (skipped: ${uringReason})` : ""
    }`,
  ignore: uringReason !== undefined,
  async fn() {
    const libc = loadLibc();
    assert.ok(libc.ok);
    const { pipe2, close } = libc.library.symbols;
    await withTempDir(async (dir) => {
      const queue = uringProvider.create() as UringBackend;
      // The queue starts with its first file.
      await Deno.writeFile(`${dir}/start.bin`, new Uint8Array(1));
      const file = await queue.open({
        kind: "path",
        path: `${dir}/start.bin`,
        flags: openFlags(parseMode("r"), false),
      });
      const fds = new Int32Array(2);
      assert.equal(pipe2(fds, 0o2000000), 0);
      try {
        // A read of an empty pipe waits in the kernel until it is cancelled.
        const controller = new AbortController();
        const reading = queue.submit({
          op: "read",
          fd: fds[0],
          buffer: new Uint8Array(16),
          offset: 0,
          nowait: false,
          path: "pipe",
          alignment: 1,
          signal: controller.signal,
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        controller.abort(new Stop("cancelled"));
        // The queue settles it only at its completion: the cancellation's.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise((resolve) => {
          timer = setTimeout(() => resolve("still in the kernel"), 2000);
        });
        const outcome = await Promise.race([
          reading.then(() => "read", (error) => error),
          deadline,
        ]);
        clearTimeout(timer);
        assert.ok(isStop(outcome), String(outcome));
        await file.close();
        await queue.close(); // nothing is left in the kernel
      } finally {
        close(fds[1]); // ends the read, had it not been cancelled
        close(fds[0]);
      }
    });
  },
});

backendTest(
  "10,000 aborted requests leak nothing: descriptors, turns, slots",
  async (context, dir) => {
    const path = `${dir}/file.bin`;
    const data = new Uint8Array(1 << 20).map((_, i) => (i * 13) & 255);
    await Deno.writeFile(path, data);
    // The descriptors the library may hold: the file's, eventfds, rings, pipes.
    const ours = () =>
      [...Deno.readDirSync("/proc/self/fd")].map((entry) => {
        try {
          return Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
        } catch {
          return ""; // closed meanwhile (the listing's own descriptor)
        }
      }).filter((target) =>
        target.startsWith(dir) || /eventfd|io_uring|^pipe:/.test(target)
      ).sort();
    const afp = await AIOFile.open(path, "r+b", { context });
    let before: string[] = [];
    // Round 0 warms up: the queue's ring and wake, Deno's handles of the file.
    for (let round = 0; round <= 10; round++) {
      if (round === 1) before = ours();
      const controller = new AbortController();
      const signal = controller.signal;
      const requests: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        const offset = ((i * 7919) % 256) * 4096;
        requests.push(
          i % 4 === 3
            ? afp.write(data.subarray(offset, offset + 4096), offset, {
              signal,
            })
            : afp.read(4096, offset, { signal }),
        );
      }
      // Some in the kernel, some waiting for a turn or a slot.
      await Promise.resolve();
      controller.abort(new Stop("round"));
      for (const outcome of await Promise.allSettled(requests)) {
        if (outcome.status === "rejected") assert.ok(isStop(outcome.reason));
      }
    }
    // Every turn and slot came back: a full load still runs, and the file
    // holds what it held (the writes wrote its own bytes back).
    const reads = await Promise.all(
      Array.from({ length: 256 }, (_, i) => afp.read(4096, i * 4096)),
    );
    reads.forEach((read, i) =>
      assert.deepEqual(read, data.subarray(i * 4096, (i + 1) * 4096))
    );
    // None more than after the warm-up (Deno's backend keeps a few handles
    // of the file for concurrent requests, and may close some).
    const after = ours();
    assert.ok(
      after.length <= before.length,
      `${after.length} > ${before.length}`,
    );
    assert.deepEqual(
      after.filter((target) => !target.startsWith(dir)),
      before.filter((target) => !target.startsWith(dir)),
    );
    await afp.close();
    assert.deepEqual(ours().filter((target) => target.startsWith(dir)), []);
  },
);

backendTest(
  "requests waiting for a slot of the kernel queue are dropped when their signal aborts",
  async (_context, dir, backend) => {
    const path = `${dir}/file.bin`;
    const data = new Uint8Array(64 * 1024).map((_, i) => (i * 5) & 255);
    await Deno.writeFile(path, data);
    // One slot, many turns: requests wait in the queue, not in the context.
    await using context = createContext({ backend, tuning: { slots: 1 } });
    await using afp = await AIOFile.open(path, "rb", { context, direct: true });
    // Counts the requests handed to the queue, and those handed again once
    // a slot is free (a request that waited for one).
    const submit = RingBackend.prototype.submit;
    let submitted = 0;
    RingBackend.prototype.submit = function (this: RingBackend, request) {
      submitted++;
      return submit.call(this, request);
    };
    try {
      const controller = new AbortController();
      const reads = Array.from(
        { length: 16 },
        (_, i) => afp.read(4096, i * 4096, { signal: controller.signal }),
      );
      await Promise.resolve();
      controller.abort(new Stop("slots"));
      for (const outcome of await Promise.allSettled(reads)) {
        if (outcome.status === "rejected") assert.ok(isStop(outcome.reason));
      }
      // 16, and a few that had a slot before the abort: not 16 more.
      assert.ok(submitted < 20, `${submitted} submissions`);
    } finally {
      RingBackend.prototype.submit = submit;
    }
    const again = await Promise.all(
      Array.from({ length: 16 }, (_, i) => afp.read(4096, i * 4096)),
    );
    again.forEach((read, i) =>
      assert.deepEqual(read, data.subarray(i * 4096, (i + 1) * 4096))
    );
  },
  { only: ["uring", "linux"] },
);

backendTest(
  "an aborted sync leaves a deferred write failure for the next sync",
  async (context, dir) => {
    await using afp = await AIOFile.open(`${dir}/file.bin`, "w+b", {
      context,
    });
    const failure = new Error("a helper's write failed");
    fileAccess(afp).defer(failure);
    const controller = new AbortController();
    const syncing = afp.fsync({ signal: controller.signal });
    controller.abort(new Stop("no time"));
    await assert.rejects(syncing, isStop);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the sync ends
    await assert.rejects(afp.fsync(), (error) => error === failure);
    await afp.fsync(); // told once
  },
);

backendTest(
  "after an aborted readInto nothing more lands in the caller's buffer",
  async (context, dir) => {
    const path = `${dir}/file.bin`;
    await Deno.writeFile(path, new Uint8Array(16 << 20).fill(7));
    await using afp = await AIOFile.open(path, "rb", { context });
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = new Uint8Array(16 << 20);
      const controller = new AbortController();
      const reading = afp.readInto(target, 0, { signal: controller.signal });
      // Aborted while the read runs (in the kernel, or on Deno's pool).
      if (attempt % 2 === 1) await new Promise((r) => setTimeout(r, 0));
      controller.abort(new Stop("enough"));
      const outcome = await reading.then(() => "read", (error) => error);
      if (!isStop(outcome)) continue; // it was over before the abort
      const seen = target.slice();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(target, seen, "written after the rejection");
    }
  },
);

backendTest(
  "the reason comes back as it was given, even one that looks like an OS error",
  async (context, dir) => {
    const path = `${dir}/file.bin`;
    await Deno.writeFile(path, new Uint8Array(8192).fill(1));
    await using afp = await AIOFile.open(path, "r+b", { context });
    for (const size of [4096, 4 << 20]) { // the short way and the long one
      const reason = Object.assign(new Error("deadline (os error 110)"), {
        code: "ETIMEDOUT",
      });
      const controller = new AbortController();
      const reading = afp.read(size, 0, { signal: controller.signal });
      controller.abort(reason);
      await reading.then(
        () => {},
        (error) => assert.equal(error, reason, `read(${size})`),
      );
    }
  },
);
