/**
 * Early writeback: the bookkeeping (impl/ring/policies/early_writeback.ts) and its use by the
 * native backends.
 */

import assert from "node:assert/strict";
import {
  EarlyWriteback,
  WRITEBACK_STEP,
} from "../impl/ring/policies/early_writeback.ts";
import type { FileRange } from "../impl/ring/policies/preallocation.ts";
import { ThreadFile } from "../impl/thread.ts";
import { AIOFile, Writer } from "../mod.ts";
import { backendTest } from "./backends.ts";

const KiB64 = 65536;

/** How a started call ends: done, refused by the file system, or failed. */
type Outcome = "done" | "refused" | "failed";

/**
 * A writeback whose calls are recorded and finish when the test says; while
 * `busy.now` is set, calls cannot start.
 */
function controlled() {
  const started: FileRange[] = [];
  const finish: ((outcome?: Outcome) => void)[] = [];
  const busy = { now: false };
  const writeback = new EarlyWriteback((range) => {
    if (busy.now) return undefined;
    started.push(range);
    return new Promise((resolve, reject) =>
      finish.push((outcome = "done") =>
        outcome === "failed"
          ? reject(new Error("EIO"))
          : resolve(outcome === "done")
      )
    );
  });
  return { writeback, started, finish, busy };
}

/** Lets settled promises run their callbacks. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function writeRun(writeback: EarlyWriteback, from: number, to: number): void {
  for (let offset = from; offset < to; offset += KiB64) {
    writeback.wrote(offset, Math.min(KiB64, to - offset));
  }
}

Deno.test("EarlyWriteback: a sequential run starts each step's writeback, one call at a time, covering the run", async () => {
  const { writeback, started, finish } = controlled();
  writeRun(writeback, 0, WRITEBACK_STEP - KiB64);
  assert.equal(started.length, 0, "nothing before a step is written");
  writeRun(writeback, WRITEBACK_STEP - KiB64, WRITEBACK_STEP);
  assert.deepEqual(started, [{ offset: 0, length: WRITEBACK_STEP }]);
  // While that call runs, no other starts; what is written meanwhile goes in
  // the next call.
  writeRun(writeback, WRITEBACK_STEP, 3 * WRITEBACK_STEP + 123);
  assert.equal(started.length, 1);
  finish[0]();
  await settle();
  assert.deepEqual(started[1], {
    offset: WRITEBACK_STEP,
    length: 2 * WRITEBACK_STEP + 123,
  });
  // Less than a step written since: nothing more.
  finish[1]();
  await settle();
  assert.equal(started.length, 2);
});

Deno.test("EarlyWriteback: random writes and short runs start nothing", async () => {
  const { writeback, started } = controlled();
  for (let i = 0; i < 1000; i++) {
    writeback.wrote(((i * 7919) % 1000) * KiB64, KiB64);
  }
  for (let run = 0; run < 10; run++) {
    writeRun(writeback, run * 2 ** 30, run * 2 ** 30 + WRITEBACK_STEP / 2);
  }
  writeback.wrote(0, 0);
  await settle();
  assert.equal(started.length, 0);
});

Deno.test("EarlyWriteback: a truncation that cuts into the run ends it; one past it does not", () => {
  const { writeback, started } = controlled();
  writeRun(writeback, 0, WRITEBACK_STEP / 2);
  writeback.truncated(WRITEBACK_STEP / 2 - 1);
  writeRun(writeback, WRITEBACK_STEP / 2, WRITEBACK_STEP);
  assert.equal(started.length, 0, "the run started over at the truncation");
  writeback.truncated(2 * WRITEBACK_STEP);
  writeRun(writeback, WRITEBACK_STEP, 3 * WRITEBACK_STEP / 2);
  assert.deepEqual(started, [{
    offset: WRITEBACK_STEP / 2,
    length: WRITEBACK_STEP,
  }]);
});

Deno.test("EarlyWriteback: when no call can start, the range waits for the next write", () => {
  const { writeback, started, busy } = controlled();
  busy.now = true;
  writeRun(writeback, 0, WRITEBACK_STEP + KiB64);
  assert.equal(started.length, 0);
  busy.now = false;
  writeback.wrote(WRITEBACK_STEP + KiB64, KiB64);
  assert.deepEqual(started, [{
    offset: 0,
    length: WRITEBACK_STEP + 2 * KiB64,
  }]);
});

Deno.test("EarlyWriteback: a file whose file system refuses the call gets no more", async () => {
  const { writeback, started, finish } = controlled();
  writeRun(writeback, 0, 2 * WRITEBACK_STEP);
  finish[0]("refused");
  await settle();
  writeRun(writeback, 2 * WRITEBACK_STEP, 4 * WRITEBACK_STEP);
  assert.equal(started.length, 1);
});

Deno.test("EarlyWriteback: a failed call is ignored and the next one starts", async () => {
  const { writeback, started, finish } = controlled();
  writeRun(writeback, 0, 2 * WRITEBACK_STEP);
  finish[0]("failed");
  await settle();
  assert.deepEqual(started[1], {
    offset: WRITEBACK_STEP,
    length: WRITEBACK_STEP,
  });
});

Deno.test("EarlyWriteback: stop waits for the call running, then starts no more", async () => {
  const { writeback, started, finish } = controlled();
  writeRun(writeback, 0, 2 * WRITEBACK_STEP);
  let stopped = false;
  const stopping = writeback.stop().then(() => stopped = true);
  await settle();
  assert.equal(stopped, false, "stop waits for the call");
  finish[0]();
  await stopping;
  assert.equal(started.length, 1, "what was pending is not started");
  writeRun(writeback, 2 * WRITEBACK_STEP, 4 * WRITEBACK_STEP);
  await writeback.stop();
  assert.equal(started.length, 1);
});

/** Records the writeback calls of every file; `hold` keeps them waiting until released. */
function spyOnWriteback(hold = false) {
  const original = Object.getOwnPropertyDescriptor(
    ThreadFile.prototype,
    "startWriteback",
  )!;
  const calls: { range: FileRange; result?: number }[] = [];
  let release!: () => void;
  const gate = hold ? new Promise<void>((r) => release = r) : Promise.resolve();
  ThreadFile.prototype.startWriteback = function (range) {
    const call: { range: FileRange; result?: number } = { range };
    calls.push(call);
    // The pool is free in these tests: a call that could not start (-2) fails
    // them.
    return gate.then(() => original.value.call(this, range) ?? -2).then(
      (result: number) => call.result = result,
    );
  };
  return {
    calls,
    release: () => release(),
    [Symbol.dispose]() {
      Object.defineProperty(ThreadFile.prototype, "startWriteback", original);
    },
  };
}

