/**
 * Subprocess tests: permissions, sandboxing, `AIOFILE_IMPL` and process exit.
 * Each test runs a fixture from `tests/fixtures/` in a fresh `deno run` with
 * explicit flags, `--no-prompt`, no standard input and no inherited
 * `AIOFILE_IMPL`, and checks its exit code and output.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BACKEND_NAMES, type BackendName } from "../impl/backend.ts";
import { availableBackends, unavailableReason } from "../impl/providers.ts";
import { libcPaths } from "../ffi/libc.ts";
import { withTempDir } from "./backends.ts";
import {
  assertSucceeded,
  report,
  runFixture,
  type RunResult,
  show,
} from "./subprocess.ts";

const VALID_NAMES = ["uring", "linux", "thread", "deno"];

/** Runs a fixture with exactly `flags`; `impl` sets `AIOFILE_IMPL`. */
function run(
  name: string,
  flags: readonly string[],
  options: { args?: readonly string[]; impl?: string } = {},
): Promise<RunResult> {
  return runFixture(name, flags, {
    args: options.args,
    env: { AIOFILE_IMPL: options.impl },
  });
}

/** The backend the default context picks with every permission granted. */
function bestBackend(): BackendName {
  return availableBackends()[0];
}

Deno.test("importing mod.ts needs no permission and does nothing", async () => {
  const [bare, effects] = await Promise.all([
    run("import_only.ts", []),
    run("import_effects.ts", ["--allow-all"]),
  ]);
  assertSucceeded(bare);
  assert.equal(bare.stdout, "ok\n", show(bare));
  assert.equal(bare.stderr, "", show(bare));

  const { exports, before, after } = report(effects);
  assert.equal(exports, true);
  assert.deepEqual(after, before, "importing mod.ts opened a descriptor");
});

Deno.test("without --allow-ffi every file is served by the deno backend", async () => {
  const result = await run("open_file.ts", ["--allow-read", "--allow-write"]);
  const out = report(result);
  assert.equal(out.ok, true, show(result));
  assert.equal(out.roundTrip, true, show(result));
  assert.equal(out.backend, "deno");
  assert.equal(out.defaultBackend, "deno");
});

/** What a sandbox run must show for each case of `fixtures/sandbox.ts`. */
type Expected = "served" | "refused" | "not found";

const STRICT_SCOPE: Record<string, Expected> = {
  insideNew: "served",
  insideSelf: "served",
  outsideRead: "refused",
  outsideWrite: "refused",
  outsideReadWrite: "refused",
  outsideAppend: "refused",
  outsideExclusive: "refused",
  missingRead: "refused",
  missingCreate: "refused",
  traversalRead: "refused",
  traversalWrite: "refused",
  traversalAppend: "refused",
};

/** Read granted on the whole directory, write only inside. */
const WRITE_SCOPE: Record<string, Expected> = {
  ...STRICT_SCOPE,
  outsideRead: "served",
  traversalRead: "served",
  missingRead: "not found",
};

const OUTSIDE_CONTENT = "outside the sandbox: must stay as it is\n";

async function sandboxRun(
  backend: BackendName,
  readScope: "inside" | "all",
  expected: Record<string, Expected>,
): Promise<void> {
  await withTempDir(async (dir) => {
    const inside = `${dir}/inside`;
    const outside = `${dir}/outside.txt`;
    const missing = `${dir}/missing.txt`;
    await Deno.mkdir(inside);
    await Deno.writeTextFile(outside, OUTSIDE_CONTENT);
    const result = await run("sandbox.ts", [
      `--allow-read=${readScope === "inside" ? inside : dir}`,
      `--allow-write=${inside}`,
      "--allow-ffi",
      "--allow-env=AIOFILE_IMPL",
    ], { impl: backend, args: [inside, outside, missing] });
    const out = report(result);
    assert.deepEqual(Object.keys(out).sort(), Object.keys(expected).sort());
    for (const [name, expectation] of Object.entries(expected)) {
      const got = out[name];
      const where = `${name} (read scope: ${readScope})\n${show(result)}`;
      if (expectation === "served") {
        assert.equal(got.ok, true, where);
        assert.equal(got.backend, backend, where);
      } else if (expectation === "not found") {
        assert.equal(got.ok, false, where);
        assert.equal(got.error, "NotFound", where);
      } else {
        assert.equal(got.ok, false, `opened outside the sandbox: ${where}`);
        assert.equal(got.error, "NotCapable", where);
        assert.equal(got.notCapable, true, where);
      }
    }
    if (readScope === "all") {
      assert.equal(out.outsideRead.data, OUTSIDE_CONTENT);
    }
    assert.equal(
      await Deno.readTextFile(outside),
      OUTSIDE_CONTENT,
      "the file outside the sandbox was changed",
    );
    await assert.rejects(Deno.lstat(missing), Deno.errors.NotFound);
    assert.equal(
      await Deno.readTextFile(`${inside}/new.txt`),
      "written by the sandbox fixture",
    );
  });
}

