/**
 * What a kernel queue (impl/ring/engine.ts) does when its wake fires with
 * many completions ready (`wakeReapFirst`): it reaps a few, lets their callers
 * make their next requests, submits those, and reaps the rest with that
 * submission, so that the device gets work again early; when the callers make
 * no request, the rest are reaped a macrotask later.
 *
 * The queue runs over an in-memory kernel here, so that the order of events is
 * exact: the test says when requests complete and when the wake fires.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RingBackend } from "../impl/ring/engine.ts";
import type { RingFile } from "../impl/ring/ring_file.ts";
import type { CompletionWake } from "../impl/ring/wake.ts";
import { DEFAULT_TUNING } from "../impl/tuning.ts";
import { type Libc, loadLibc } from "../ffi/libc.ts";
import { readOnly, withTempDir } from "./backends.ts";

const realLibc = loadLibc();
const FAKE_EVENTFD = 1_000_000;

/**
 * The C calls the queue makes outside its kernel: a fake eventfd; the files'
 * own descriptors (open, fstat, close) are real ones.
 */
const FAKE_LIBC = {
  symbols: {
    eventfd: () => FAKE_EVENTFD,
    close: (fd: number) =>
      fd === FAKE_EVENTFD
        ? 0
        : realLibc.ok
        ? realLibc.library.symbols.close(fd)
        : 0,
    write: () => 8n,
    fstatfs: () => -1,
    pool_hop: () => new Promise((resolve) => setTimeout(resolve, 0)),
    memset_address: () => 0n,
    open: (...args: Parameters<Libc["symbols"]["open"]>) =>
      realLibc.ok ? realLibc.library.symbols.open(...args) : -1,
    statx: (...args: Parameters<Libc["symbols"]["statx"]>) =>
      realLibc.ok ? realLibc.library.symbols.statx(...args) : -1,
    __errno_location: () =>
      realLibc.ok ? realLibc.library.symbols.__errno_location() : null,
    memcpy: (...args: Parameters<Libc["symbols"]["memcpy"]>) =>
      realLibc.ok ? realLibc.library.symbols.memcpy(...args) : null,
  },
} as unknown as Libc;

/** A kernel queue whose kernel is an array, and whose wake the test fires. */
class InMemoryQueue extends RingBackend {
  readonly name = "uring" as const;
  protected readonly nowaitReads = false;
  protected readonly inlineWrites = false;
  /** What happened, in order: `submit N`, `reap N` (N > 0 only). */
  readonly log: string[] = [];
  readonly #inKernel: number[] = [];
  readonly #done: number[] = [];
  #fire: (() => void) | undefined;

  constructor() {
    super(FAKE_LIBC, DEFAULT_TUNING);
  }

  /** Completes every request in the kernel; the wake is not fired. */
  completeAll(): void {
    this.#done.push(...this.#inKernel.splice(0));
  }

  /** Completes and reaps everything, whatever the state (after a failed test). */
  async drain(): Promise<void> {
    for (
      let i = 0;
      i < 100 && this.#inKernel.length + this.#done.length > 0;
      i++
    ) {
      this.completeAll();
      const fire = this.#fire;
      this.#fire = undefined;
      fire?.();
      await macrotask();
    }
  }

  /** Fires the armed wake. */
  fire(): void {
    const fire = this.#fire;
    assert.ok(fire !== undefined, "the wake is not armed");
    this.#fire = undefined;
    fire();
  }

  protected start(): string | undefined {
    return undefined;
  }

  protected prepare(): void {}

  protected submitQueued(slots: readonly number[]): number {
    this.log.push(`submit ${slots.length}`);
    this.#inKernel.push(...slots);
    return slots.length;
  }

  protected reapReady(
    complete: (slot: number, res: number) => void,
    limit: number,
  ): boolean {
    const reaped = this.#done.splice(0, limit);
    if (reaped.length > 0) this.log.push(`reap ${reaped.length}`);
    for (const slot of reaped) complete(slot, 0);
    return this.#done.length > 0;
  }

