/**
 * Faults of the system's limits: io_uring disabled and `fs.aio-max-nr`
 * exhausted (kernel settings changed for a moment, around a child that probes
 * afresh: backends cache what they probed in-process), every descriptor taken,
 * 3000 files open at once, 100 contexts open at once.
 *
 * The kernel settings are global: each test starts its child first and changes
 * the setting only while the child does the part that needs it, then restores it
 * in a `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, createContext } from "../mod.ts";
import { unavailableReason } from "../impl/providers.ts";
import { backendTest, withTempDir } from "./backends.ts";
import {
  Child,
  descriptorLimit,
  libraryDescriptors,
  sysctlUnavailable,
  withSysctl,
} from "./faults_support.ts";

/** Flags of a child that uses files in `dir` through any backend. */
function childFlags(dir: string): string[] {
  return [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-ffi"];
}

/** A test that runs only when every one of `reasons` is `undefined`. */
function testUnless(
  name: string,
  reasons: (string | undefined)[],
  fn: () => Promise<void>,
  options: { bug?: string } = {},
): void {
  const reason = reasons.find((r) => r !== undefined);
  const why = reason === undefined
    ? options.bug === undefined ? "" : ` (ignored, known bug: ${options.bug})`
    : ` (skipped: ${reason})`;
  Deno.test({
    name: name + why,
    ignore: reason !== undefined || options.bug !== undefined,
    fn,
  });
}

testUnless(
  "kernel.io_uring_disabled=2: the default context serves files through the next backend, createContext uring throws NotSupported saying why, and a uring context made before hands its files on",
  [
    unavailableReason("uring"),
    unavailableReason("linux"),
    sysctlUnavailable("kernel.io_uring_disabled"),
  ],
  async () => {
    await withTempDir(async (dir) => {
      // One child probes after io_uring is disabled, one before.
      await using fresh = Child.spawn("uring_disabled.ts", childFlags(dir), {
        args: [dir, "fresh"],
      });
      await using probed = Child.spawn("uring_disabled.ts", childFlags(dir), {
        args: [dir, "probed first"],
      });
      assert.equal(await fresh.line(), "ready");
      assert.equal(await probed.line(), "ready");
      const [disabled, early] = await withSysctl(
        "kernel.io_uring_disabled",
        "2",
        async () => {
          await Promise.all([fresh.send("go"), probed.send("go")]);
          return await Promise.all([fresh.json(), probed.json()]);
        },
      );
      assert.equal(disabled.uring.ok, false, "a uring context was made");
      assert.equal(disabled.uring.notSupported, true, disabled.uring.message);
      assert.match(disabled.uring.message, /"uring" backend/);
      assert.match(disabled.uring.message, /io_uring_setup failed: EPERM/);
      assert.equal(disabled.defaultBackend, "linux");
      assert.deepEqual(disabled.defaultFile, {
        backend: "linux",
        roundTrip: true,
      });

      // Probed before: uring is still listed first, and hands every file on.
      assert.equal(early.defaultBackend, "uring");
      assert.deepEqual(early.defaultFile, {
        backend: "linux",
        roundTrip: true,
      });
      assert.deepEqual(early.earlyFile, { backend: "linux", roundTrip: true });
      for (const child of [fresh, probed]) {
        assert.equal((await child.status).code, 0, await child.stderr);
      }
    });
  },
);

/** Runs `fixtures/aio_exhausted.ts` with `fs.aio-max-nr` exhausted, then restored. */
async function aioExhaustedRun(): Promise<{
  exhausted: { backend: string; roundTrip: boolean };
  sameContext: { backend: string; roundTrip: boolean };
  newContext: { backend: string; roundTrip: boolean };
}> {
  return await withTempDir(async (dir) => {
    await using child = Child.spawn("aio_exhausted.ts", childFlags(dir), {
      args: [dir],
    });
    assert.equal(await child.line(), "ready");
    // 0: no io_setup can reserve any event, whatever other processes hold.
    const { exhausted } = await withSysctl("fs.aio-max-nr", "0", async () => {
      await child.send("go");
      return await child.json();
    });
    await child.send("restored");
    const { sameContext, newContext } = await child.json();
    assert.equal((await child.status).code, 0, await child.stderr);
    return { exhausted, sameContext, newContext };
  });
}

const AIO_REASONS = [
  unavailableReason("linux"),
  unavailableReason("thread"),
  sysctlUnavailable("fs.aio-max-nr"),
];

testUnless(
  "[linux] fs.aio-max-nr exhausted: files are handed on to thread and served; a new context uses linux again",
  AIO_REASONS,
  async () => {
    const { exhausted, newContext } = await aioExhaustedRun();
    assert.deepEqual(exhausted, { backend: "thread", roundTrip: true });
    assert.deepEqual(newContext, { backend: "linux", roundTrip: true });
  },
);

testUnless(
  "[linux] fs.aio-max-nr exhausted, then freed: a later file of the same context uses linux again",
  AIO_REASONS,
  async () => {
    const { exhausted, sameContext } = await aioExhaustedRun();
    assert.deepEqual(exhausted, { backend: "thread", roundTrip: true });
    assert.deepEqual(sameContext, { backend: "linux", roundTrip: true });
  },
);

testUnless(
  "[uring] a probe that fails with EMFILE (every descriptor taken) does not disable uring once descriptors are free",
  [unavailableReason("uring")],
  async () => {
    await withTempDir(async (dir) => {
      await using child = Child.spawn("probe_emfile.ts", childFlags(dir), {
        args: [dir],
        fileLimit: 256,
      });
      const out = await child.json();
      assert.ok(out.held > 0, JSON.stringify(out));
      assert.deepEqual(out.afterwards, { ok: true }, JSON.stringify(out));
      assert.equal(out.backend, "uring", JSON.stringify(out));
    });
  },
);

const MANY_FILES = 3000;
/** Descriptors besides the files: the runtime's, the backends', the tests'. */
const MARGIN = 256;
const limit = descriptorLimit();

/**
 * A directory on a tmpfs for `use` when there is one (`/dev/shm`), else `dir`:
 * the case is about descriptors, and creating and syncing 3000 files on a disk
 * file system only makes it slower.
 */
async function onTmpfs<T>(
  dir: string,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  let shm: string;
  try {
    if (!Deno.statSync("/dev/shm").isDirectory) return await use(dir);
    const { stdout } = await new Deno.Command("stat", {
      args: ["-f", "-c", "%t", "/dev/shm"],
    }).output();
    if (new TextDecoder().decode(stdout).trim() !== "1021994") {
      return await use(dir);
    }
    shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "aiofile-test-" });
  } catch {
    return await use(dir);
  }
  try {
    return await use(shm);
  } finally {
    await Deno.remove(shm, { recursive: true });
  }
}

