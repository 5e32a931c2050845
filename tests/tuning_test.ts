/**
 * `QueueTuning`: the checks of `tuningWith`, the context option, and that each
 * setting changes what the kernel queues (`uring`, `linux`) do.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, type BackendName, createContext, Writer } from "../mod.ts";
import {
  DEFAULT_TUNING,
  type QueueTuning,
  SLOTS_MAX,
  tuningWith,
} from "../impl/tuning.ts";
import { ThreadFile } from "../impl/thread.ts";
import { UringBackend } from "../impl/uring.ts";
import { LinuxBackend } from "../impl/linux.ts";
import { unavailableReason } from "../impl/providers.ts";
import { PREALLOCATE_AFTER } from "../impl/ring/policies/preallocation.ts";
import { WRITEBACK_STEP } from "../impl/ring/policies/early_writeback.ts";
import { isExt4, withTempDir } from "./backends.ts";

const KiB64 = 64 * 1024;

Deno.test("tuningWith: no changes is the default; changes are merged and frozen", () => {
  assert.equal(tuningWith(undefined), DEFAULT_TUNING);
  const tuned = tuningWith({ slots: 8, preallocation: false });
  assert.deepEqual(tuned, {
    ...DEFAULT_TUNING,
    slots: 8,
    preallocation: false,
  });
  assert.ok(Object.isFrozen(tuned));
  assert.equal(tuningWith({ inlineWriteMax: 0 }).inlineWriteMax, 0);
  assert.equal(tuningWith({ yieldEveryMs: 0 }).yieldEveryMs, 0);
  assert.equal(tuningWith({ slots: SLOTS_MAX }).slots, SLOTS_MAX);
});

Deno.test("tuningWith: an unknown name or a value of the wrong type is a TypeError", () => {
  assert.throws(
    () => tuningWith({ slot: 8 } as Partial<QueueTuning>),
    (e) =>
      e instanceof TypeError && /Unknown tuning "slot".*slots/.test(e.message),
  );
  assert.throws(
    () => tuningWith({ preallocation: 1 } as unknown as Partial<QueueTuning>),
    TypeError,
  );
  assert.throws(
    () => tuningWith(8 as unknown as Partial<QueueTuning>),
    TypeError,
  );
  assert.throws(
    () => tuningWith(null as unknown as Partial<QueueTuning>),
    TypeError,
  );
});

Deno.test("tuningWith: a number out of range is a RangeError naming the setting", () => {
  const bad: Partial<QueueTuning>[] = [
    { slots: 0 },
    { slots: SLOTS_MAX + 1 },
    { slots: 1.5 },
    { slots: NaN },
    { directSubmitEvery: 0 },
    { wakeReapFirst: -1 },
    { yieldEveryMs: -1 },
    { inlineWriteMax: Infinity },
    { slots: "8" as unknown as number },
  ];
  for (const changes of bad) {
    const [name] = Object.keys(changes);
    assert.throws(
      () => tuningWith(changes),
      (e) => e instanceof RangeError && e.message.includes(`tuning.${name}`),
      JSON.stringify(changes),
    );
  }
});

Deno.test("createContext: the tuning is checked at once and readable on the context", async () => {
  assert.throws(() => createContext({ tuning: { slots: 0 } }), RangeError);
  await using context = createContext({ tuning: { wakeReapFirst: 2 } });
  assert.equal(context.tuning.wakeReapFirst, 2);
  assert.equal(context.tuning.slots, DEFAULT_TUNING.slots);
  await using plain = createContext();
  assert.equal(plain.tuning, DEFAULT_TUNING);
});

/** Opens `path` in mode "w+b" in the test's context. */
type OpenIn = (path: string) => Promise<AIOFile<"w+b">>;

/**
 * One test per kernel-queue backend, with a context of that backend tuned by
 * `tuning`.
 */
function tunedTest(
  name: string,
  tuning: Partial<QueueTuning>,
  fn: (
    open: OpenIn,
    dir: string,
  ) => Promise<void>,
  backends: readonly BackendName[] = ["uring", "linux"],
): void {
  for (const backend of backends) {
    const reason = unavailableReason(backend);
    Deno.test({
      name: `[${backend}] ${name}${reason ? ` (skipped: ${reason})` : ""}`,
      ignore: reason !== undefined,
      async fn() {
        await using context = createContext({ backend, tuning });
        await withTempDir((dir) =>
          fn((path) => AIOFile.open(path, "w+b", { context }), dir)
        );
      },
    });
  }
}