  protected stop(): void {}

  protected override createWake(): CompletionWake {
    return {
      name: "pool",
      arm: () => new Promise<void>((resolve) => this.#fire = resolve),
      close: () => {},
    };
  }
}

/**
 * Runs `use` with a queue and a file of it (requests are `fsync`s, which carry
 * no buffer), with the clock stopped: completions never look as if they had
 * kept the event loop for long, so requests are submitted in microtasks.
 */
async function withQueue(
  use: (queue: InMemoryQueue, request: () => Promise<number>) => Promise<void>,
): Promise<void> {
  const now = performance.now;
  const stopped = now.call(performance);
  performance.now = () => stopped;
  const queue = new InMemoryQueue();
  try {
    await withTempDir(async (dir) => {
      const path = `${dir}/file`;
      await Deno.writeFile(path, new Uint8Array(1));
      const file = await queue.open({
        kind: "path",
        path,
        flags: readOnly(false),
      });
      try {
        await use(
          queue,
          () =>
            queue.submit({
              op: "fsync",
              fd: (file as RingFile).fd,
              buffer: undefined,
              offset: 0,
              nowait: false,
              path,
              alignment: 1,
            }),
        );
      } finally {
        await file.close();
      }
    });
  } finally {
    performance.now = now;
    await queue.drain();
    await queue.close();
  }
}

/** Lets queued microtasks and one macrotask run. */
const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

const WAKE_REAP_FIRST = DEFAULT_TUNING.wakeReapFirst;
const BATCH = 3 * WAKE_REAP_FIRST;

Deno.test("at a wake, the first completions' callers reach the kernel before the rest are reaped", async () => {
  await withQueue(async (queue, request) => {
    const followUps: Promise<number>[] = [];
    const first = Array.from(
      { length: BATCH },
      () => request().then(() => followUps.push(request())),
    );
    await macrotask();
    assert.deepEqual(queue.log.splice(0), [`submit ${BATCH}`]);
    queue.completeAll();
    queue.fire();
    await Promise.all(first);
    assert.deepEqual(queue.log.splice(0), [
      `reap ${WAKE_REAP_FIRST}`,
      `submit ${WAKE_REAP_FIRST}`,
      // reaped with that submission; their callers' requests follow
      `reap ${BATCH - WAKE_REAP_FIRST}`,
      `submit ${BATCH - WAKE_REAP_FIRST}`,
    ]);
    await macrotask();
    queue.completeAll();
    queue.fire();
    assert.equal((await Promise.all(followUps)).length, BATCH);
  });
});

Deno.test("at a wake, when the first completions' callers make no request, the rest are reaped a macrotask later", async () => {
  await withQueue(async (queue, request) => {
    const requests = Array.from({ length: BATCH }, () => request());
    await macrotask();
    queue.completeAll();
    queue.log.length = 0;
    let settled = 0;
    for (const r of requests) r.then(() => settled++);
    queue.fire();
    // Microtasks only: the first ones are settled, the rest wait.
    await Promise.resolve();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.equal(settled, WAKE_REAP_FIRST);
    assert.deepEqual(queue.log, [`reap ${WAKE_REAP_FIRST}`]);
    await Promise.all(requests);
    assert.deepEqual(queue.log, [
      `reap ${WAKE_REAP_FIRST}`,
      `reap ${BATCH - WAKE_REAP_FIRST}`,
    ]);
  });
});

Deno.test("at a wake, a completion or two are reaped at once, with nothing left for later", async () => {
  await withQueue(async (queue, request) => {
    const requests = [request(), request()];
    await macrotask();
    queue.completeAll();
    queue.log.length = 0;
    queue.fire();
    await Promise.all(requests);
    assert.deepEqual(queue.log, ["reap 2"]);
  });
});
