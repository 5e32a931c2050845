/**
 * Every runtime a user has: an FFI descriptor that is not the file Deno
 * opened, Deno Deploy (no FFI, scoped
 * read/write, `Deno.FsFile` without `seek`/`stat`), and a denied libc.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  asyncOpen,
  createContext,
  LineReader,
  Writer,
} from "../mod.ts";
import {
  type DescriptorCalls,
  LIBC_DESCRIPTOR_CALLS,
  useDescriptorCallsForTests,
} from "../impl/descriptor.ts";
import type { Libc } from "../ffi/libc.ts";
import { backendTest, withTempDir } from "./backends.ts";
import { report, runFixture } from "./subprocess.ts";
import { libcPaths } from "../ffi/libc.ts";
import { libaioPaths } from "../ffi/libaio.ts";
import { namesOf } from "../ffi/load.ts";

/**
 * An `open(2)` that lands on another file than the one Deno opened (as on a
 * runtime whose descriptors are not the operating system's, or a path
 * replaced in between): it opens `decoy` instead.
 */
class WrongFile implements DescriptorCalls {
  readonly openFds = new Set<number>();
  opens = 0;
  readonly #decoy: string;

  constructor(decoy: string) {
    this.#decoy = decoy;
  }

  open(libc: Libc, _path: string, flags: number): number {
    this.opens++;
    const fd = LIBC_DESCRIPTOR_CALLS.open(libc, this.#decoy, flags);
    if (fd >= 0) this.openFds.add(fd);
    return fd;
  }

  close(libc: Libc, fd: number): number {
    this.openFds.delete(fd);
    return LIBC_DESCRIPTOR_CALLS.close(libc, fd);
  }
}

backendTest(
  "a descriptor that is not the file Deno opened is never used through FFI",
  async (context, dir) => {
    const decoy = `${dir}/decoy.txt`;
    const decoyText = "the decoy must stay as it is\n";
    Deno.writeTextFileSync(decoy, decoyText);
    const wrong = new WrongFile(decoy);
    useDescriptorCallsForTests(wrong);
    try {
      const target = `${dir}/target.txt`;
      {
        await using afp = await AIOFile.open(target, "w+", { context });
        assert.equal(afp.backend, "deno");
        assert.equal(await afp.write("hello target\n"), 13);
        assert.equal(await afp.read(), "hello target\n");
      }
      assert.equal(Deno.readTextFileSync(target), "hello target\n");
      assert.ok(wrong.opens >= 1);
      // Mode x creates its file once, and the deno backend serves it.
      const created = `${dir}/created.txt`;
      {
        await using afp = await AIOFile.open(created, "x+", { context });
        assert.equal(afp.backend, "deno");
        await afp.write("new");
        assert.equal(await afp.read(), "new");
      }
      assert.equal(Deno.readTextFileSync(created), "new");
      assert.equal(Deno.readTextFileSync(decoy), decoyText);
      assert.equal(wrong.openFds.size, 0, "a descriptor was left open");
    } finally {
      useDescriptorCallsForTests();
    }
  },
  { only: ["uring", "linux", "thread"] },
);

backendTest(
  "a descriptor of the file Deno opened is served by the FFI backend",
  async (context, dir, backend) => {
    useDescriptorCallsForTests(); // nothing learnt before counts
    await using afp = await AIOFile.open(`${dir}/real.txt`, "w+", { context });
    assert.equal(afp.backend, backend);
  },
  { only: ["uring", "linux", "thread"] },
);

/**
 * A `Deno.FsFile` that has only the calls `calls` (the others are
 * `undefined`), each going to `real`: how a runtime with part of `FsFile`
 * (Deno Deploy Classic: `read`, `close`, `readable`) hands it out.
 */
function partialHandle(
  real: Deno.FsFile,
  calls: readonly (keyof Deno.FsFile)[],
): Deno.FsFile {
  const properties: PropertyDescriptorMap = {};
  for (const name of Object.getOwnPropertyNames(Deno.FsFile.prototype)) {
    if (name !== "constructor") properties[name] = { value: undefined };
  }
  for (const name of calls) {
    const value: unknown = real[name];
    properties[name] = typeof value === "function"
      ? { value: (...args: unknown[]) => value.apply(real, args) }
      : { get: () => real[name] };
  }
  return Object.create(Deno.FsFile.prototype, properties);
}

/** Every call of `Deno.FsFile` but `seek`, `seekSync`, `stat` and `statSync`. */
const WITHOUT_SEEK_AND_STAT = Object.getOwnPropertyNames(
  Deno.FsFile.prototype,
).filter((name) =>
  !["constructor", "seek", "seekSync", "stat", "statSync"].includes(name)
) as (keyof Deno.FsFile)[];

/** The calls of a file handle on Deno Deploy Classic. */
const DEPLOY_CLASSIC: (keyof Deno.FsFile)[] = ["read", "close", "readable"];

Deno.test("a Deno.FsFile without seek and stat is read and written in sequence", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-test-" });
  const path = `${dir}/lines.txt`;
  const text = "one\ntwo\nthree\nfour\n";
  Deno.writeTextFileSync(path, text);
  /** A handle on `path` with `calls` only, closed after `use`. */
  const withHandle = async (
    use: (handle: Deno.FsFile) => Promise<void>,
    options: Deno.OpenOptions = { read: true },
    calls = WITHOUT_SEEK_AND_STAT,
  ) => {
    using real = await Deno.open(path, options);
    const handle = partialHandle(real, calls);
    assert.equal(typeof handle.seekSync, "undefined");
    assert.equal(typeof handle.stat, "undefined");
    await use(handle);
  };
  try {
    for (
      const [label, calls] of [["no seek", WITHOUT_SEEK_AND_STAT], [
        "Deploy Classic",
        DEPLOY_CLASSIC,
      ]] as const
    ) {
      await t.step(
        `${label}: asyncOpen read`,
        () =>
          withHandle(
            async (handle) => {
              await using wrapper = await asyncOpen(handle, "r");
              assert.equal(wrapper.file.backend, "deno");
              assert.equal(await wrapper.read(2), "on");
              assert.equal(await wrapper.read(), text.slice(2));
              assert.equal(await wrapper.read(), "");
            },
            undefined,
            calls,
          ),
      );
      await t.step(
        `${label}: read, readLine and lines in turn`,
        () =>
          withHandle(
            async (handle) => {
              await using wrapper = await asyncOpen(handle, "r");
              assert.equal(await wrapper.read(2), "on");
              assert.equal(await wrapper.readLine(), "e\n");
              const lines: string[] = [];
              for await (const line of wrapper) lines.push(line);
              assert.deepEqual(lines, ["two\n", "three\n", "four\n"]);
              assert.equal(await wrapper.read(), "");
            },
            undefined,
            calls,
          ),
      );
      await t.step(
        `${label}: asyncOpen readLine`,
        () =>
          withHandle(
            async (handle) => {
              await using wrapper = await asyncOpen(handle, "r");
              assert.equal(await wrapper.readLine(), "one\n");
            },
            undefined,
            calls,
          ),
      );
      await t.step(
        `${label}: asyncOpen lines`,
        () =>
          withHandle(
            async (handle) => {
              await using wrapper = await asyncOpen(handle, "r");
              const lines: string[] = [];
              for await (const line of wrapper) lines.push(line);
              assert.deepEqual(lines, ["one\n", "two\n", "three\n", "four\n"]);
              assert.equal(wrapper.tell(), text.length);
            },
            undefined,
            calls,
          ),
      );
      await t.step(
        `${label}: readable as a Response body`,
        () =>
          withHandle(
            async (handle) => {
              await using wrapper = await asyncOpen(handle, "rb");
              assert.equal(await new Response(wrapper.readable).text(), text);
            },
            undefined,
            calls,
          ),
      );
      await t.step(
        `${label}: AIOFile reads at the stream's position`,
        () =>
          withHandle(
            async (handle) => {
              await using afp = await AIOFile.open(handle, "rb");
              assert.equal(afp.backend, "deno");
              assert.equal(afp.seekable, false);
              assert.deepEqual(await afp.read(4, 0), encode("one\n"));
              assert.deepEqual(await afp.read(-1, 4), encode(text.slice(4)));
              await assert.rejects(
                afp.read(1, 0),
                (e: Error) => e instanceof Deno.errors.NotSupported,
              );
            },
            undefined,
            calls,
          ),
      );
      await t.step(`${label}: LineReader`, () =>
        withHandle(
          async (handle) => {
            await using afp = await AIOFile.open(handle, "r");
            const lines: string[] = [];
            for await (const line of new LineReader(afp)) lines.push(line);
            assert.deepEqual(lines, ["one\n", "two\n", "three\n", "four\n"]);
          },
          undefined,
          calls,
        ));
    }
    await t.step(
      "no seek: asyncOpen and Writer write in sequence",
      () =>
        withHandle(async (handle) => {
          await using wrapper = await asyncOpen(handle, "w");
          assert.equal(await wrapper.write("hello "), 6);
          assert.equal(await wrapper.write("Deploy\n"), 7);
          const writer = new Writer(wrapper.file, { offset: 13 });
          await writer.write("and Writer\n");
          await wrapper.flush();
          assert.equal(
            Deno.readTextFileSync(path),
            "hello Deploy\nand Writer\n",
          );
        }, { write: true, truncate: true }),
    );
    Deno.writeTextFileSync(path, text);
    await t.step("no stat (seek works): positional, with a size", async () => {
      using real = await Deno.open(path);
      const handle = partialHandle(
        real,
        Object.getOwnPropertyNames(Deno.FsFile.prototype).filter((name) =>
          !["constructor", "stat", "statSync"].includes(name)
        ) as (keyof Deno.FsFile)[],
      );
      await using afp = await AIOFile.open(handle, "r");
      assert.equal(afp.seekable, true);
      assert.equal(await afp.size(), text.length);
      assert.equal(await afp.read(3, 4), "two");
      await assert.rejects(
        afp.stat(),
        (e: Error) =>
          e instanceof Deno.errors.NotSupported && /stat\(\)/.test(e.message),
      );
    });
    await t.step(
      "Deploy Classic: a writable mode is refused at open",
      () =>
        withHandle(
          async (handle) => {
            for (const mode of ["r+", "w", "a"]) {
              await assert.rejects(
                AIOFile.open(handle, mode),
                (e: Error) =>
                  e instanceof Deno.errors.NotSupported &&
                  /write\(\)/.test(e.message),
              );
            }
          },
          undefined,
          DEPLOY_CLASSIC,
        ),
    );
    await t.step(
      "Deploy Classic: a sync is NotSupported, not a TypeError",
      () =>
        withHandle(
          async (handle) => {
            await using afp = await AIOFile.open(handle, "r");
            for (const call of [() => afp.fsync(), () => afp.fdsync()]) {
              await assert.rejects(
                call(),
                (e: Error) =>
                  e instanceof Deno.errors.NotSupported &&
                  /sync/.test(e.message),
              );
            }
            assert.equal(await afp.read(), text);
          },
          undefined,
          DEPLOY_CLASSIC,
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a path opened where Deno.open gives Deploy Classic handles is read in sequence", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-test-" });
  const path = `${dir}/lines.txt`;
  const text = "one\ntwo\n";
  Deno.writeTextFileSync(path, text);
  const open = Deno.open;
  const opened: Deno.FsFile[] = [];
  Deno.open = async (...args: Parameters<typeof Deno.open>) => {
    const real = await open(...args);
    opened.push(real);
    return partialHandle(real, DEPLOY_CLASSIC);
  };
  try {
    const context = createContext({ backend: "deno" });
    try {
      await using afp = await AIOFile.open(path, "r", { context });
      assert.equal(afp.seekable, false);
      assert.equal(await afp.size(), text.length);
      assert.equal((await afp.stat()).ino, (await Deno.stat(path)).ino);
      const lines: string[] = [];
      for await (const line of new LineReader(afp)) lines.push(line);
      assert.deepEqual(lines, ["one\n", "two\n"]);
      await assert.rejects(
        AIOFile.open(path, "r+", { context }),
        (e: Error) => e instanceof Deno.errors.NotSupported,
      );
    } finally {
      await context.close();
    }
    // Every handle opened was closed, the refused one too.
    for (const real of opened) assert.throws(() => real.close());
  } finally {
    Deno.open = open;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Deno Deploy-like permissions: reads, lines, a Response body, Writer and truncate on deno, without a prompt", async () => {
  await withTempDir(async (app) => {
    await withTempDir(async (tmp) => {
      const input = `${app}/lines.txt`;
      const text = "one\ntwo\nthree\n";
      await Deno.writeTextFile(input, text);
      const out = report(
        await runFixture("deploy_like.ts", [
          `--allow-read=${app},${tmp}`,
          `--allow-write=${tmp}`,
          "--deny-ffi",
          "--deny-env",
        ], { args: [input, tmp] }),
      );
      assert.deepEqual(out, {
        text,
        lines: ["one\n", "two\n", "three\n"],
        body: text,
        written: "first\n",
        onDisk: "first\n",
        backends: ["deno"],
      });
    });
  });
});

/** The first candidate of `paths` that exists, and its real path. */
function installed(
  paths: readonly string[],
): { path: string; real: string } | undefined {
  for (const path of paths) {
    if (!path.startsWith("/")) continue;
    try {
      return { path, real: Deno.realPathSync(path) };
    } catch {
      // not here
    }
  }
  return undefined;
}

const libc = installed(libcPaths());

Deno.test({
  name: "--deny-ffi=<libc> loads libc by no other path: files go to deno" +
    (libc === undefined ? " (skipped: no libc.so.6 found)" : ""),
  ignore: libc === undefined,
  async fn(t) {
    // The real path, and the first candidate (another path to the same file
    // where /lib links to /usr/lib).
    for (const denied of new Set([libc!.real, libc!.path])) {
      await t.step(denied, () =>
        withTempDir(async (dir) => {
          const out = report(
            await runFixture("ffi_denied.ts", [
              "--allow-read",
              "--allow-write",
              "--allow-ffi",
              `--deny-ffi=${denied}`,
            ], { args: [`${dir}/file.txt`] }),
          );
          assert.equal(out.backend, "deno");
          assert.equal(out.data, "served\n");
          assert.deepEqual(out.dlopened, [], "a library was loaded");
          for (const name of ["uring", "linux", "thread"]) {
            assert.match(out.unavailable[name], /is denied/);
          }
          assert.equal(out.unavailable.deno, null);
        }));
    }
    if (libcPaths().includes(libc!.real)) {
      await t.step(
        "without read permission to follow the links",
        () =>
          withTempDir(async (dir) => {
            const out = report(
              await runFixture("ffi_denied.ts", [
                `--allow-read=${dir}`,
                `--allow-write=${dir}`,
                "--allow-ffi",
                `--deny-ffi=${libc!.real}`,
              ], { args: [`${dir}/file.txt`] }),
            );
            assert.equal(out.backend, "deno");
            assert.deepEqual(out.dlopened, [], "a library was loaded");
          }),
      );
    }
  },
});

Deno.test("namesOf follows a library path through each directory and link to its file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.writeTextFile(`${dir}/real/lib.so.1.0`, "");
    await Deno.symlink("lib.so.1.0", `${dir}/real/lib.so.1`);
    await Deno.symlink("real", `${dir}/alias`);
    assert.deepEqual(namesOf(`${dir}/alias/lib.so.1`), [
      `${dir}/alias/lib.so.1`,
      `${dir}/real/lib.so.1`,
      `${dir}/real/lib.so.1.0`,
    ]);
    assert.equal(namesOf(`${dir}/alias/missing.so`), undefined);
  });
});

const libaio = installed(libaioPaths());

Deno.test({
  name: "--deny-ffi=<libaio> loads libaio by no other path" +
    (libaio === undefined || libc === undefined
      ? " (skipped: libaio or libc not installed)"
      : ""),
  ignore: libaio === undefined || libc === undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const out = report(
        await runFixture("ffi_denied.ts", [
          "--allow-read",
          "--allow-write",
          "--allow-ffi",
          `--deny-ffi=${libaio!.real}`,
        ], { args: [`${dir}/file.txt`] }),
      );
      assert.equal(out.data, "served\n");
      // libc still loads (the linux backend calls io_setup through syscall()).
      for (const { path } of out.dlopened) {
        assert.equal(Deno.realPathSync(path), libc!.real, path);
      }
      assert.equal(out.unavailable.linux, null);
    });
  },
});

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
