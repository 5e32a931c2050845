/**
 * Sandbox escapes: a child granted `--allow-read=<dir>`/`--allow-write=<dir>`
 * tries to reach a file outside through `/proc/self/fd/N` (its standard input
 * is that file), `..` segments, symlinks and `file:` URL tricks, under each
 * backend. `process_test.ts` covers plain paths outside, plain `..`, and a
 * symlink placed inside by someone else (served alike by every backend, as
 * `Deno.open` serves it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { AIOFile, createContext } from "../mod.ts";
import { BACKEND_NAMES, type BackendName } from "../impl/backend.ts";
import { availableBackends, unavailableReason } from "../impl/providers.ts";
import { withTempDir } from "./backends.ts";
import { Child } from "./faults_support.ts";

const OUTSIDE_CONTENT =
  "outside the sandbox: no escape may read or change this\n";
const MARK = "written by the escape fixture\n";

/** What each case of `fixtures/sandbox_escapes.ts` must give. */
type Expected =
  | "refused" // NotCapable, as Deno.open
  | "not found" // NotFound, as Deno.open: the path is read lexically, inside
  | "inside" // served, as Deno.open: the file inside the directory
  | "not outside"; // anything but the outside file (a NUL byte: see below)

const EXPECTED: Record<string, Expected> = {
  procSelfFd0: "refused",
  procSelfFd0Write: "refused",
  procSelfFd0Append: "refused",
  devStdin: "refused",
  devFd0Write: "refused",
  procPidFd0: "refused",
  procThreadSelfFd0: "refused",
  procSelfRoot: "refused",
  procSelfCwd: "refused",
  dotdotReadWrite: "refused",
  dotdotExclusive: "refused",
  dotdotMissingDir: "refused",
  dotdotThroughFile: "refused",
  dotdotSlashes: "refused",
  dotdotToRoot: "refused",
  dotdotRelative: "refused",
  linkDotdotRead: "not found",
  linkDotdotWrite: "not found",
  linkDotdotAppend: "inside",
  plantedLink: "not found",
  urlDotdot: "refused",
  urlEncodedDotdot: "refused",
  urlEncodedDotdotUpper: "refused",
  urlHalfEncodedDotdot: "refused",
  urlEncodedSlash: "refused",
  urlEncodedSlashWrite: "refused",
  urlEncodedSlashes: "refused",
  urlBackslashes: "refused",
  urlDoubleEncoded: "not found",
  urlLinkDotdot: "inside",
  urlLocalhost: "refused",
  urlAsString: "refused",
  nul: "not outside",
  nulWrite: "not outside",
  urlEncodedNul: "not outside",
};

interface Outcome {
  ok: boolean;
  backend?: string;
  data?: string | null;
  error?: string;
  message?: string;
}

async function escapeRun(backend: BackendName): Promise<void> {
  await withTempDir(async (dir) => {
    const inside = `${dir}/inside`;
    const outside = `${dir}/outside.txt`;
    await Deno.mkdir(inside);
    await Deno.mkdir(`${dir}/outdir`);
    await Deno.writeTextFile(outside, OUTSIDE_CONTENT);
    await Deno.writeTextFile(`${inside}/inside.txt`, "inside\n");
    // The kernel takes `updir/..` to `dir`, where the outside file is.
    await Deno.symlink("../outdir", `${inside}/updir`);

    await using child = Child.spawn("sandbox_escapes.ts", [
      `--allow-read=${inside}`,
      `--allow-write=${inside}`,
      "--allow-ffi",
      "--allow-env=AIOFILE_IMPL",
    ], {
      args: [inside, outside, `${relative(Deno.cwd(), inside)}/../outside.txt`],
      stdinFrom: outside,
      env: { AIOFILE_IMPL: backend },
    });
    const out = await child.json();
    assert.equal((await child.status).code, 0, await child.stderr);
    const { planted, ...cases } = out;
    assert.equal(planted, "NotCapable", "the child planted a symlink");
    assert.deepEqual(Object.keys(cases).sort(), Object.keys(EXPECTED).sort());

    for (const [name, expected] of Object.entries(EXPECTED)) {
      const { library, deno } = cases[name] as {
        library: Outcome;
        deno: Outcome;
      };
      const where = `${name}: ${JSON.stringify(cases[name])}`;
      for (const outcome of [library, deno]) {
        assert.ok(
          !outcome.data?.includes(OUTSIDE_CONTENT),
          `read the outside file: ${where}`,
        );
      }
      if (expected === "not outside") continue;
      // As Deno.open does, under every backend.
      assert.equal(library.ok, deno.ok, where);
      assert.equal(library.error, deno.error, where);
      if (expected === "refused") {
        assert.equal(library.error, "NotCapable", where);
      }
      if (expected === "not found") {
        assert.equal(library.error, "NotFound", where);
      }
      if (expected === "inside") {
        assert.equal(library.ok, true, where);
        assert.equal(library.backend, backend, where);
      }
    }

    assert.equal(
      await Deno.readTextFile(outside),
      OUTSIDE_CONTENT,
      "the outside file was changed",
    );
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["inside", "outdir", "outside.txt"],
      "a file was made outside",
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/outdir`)], []);
    // The `..` after a symlink was taken lexically: inside.
    assert.equal(
      await Deno.readTextFile(`${inside}/outside.txt`),
      MARK.repeat(4),
    );
  });
}

for (const backend of BACKEND_NAMES) {
  const reason = unavailableReason(backend);
  Deno.test({
    name:
      `[${backend}] a sandboxed child reaches no file outside through /proc/self/fd, .., symlinks, file: URL tricks or a NUL byte` +
      (reason === undefined ? "" : ` (skipped: ${reason})`),
    ignore: reason !== undefined,
    fn: () => escapeRun(backend),
  });
}

Deno.test({
  name:
    "a path with a NUL byte gives the same error under every backend, a TypeError naming the path",
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/b.txt`, "b\n");
      for (const backend of availableBackends()) {
        await using context = createContext({ backend });
        for (const path of [`${dir}/a.txt\0junk`, `${dir}/a.txt\0/../b.txt`]) {
          await assert.rejects(
            AIOFile.open(path, "r+", { context }),
            (error: Error) => {
              assert.ok(error instanceof TypeError, `[${backend}] ${error}`);
              assert.match(error.message, /path/);
              return true;
            },
          );
        }
      }
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name),
        ["b.txt"],
      );
    });
  },
});