backendTest(
  "a long sequential write starts writeback behind it, with the kernel's consent",
  async (context, dir) => {
    // 64 KiB writes are done at once on ext4; 512 KiB ones are queued, several
    // in flight, and counted in call order.
    for (const chunk of [KiB64, 8 * KiB64]) {
      using spy = spyOnWriteback();
      const path = `${dir}/sequential-${chunk}.bin`;
      const size = 4 * WRITEBACK_STEP + 12345;
      const data = new Uint8Array(chunk).map((_, i) => (i * 131 + chunk) & 255);
      {
        await using afp = await AIOFile.open(path, "wb", { context });
        const writer = new Writer(afp);
        for (let done = 0; done < size; done += chunk) {
          await writer.write(data.subarray(0, Math.min(chunk, size - done)));
        }
        await afp.fsync();
      }
      assert.ok(spy.calls.length >= 1, `${chunk}: writeback was started`);
      let end = 0;
      for (const { range, result } of spy.calls) {
        assert.equal(range.offset, end, `${chunk}: calls follow each other`);
        assert.ok(range.length >= WRITEBACK_STEP);
        assert.equal(result, 0, "sync_file_range succeeded");
        end += range.length;
      }
      assert.ok(end <= size);
      const back = await Deno.readFile(path);
      assert.equal(back.length, size);
      const tail = size % chunk;
      assert.deepEqual(back.subarray(size - tail), data.subarray(0, tail));
    }
  },
  { only: ["uring", "linux"] },
);

backendTest(
  "closing waits for a writeback call in flight before the descriptor closes",
  async (context, dir) => {
    using spy = spyOnWriteback(true);
    const afp = await AIOFile.open(`${dir}/held.bin`, "wb", { context });
    const data = new Uint8Array(KiB64).fill(3);
    for (let offset = 0; offset < WRITEBACK_STEP; offset += KiB64) {
      await afp.write(data, offset);
    }
    assert.equal(spy.calls.length, 1);
    let closed = false;
    const closing = afp.close().then(() => closed = true);
    await settle();
    assert.equal(closed, false, "close waits for the call");
    spy.release();
    await closing;
    assert.equal(spy.calls[0].result, 0, "the call ran on an open descriptor");
  },
  { only: ["uring", "linux"] },
);

backendTest(
  "appends and O_DIRECT writes start no writeback",
  async (context, dir) => {
    using spy = spyOnWriteback();
    const data = new Uint8Array(KiB64).fill(5);
    {
      await using afp = await AIOFile.open(`${dir}/append.bin`, "ab", {
        context,
      });
      // The offsets are ignored in append mode: the kernel, not they, says
      // where each write lands.
      for (let offset = 0; offset < 2 * WRITEBACK_STEP; offset += KiB64) {
        await afp.write(data, offset);
      }
    }
    {
      await using afp = await AIOFile.open(`${dir}/direct.bin`, "wb", {
        context,
        direct: true,
      });
      for (let offset = 0; offset < 2 * WRITEBACK_STEP; offset += KiB64) {
        await afp.write(data, offset);
      }
    }
    assert.equal(spy.calls.length, 0);
  },
  { only: ["uring", "linux"] },
);