for (const backend of BACKEND_NAMES) {
  const reason = unavailableReason(backend);
  Deno.test({
    name: `[${backend}] scoped --allow-read/--allow-write are never widened` +
      (reason === undefined ? "" : ` (skipped: ${reason})`),
    ignore: reason !== undefined,
    async fn() {
      await Promise.all([
        sandboxRun(backend, "inside", STRICT_SCOPE),
        sandboxRun(backend, "all", WRITE_SCOPE),
      ]);
    },
  });
}

function libcPath(): string | undefined {
  return libcPaths().find((path) => {
    try {
      return path.startsWith("/") && Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

{
  const reason = unavailableReason("thread");
  const path = reason === undefined ? libcPath() : undefined;
  const skip = reason ??
    (path === undefined ? "no libc path exists" : undefined);
  Deno.test({
    name: "[thread] --allow-ffi scoped to libc still serves files" +
      (skip === undefined ? "" : ` (skipped: ${skip})`),
    ignore: skip !== undefined,
    async fn() {
      const result = await run("open_file.ts", [
        "--allow-read",
        "--allow-write",
        `--allow-ffi=${path}`,
        "--allow-env=AIOFILE_IMPL",
      ], { impl: "thread" });
      const out = report(result);
      assert.equal(out.ok, true, show(result));
      assert.equal(out.roundTrip, true, show(result));
      assert.equal(out.backend, "thread", show(result));
    },
  });
}

{
  const reason = unavailableReason("uring");
  const path = reason === undefined ? libcPath() : undefined;
  const skip = reason ??
    (path === undefined ? "no libc path exists" : undefined);
  Deno.test({
    name:
      "[uring] --allow-ffi scoped to libc: uring says it needs an unscoped grant, another backend serves" +
      (skip === undefined ? "" : ` (skipped: ${skip})`),
    ignore: skip !== undefined,
    async fn() {
      await withTempDir(async (dir) => {
        const result = await run("ffi_denied.ts", [
          "--allow-read",
          "--allow-write",
          `--allow-ffi=${path}`,
        ], { args: [`${dir}/file.txt`] });
        const out = report(result);
        assert.match(
          out.unavailable.uring,
          /mapping the rings needs --allow-ffi without a path scope/,
          show(result),
        );
        assert.notEqual(out.backend, "uring", show(result));
        assert.equal(out.data, "served\n", show(result));
      });
    },
  });
}

Deno.test("a process that leaves files open exits by itself", async (t) => {
  for (const backend of ["thread", "deno"] as const) {
    const reason = unavailableReason(backend);
    await t.step({
      name: `[${backend}]` +
        (reason === undefined ? "" : ` (skipped: ${reason})`),
      ignore: reason !== undefined,
      async fn() {
        await withTempDir(async (dir) => {
          const result = await run("leave_open.ts", [
            `--allow-read=${dir}`,
            `--allow-write=${dir}`,
            "--allow-ffi",
            "--allow-env=AIOFILE_IMPL",
          ], { impl: backend, args: [dir] });
          const { backends } = report(result);
          assert.equal(backends.length, 8, show(result));
          assert.deepEqual(
            backends.slice(0, 7),
            Array(7).fill(backend),
            show(result),
          );
          for (let i = 0; i < 6; i++) {
            assert.equal(
              await Deno.readTextFile(`${dir}/open-${i}.txt`),
              `file ${i}\n`,
            );
          }
        });
      },
    });
  }
});

const FULL = ["--allow-read", "--allow-write", "--allow-ffi"];

Deno.test("AIOFILE_IMPL with an unknown value is an error listing the valid names", async () => {
  const result = await run(
    "open_file.ts",
    [...FULL, "--allow-env=AIOFILE_IMPL"],
    { impl: "bogus" },
  );
  const out = report(result);
  assert.equal(
    out.ok,
    false,
    `AIOFILE_IMPL=bogus was accepted\n${show(result)}`,
  );
  assert.equal(out.sync, false, "AIOFile.open threw synchronously");
  assert.match(out.message, /bogus/);
  for (const name of VALID_NAMES) {
    assert.ok(
      out.message.includes(`"${name}"`) || out.message.includes(name),
      `the message does not name ${name}: ${out.message}`,
    );
  }
});

Deno.test("AIOFILE_IMPL forces each available backend", async (t) => {
  const steps = BACKEND_NAMES.map((backend) => {
    const reason = unavailableReason(backend);
    return { backend, reason };
  });
  // Run every subprocess at once, then report each as a step.
  const results = await Promise.all(
    steps.map(({ backend }) =>
      run("open_file.ts", [...FULL, "--allow-env=AIOFILE_IMPL"], {
        impl: backend,
      })
    ),
  );
  for (const [i, { backend, reason }] of steps.entries()) {
    await t.step(
      `[${backend}] ${reason === undefined ? "is forced" : "is refused"}`,
      () => {
        const result = results[i];
        const out = report(result);
        if (reason === undefined) {
          assert.equal(out.ok, true, show(result));
          assert.equal(out.backend, backend, show(result));
          assert.equal(out.defaultBackend, backend, show(result));
        } else {
          assert.equal(
            out.ok,
            false,
            `an unavailable backend served a file\n${show(result)}`,
          );
          assert.equal(out.sync, false, "AIOFile.open threw synchronously");
          assert.equal(out.error, "NotSupported", show(result));
          assert.equal(out.notSupported, true, show(result));
          assert.ok(
            out.message.includes(backend),
            `the message does not name ${backend}: ${out.message}`,
          );
          assert.ok(
            out.message.includes(reason),
            `the message does not say why (${reason}): ${out.message}`,
          );
        }
      },
    );
  }
});

Deno.test("without env permission AIOFILE_IMPL is ignored and nothing prompts", async () => {
  const best = bestBackend();
  const other = best === "deno" ? "thread" : "deno";
  const runs = await Promise.all([
    run("open_file.ts", FULL, { impl: "bogus" }),
    run("open_file.ts", FULL, { impl: other }),
    run("open_file.ts", [...FULL, "--allow-env=HOME"], { impl: other }),
    run("open_file.ts", [...FULL, "--deny-env"], { impl: "bogus" }),
  ]);
  for (const result of runs) {
    const out = report(result);
    assert.equal(out.ok, true, `AIOFILE_IMPL was read\n${show(result)}`);
    assert.equal(out.backend, best, show(result));
    assert.equal(out.defaultBackend, best, show(result));
  }
});

Deno.test("AIOFILE_IMPL=thread without --allow-ffi says FFI permission is missing", async () => {
  const result = await run(
    "open_file.ts",
    ["--allow-read", "--allow-write", "--allow-env=AIOFILE_IMPL"],
    { impl: "thread" },
  );
  const out = report(result);
  assert.equal(
    out.ok,
    false,
    `the thread backend was used without FFI\n${show(result)}`,
  );
  assert.equal(out.sync, false, "AIOFile.open threw synchronously");
  assert.equal(out.error, "NotSupported", show(result));
  assert.equal(out.notSupported, true, show(result));
  assert.match(out.message, /thread/);
  assert.match(out.message, /FFI permission/i);
  assert.match(out.message, /--allow-ffi/);
  assert.equal(out.defaultContextError?.error, "NotSupported", show(result));
});

Deno.test("a symlink granted to open is served alike by every backend", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/in`);
    await Deno.writeTextFile(`${dir}/out.txt`, "secret");
    await Deno.symlink("../out.txt", `${dir}/in/link`);
    const flags = [
      `--allow-read=${dir}/in`,
      "--allow-ffi",
      "--allow-env=AIOFILE_IMPL",
    ];
    const backends = availableBackends();
    const results = await Promise.all(
      backends.map((impl) =>
        run("read_path.ts", flags, { impl, args: [`${dir}/in/link`] })
      ),
    );
    const reports = results.map(report);
    for (const [i, out] of reports.entries()) {
      assert.deepEqual(
        out,
        { ok: true, backend: backends[i], data: "secret" },
        `Deno.open allows the link, so the ${backends[i]} backend must too`,
      );
    }
  });
});