/** Counts the calls of `ThreadFile.prototype[method]` until disposed. */
function countCalls(method: "writeNow" | "fallocateNow" | "startWriteback") {
  const original = ThreadFile.prototype[method];
  const counter = {
    calls: 0,
    [Symbol.dispose]() {
      ThreadFile.prototype[method] = original as never;
    },
  };
  ThreadFile.prototype[method] = function (
    this: ThreadFile,
    ...args: unknown[]
  ) {
    counter.calls++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as never;
  return counter;
}

/** Writes `size` bytes in 64 KiB steps through a `Writer`, then syncs. */
async function writeInSequence(afp: AIOFile<"w+b">, size: number) {
  const writer = new Writer(afp);
  const chunk = new Uint8Array(KiB64).fill(7);
  for (let done = 0; done < size; done += KiB64) await writer.write(chunk);
  await afp.fsync();
}

/** The largest batch handed to the kernel by any queue, until disposed. */
function largestBatch() {
  const prototypes = [
    UringBackend.prototype,
    LinuxBackend.prototype,
  ] as unknown as {
    submitQueued(slots: readonly number[]): number;
  }[];
  const originals = prototypes.map((p) => p.submitQueued);
  const seen = {
    most: 0,
    [Symbol.dispose]() {
      prototypes.forEach((p, i) => p.submitQueued = originals[i]);
    },
  };
  prototypes.forEach((p, i) => {
    p.submitQueued = function (this: unknown, slots: readonly number[]) {
      seen.most = Math.max(seen.most, slots.length);
      return originals[i].call(this, slots);
    };
  });
  return seen;
}

for (const slots of [1, DEFAULT_TUNING.slots]) {
  tunedTest(
    `slots: ${slots}: 32 reads asked for in one tick go in in batches of at most ${slots}`,
    { slots },
    async (open, dir) => {
      const data = new Uint8Array(32 * 4096).map((_, i) => (i * 7) & 255);
      await using afp = await open(`${dir}/slots.bin`);
      await afp.write(data, 0);
      using batches = largestBatch();
      const reads = await Promise.all(
        Array.from({ length: 32 }, (_, i) => afp.read(4096, i * 4096)),
      );
      reads.forEach((read, i) =>
        assert.deepEqual(read, data.subarray(i * 4096, (i + 1) * 4096))
      );
      // 32 reads asked for in one tick: one batch, unless the slots run out.
      assert.equal(batches.most, Math.min(slots, 32));
    },
  );
}

tunedTest(
  "inlineWriteMax: 0 queues every buffered write",
  { inlineWriteMax: 0 },
  async (open, dir) => {
    using inline = countCalls("writeNow");
    await using afp = await open(`${dir}/queued.bin`);
    await afp.write(new Uint8Array(8192).fill(1), 0);
    assert.equal(inline.calls, 0);
    assert.deepEqual(await afp.read(8192, 0), new Uint8Array(8192).fill(1));
  },
  ["uring"],
);

tunedTest(
  "inlineWriteMax: the default writes small buffered ext4 writes inline (the control)",
  {},
  async (open, dir) => {
    using inline = countCalls("writeNow");
    await using afp = await open(`${dir}/inline.bin`);
    await afp.write(new Uint8Array(8192).fill(1), 0);
    assert.equal(inline.calls, isExt4(dir) ? 1 : 0);
  },
  ["uring"],
);

for (const on of [true, false]) {
  tunedTest(
    `preallocation: ${on} ${
      on ? "reserves" : "reserves no"
    } blocks ahead of a sequential writer on ext4`,
    { preallocation: on },
    async (open, dir) => {
      using reserve = countCalls("fallocateNow");
      await using afp = await open(`${dir}/preallocated.bin`);
      await writeInSequence(afp, 2 * PREALLOCATE_AFTER);
      assert.equal(reserve.calls > 0, on && isExt4(dir));
      assert.equal((await afp.stat()).size, 2 * PREALLOCATE_AFTER);
    },
  );

  tunedTest(
    `earlyWriteback: ${on} ${
      on ? "starts" : "starts no"
    } writeback behind a sequential writer`,
    { earlyWriteback: on },
    async (open, dir) => {
      using writeback = countCalls("startWriteback");
      await using afp = await open(`${dir}/written.bin`);
      await writeInSequence(afp, 2 * WRITEBACK_STEP);
      assert.equal(writeback.calls > 0, on);
    },
  );
}