if (limit < MANY_FILES + MARGIN) {
  Deno.test({
    name:
      `${MANY_FILES} files open at once (skipped: the descriptor limit is ${limit}; ` +
      `raise it with ulimit -n ${MANY_FILES + MARGIN})`,
    ignore: true,
    fn() {},
  });
} else {
  backendTest(
    `${MANY_FILES} files open at once: each opened, written, read back and closed`,
    (context, testDir, backend) =>
      onTmpfs(testDir, async (dir) => {
        // The context sets up its queue (ring, eventfd) with its first file.
        await (await AIOFile.open(`${dir}/first.txt`, "w", { context }))
          .close();
        const before = libraryDescriptors(dir);
        const opened = await Promise.allSettled(
          Array.from(
            { length: MANY_FILES },
            (_, i) => AIOFile.open(`${dir}/${i}.txt`, "w+", { context }),
          ),
        );
        const files = opened.flatMap((r) =>
          r.status === "fulfilled" ? [r.value] : []
        );
        try {
          const failed = opened.find((r) => r.status === "rejected");
          assert.equal(failed, undefined, "a file did not open");
          assert.ok(files.every((afp) => afp.backend === backend));
          assert.deepEqual(libraryDescriptors(dir), {
            ...before,
            files: before.files + MANY_FILES,
          });
          await Promise.all(files.map((afp, i) => afp.write(`file ${i}\n`)));
          const back = await Promise.all(files.map((afp) => afp.read()));
          back.forEach((text, i) => assert.equal(text, `file ${i}\n`));
        } finally {
          await Promise.all(files.map((afp) => afp.close()));
        }
        // The uring backend's relay wake loads after its first wakes (one
        // ring more, the backend's own until the context closes).
        const after = libraryDescriptors(dir);
        const relay = backend === "uring" && after.rings === before.rings + 1;
        assert.deepEqual(
          after,
          relay ? { ...before, rings: before.rings + 1 } : before,
          "a descriptor was left open",
        );
        assert.equal(
          await Deno.readTextFile(`${dir}/${MANY_FILES - 1}.txt`),
          `file ${MANY_FILES - 1}\n`,
        );
      }),
  );
}

const CONTEXTS = 100;

backendTest(
  `${CONTEXTS} contexts open at once: each opens, writes, reads back and closes`,
  async (_context, dir, backend) => {
    const before = libraryDescriptors(dir);
    const contexts = Array.from(
      { length: CONTEXTS },
      () => createContext({ backend }),
    );
    try {
      await Promise.all(contexts.map(async (context, i) => {
        await using afp = await AIOFile.open(`${dir}/${i}.bin`, "w+b", {
          context,
        });
        assert.equal(afp.backend, backend);
        // One request at a time: the deno backend's known bug with several
        // (faults_concurrency_test.ts) is not this test's concern.
        const data = new Uint8Array(8192).fill(i + 1);
        assert.equal(await afp.write(data), data.length);
        assert.deepEqual(await afp.read(), data);
      }));
    } finally {
      await Promise.all(contexts.map((context) => context.close()));
    }
    assert.deepEqual(
      libraryDescriptors(dir),
      before,
      "a descriptor was left open",
    );
  },
);
