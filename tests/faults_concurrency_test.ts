/**
 * Faults of concurrency: Workers writing disjoint ranges of one file at once,
 * and a file closed while 300 calls are in flight.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  type BackendName,
  type Context,
  createContext,
} from "../mod.ts";
import { backendTest, withTempDir } from "./backends.ts";
import { availableBackends } from "../impl/providers.ts";
import {
  firstMismatch,
  libraryDescriptors,
  pattern,
} from "./faults_support.ts";

const WORKERS = 6;
/** Not a multiple of the chunk, nor of a page: ranges meet inside pages. */
const RANGE = 256 * 1024 + 1000;
const WORKER_CHUNK = 16 * 1024;

/** Answers of `fixtures/range_worker.ts`. */
type Answer = { ok: true; backend: BackendName } | { ok: false; error: string };

function writeRangeInWorker(
  path: string,
  backend: BackendName,
  index: number,
): Promise<Answer> {
  const worker = new Worker(
    new URL("./fixtures/range_worker.ts", import.meta.url).href,
    { type: "module" },
  );
  return new Promise<Answer>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<Answer>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`worker ${index}: ${event.message}`));
    };
    worker.postMessage({
      path,
      backend,
      start: index * RANGE,
      end: (index + 1) * RANGE,
      chunk: WORKER_CHUNK,
    });
  }).finally(() => worker.terminate());
}

backendTest(
  `${WORKERS} Workers write disjoint ranges of one file at once: the file holds every byte`,
  async (_context, dir, backend) => {
    const path = `${dir}/shared.bin`;
    await Deno.writeFile(path, new Uint8Array(0));
    const answers = await Promise.all(
      Array.from(
        { length: WORKERS },
        (_, i) => writeRangeInWorker(path, backend, i),
      ),
    );
    for (const [i, answer] of answers.entries()) {
      assert.deepEqual(answer, { ok: true, backend }, `worker ${i}`);
    }
    const bytes = await Deno.readFile(path);
    assert.equal(bytes.length, WORKERS * RANGE);
    const at = firstMismatch(bytes, 0, bytes.length);
    assert.equal(at, undefined, `byte ${at} is wrong`);
  },
);

const CALLS = 300;
const BLOCK = 4096;

/** When the calls after `close()` are made. */
type Later = "at once" | "a task later";

/**
 * What `close()` must do to `CALLS` calls in flight on a file of `context`, and
 * to the calls made after it.
 */
async function closeWithCallsInFlight(
  context: Context,
  dir: string,
  when: Later,
): Promise<void> {
  const path = `${dir}/busy.bin`;
  const afp = await AIOFile.open(path, "w+b", { context });
  // Blocks 0..149 are rewritten, 150..299 only read.
  await afp.write(pattern(0, CALLS * BLOCK, 1));
  await afp.fsync();

  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < CALLS; i++) {
    const offset = i * BLOCK;
    if (i < CALLS / 2) calls.push(afp.write(pattern(offset, BLOCK), offset));
    else if (i % 25 === 0) calls.push(afp.fdsync());
    else if (i % 25 === 1) calls.push(afp.size());
    else if (i % 25 === 2) calls.push(afp.readBytes(BLOCK, offset));
    else calls.push(afp.read(BLOCK, offset));
  }
  let settled = 0;
  for (const call of calls) call.then(() => settled++, () => settled++);

  const closing = afp.close();
  if (when === "a task later") await new Promise((r) => setTimeout(r, 0));
  const later = Promise.allSettled([
    afp.write(pattern(0, BLOCK, 2), 0),
    afp.writeBytes(pattern(0, BLOCK, 2), 0),
    afp.read(BLOCK, 0),
    afp.readBytes(BLOCK, 0),
    afp.fsync(),
    afp.fdsync(),
    afp.truncate(),
    afp.size(),
  ]);
  await closing;
  assert.equal(
    settled,
    CALLS,
    "close() resolved before the calls it waits for",
  );

  for (const [i, result] of (await later).entries()) {
    assert.equal(result.status, "rejected", `call ${i} after close() ran`);
    assert.ok(
      (result as PromiseRejectedResult).reason instanceof
        Deno.errors.BadResource,
      `call ${i} after close(): ${(result as PromiseRejectedResult).reason}`,
    );
  }

  const results = await Promise.allSettled(calls);
  for (const [i, result] of results.entries()) {
    assert.equal(
      result.status,
      "fulfilled",
      `call ${i} issued before close() failed: ${
        result.status === "rejected" ? result.reason : ""
      }`,
    );
    const value = (result as PromiseFulfilledResult<unknown>).value;
    if (i < CALLS / 2) assert.equal(value, BLOCK, `write ${i}`);
    else if (i % 25 === 1) assert.equal(value, CALLS * BLOCK);
    else if (i % 25 > 1) {
      assert.deepEqual(value, pattern(i * BLOCK, BLOCK, 1), `read ${i}`);
    }
  }

  const bytes = await Deno.readFile(path);
  assert.equal(bytes.length, CALLS * BLOCK);
  assert.equal(firstMismatch(bytes, 0, CALLS / 2 * BLOCK), undefined);
  assert.equal(
    firstMismatch(bytes, CALLS / 2 * BLOCK, bytes.length, 1),
    undefined,
  );
}

const CLOSE_NAME =
  `closing a file with ${CALLS} calls in flight: those made before complete, close waits for them`;

backendTest(
  `${CLOSE_NAME}, those made a task later reject BadResource`,
  (context, dir) => closeWithCallsInFlight(context, dir, "a task later"),
);

backendTest(
  `${CLOSE_NAME} (most of them waiting for one of 4 turns), those made a task later reject BadResource`,
  async (_context, dir, backend) => {
    await using context = createContext({ backend, maxRequests: 4 });
    await closeWithCallsInFlight(context, dir, "a task later");
  },
);

Deno.test({
  name:
    `${CLOSE_NAME}, those made right after close() reject BadResource, on every backend`,
  async fn() {
    for (const backend of availableBackends()) {
      await using context = createContext({ backend });
      await withTempDir((dir) =>
        closeWithCallsInFlight(context, dir, "at once")
      );
    }
  },
});

Deno.test({
  name:
    "[deno] closing files while the backend opens another handle for them leaves no descriptor open",
  async fn() {
    await withTempDir(async (dir) => {
      await using context = createContext({ backend: "deno" });
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 100 }, async (_, i) => {
          const afp = await AIOFile.open(`${dir}/${i}.bin`, "w+b", {
            context,
          });
          await Promise.all(
            [0, 1, 2].map((j) => afp.write(pattern(j * 10, 10), j * 10)),
          );
          await afp.close();
        }));
        assert.equal(
          libraryDescriptors(dir).files,
          0,
          `round ${round}: descriptors of closed files are open`,
        );
      }
    });
  },
});
