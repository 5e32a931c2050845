/**
 * Transient failures (EMFILE, ENFILE, ENOMEM, EAGAIN) while a backend is
 * probed or set up never disable it for the rest of the process: a later
 * context or file open tries again after a short backoff. Permanent ones
 * (ENOSYS, EPERM, ...) are remembered and never probed again.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  failedWith,
  isTransientErrno,
  permanently,
  RememberedProbe,
  temporarily,
  TRANSIENT_RETRY_MS,
  type Unavailable,
} from "../impl/availability.ts";
import { AIOFile, createContext } from "../mod.ts";
import type { Backend, OpenFlags, OpenTarget } from "../impl/backend.ts";
import { CannotServe } from "../impl/backend.ts";
import { LinuxBackend } from "../impl/linux.ts";
import { probeRingSetup, UringBackend, uringProvider } from "../impl/uring.ts";
import { availableBackends, unavailableReason } from "../impl/providers.ts";
import { ERRNO } from "../ffi/errno.ts";
import { loadLibc } from "../ffi/libc.ts";
import { type AioCalls, loadAio } from "../ffi/libaio.ts";
import { loadUring, type UringCalls } from "../ffi/uring.ts";
import { report, runFixture, show } from "./subprocess.ts";
import { withTempDir } from "./backends.ts";

const { EPERM, EAGAIN, ENOMEM, EINVAL, ENFILE, EMFILE, ENOSYS } = ERRNO;

const READ_WRITE: OpenFlags = {
  read: true,
  write: true,
  append: false,
  create: true,
  createNew: false,
  truncate: false,
  direct: false,
};

const pastBackoff = () =>
  new Promise((resolve) => setTimeout(resolve, TRANSIENT_RETRY_MS + 50));

Deno.test("EMFILE, ENFILE, ENOMEM and EAGAIN are transient; ENOSYS, EPERM and EINVAL are permanent", () => {
  for (const errno of [EMFILE, ENFILE, ENOMEM, EAGAIN]) {
    assert.equal(isTransientErrno(errno), true, `errno ${errno}`);
    const failure = failedWith("io_uring_setup", errno);
    assert.equal(failure.permanent, false, failure.reason);
    assert.match(failure.reason, /^io_uring_setup failed: E[A-Z]+ \(temporary/);
  }
  for (const errno of [ENOSYS, EPERM, EINVAL]) {
    assert.equal(isTransientErrno(errno), false, `errno ${errno}`);
    const failure = failedWith("io_uring_setup", errno);
    assert.equal(failure.permanent, true, failure.reason);
    assert.doesNotMatch(failure.reason, /temporar/);
  }
  assert.equal(
    failedWith("io_setup", ENOSYS).reason,
    "io_setup failed: ENOSYS",
  );
});

/** A fake io_uring whose `io_uring_setup` fails with the errnos given, then succeeds. */
function fakeRingSetup(errnos: number[]) {
  const fake = {
    setups: 0,
    closed: [] as number[],
    calls: {
      setup: () => {
        fake.setups++;
        const errno = errnos.shift();
        return errno === undefined ? 1000 + fake.setups : -errno;
      },
      close: (fd: number) => void fake.closed.push(fd),
    } as unknown as UringCalls,
  };
  return fake;
}

Deno.test("the uring probe remembers a permanent failure for good: ENOSYS and EPERM are never probed again", () => {
  for (const errno of [ENOSYS, EPERM]) {
    let now = 0;
    const fake = fakeRingSetup([errno, errno]);
    const probe = new RememberedProbe(probeRingSetup(fake.calls), () => now);
    const first = probe.get();
    assert.equal(first?.permanent, true);
    for (let i = 0; i < 5; i++) {
      now += TRANSIENT_RETRY_MS * 10;
      assert.deepEqual(probe.get(), first);
    }
    assert.equal(fake.setups, 1, "probed again after a permanent failure");
  }
});

Deno.test("the uring probe asks again after a transient failure, once the backoff has passed", () => {
  let now = 1000;
  const fake = fakeRingSetup([EMFILE, ENOMEM]);
  const probe = new RememberedProbe(probeRingSetup(fake.calls), () => now);
  assert.match(probe.get()?.reason ?? "", /EMFILE \(temporary/);
  // A storm of opens within the backoff asks the kernel nothing.
  for (let i = 0; i < 100; i++) probe.get();
  now += TRANSIENT_RETRY_MS - 1;
  assert.match(probe.get()?.reason ?? "", /EMFILE/);
  assert.equal(fake.setups, 1);
  now += 1;
  assert.match(probe.get()?.reason ?? "", /ENOMEM \(temporary/);
  assert.equal(fake.setups, 2);
  now += TRANSIENT_RETRY_MS;
  assert.equal(probe.get(), undefined);
  assert.deepEqual(fake.closed, [1003], "the probe's ring is closed");
  // A success is kept.
  now += TRANSIENT_RETRY_MS * 10;
  assert.equal(probe.get(), undefined);
  assert.equal(fake.setups, 3);
});

/** Opens a new file with `backend`: the reason it was refused, or `"served"`. */
async function tryOpen(backend: Backend, path: string): Promise<string> {
  const target: OpenTarget = { kind: "path", path, flags: READ_WRITE };
  try {
    const file = await backend.open(target);
    assert.equal(await file.write(new TextEncoder().encode("kept"), 0), 4);
    await file.close();
    return "served";
  } catch (error) {
    if (error instanceof CannotServe) return error.message;
    throw error;
  }
}

/**
 * A ring backend whose queue setup (`io_uring_setup` or `io_setup`) fails with
 * `errno` the first time: a transient errno is tried again at the first open
 * after the backoff, a permanent one never.
 */
async function checkSetupRetry(
  name: "uring" | "linux",
  make: (
    setupResult: (real: () => number) => number,
  ) => Backend,
): Promise<void> {
  for (const errno of [name === "linux" ? EAGAIN : EMFILE, ENOSYS]) {
    let setups = 0;
    const backend = make((real) => ++setups === 1 ? -errno : real());
    try {
      await withTempDir(async (dir) => {
        const first = await tryOpen(backend, `${dir}/a`);
        assert.match(first, /failed: E[A-Z]+/);
        // Within the backoff: refused again without asking the kernel.
        assert.equal(await tryOpen(backend, `${dir}/b`), first);
        assert.equal(setups, 1);
        await pastBackoff();
        const later = await tryOpen(backend, `${dir}/c`);
        if (errno === ENOSYS) {
          assert.equal(later, first);
          assert.equal(setups, 1, "a permanent failure was tried again");
        } else {
          assert.match(first, /temporary/);
          assert.equal(later, "served");
          assert.equal(setups, 2);
        }
      });
    } finally {
      await backend.close();
    }
  }
}

const uringReason = unavailableReason("uring");
Deno.test({
  name:
    "[uring] a ring whose io_uring_setup failed with EMFILE is set up at the first open after the backoff; one that failed with ENOSYS is not" +
    (uringReason === undefined ? "" : ` (skipped: ${uringReason})`),
  ignore: uringReason !== undefined,
  async fn() {
    const libc = loadLibc();
    assert.ok(libc.ok);
    const uring = loadUring(libc.library);
    assert.ok(uring.ok);
    const real = uring.calls;
    await checkSetupRetry(
      "uring",
      (setupResult) =>
        new UringBackend(libc.library, {
          ...real,
          setup: (entries, params) =>
            setupResult(() => real.setup(entries, params)),
        }, { relay: false }),
    );
  },
});

const linuxReason = unavailableReason("linux");
Deno.test({
  name:
    "[linux] a queue whose io_setup failed with EAGAIN (fs.aio-max-nr used up) is set up at the first open after the backoff; one that failed with ENOSYS is not" +
    (linuxReason === undefined ? "" : ` (skipped: ${linuxReason})`),
  ignore: linuxReason !== undefined,
  async fn() {
    const libc = loadLibc();
    assert.ok(libc.ok);
    const aio = loadAio(libc.library);
    assert.ok(aio.ok);
    const real = aio.calls;
    await checkSetupRetry("linux", (setupResult) =>
      new LinuxBackend(
        libc.library,
        {
          ...real,
          via: real.via,
          setup: (nr, ctxp) => setupResult(() => real.setup(nr, ctxp)),
        } satisfies AioCalls,
      ));
  },
});

Deno.test({
  name:
    "[uring] a context keeps a provider that fails for a transient reason, asks it again at each open and makes its backend once it can; a permanent failure leaves the chain" +
    (uringReason === undefined ? "" : ` (skipped: ${uringReason})`),
  ignore: uringReason !== undefined,
  async fn() {
    const original = {
      unavailability: uringProvider.unavailability,
      create: uringProvider.create,
    };
    let failure: Unavailable | undefined = temporarily(
      "io_uring_setup failed: EMFILE",
    );
    let asked = 0;
    let created = 0;
    uringProvider.unavailability = () => {
      asked++;
      return failure;
    };
    uringProvider.create = () => {
      created++;
      return original.create();
    };
    try {
      await withTempDir(async (dir) => {
        await using context = createContext();
        assert.deepEqual(context.backends, ["uring", ...availableBackends()]);
        const open = async (name: string) => {
          await using afp = await AIOFile.open(`${dir}/${name}`, "w", {
            context,
          });
          return afp.backend;
        };
        assert.notEqual(await open("a"), "uring");
        assert.equal(created, 0, "made while unavailable");
        const askedBefore = asked;
        assert.notEqual(await open("b"), "uring");
        assert.equal(asked, askedBefore + 1, "not asked again at the open");
        assert.throws(
          () => createContext({ backend: "uring" }),
          (error: Error) =>
            error instanceof Deno.errors.NotSupported &&
            /temporarily unavailable: io_uring_setup failed: EMFILE \(temporary/
              .test(error.message),
        );
        failure = undefined;
        assert.equal(await open("c"), "uring");
        assert.equal(await open("d"), "uring");
        assert.equal(created, 1);
        failure = permanently("io_uring_setup failed: EPERM");
        await using later = createContext();
        assert.equal(later.backends.includes("uring"), false);
      });
    } finally {
      Object.assign(uringProvider, original);
    }
  },
});

/** Runs the fixture's `scenario` with descriptors running out, in a fresh process. */
async function runOutOfDescriptors(
  scenario: string,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  return await withTempDir(async (dir) => {
    const result = await runFixture("transient.ts", ["--allow-all"], {
      args: [scenario, dir],
    });
    return { out: report(result), shown: show(result) };
  });
}

/** The open made while no descriptor was left: served, or failed with EMFILE (never hung). */
function assertServedOrEmfile(during: Record<string, unknown>, shown: string) {
  if (during.ok) return;
  assert.equal(during.code, "EMFILE", shown);
}

Deno.test({
  name:
    "[uring] the default context made while descriptors are out (EMFILE in the probe) serves later files with uring" +
    (uringReason === undefined ? "" : ` (skipped: ${uringReason})`),
  ignore: uringReason !== undefined,
  async fn() {
    const { out, shown } = await runOutOfDescriptors("default");
    assertServedOrEmfile(out.during, shown);
    assert.deepEqual(out.after, { ok: true, backend: "uring" }, shown);
    assert.equal(out.backends[0], "uring", shown);
  },
});

Deno.test({
  name:
    "[uring] a uring context made while descriptors are out refuses for now (NotSupported saying it is temporary, or EMFILE), and works afterwards" +
    (uringReason === undefined ? "" : ` (skipped: ${uringReason})`),
  ignore: uringReason !== undefined,
  async fn() {
    const { out, shown } = await runOutOfDescriptors("explicit");
    assert.equal(out.during.ok, false, shown);
    if (out.during.notSupported) {
      assert.match(out.during.message, /temporarily unavailable/, shown);
    } else {
      assert.equal(out.during.code, "EMFILE", shown);
    }
    assert.deepEqual(out.after, { ok: true, backend: "uring" }, shown);
  },
});

Deno.test({
  name:
    "[uring] a context whose ring setup fails with EMFILE at its first open gets uring at an open after the backoff" +
    (uringReason === undefined ? "" : ` (skipped: ${uringReason})`),
  ignore: uringReason !== undefined,
  async fn() {
    const { out, shown } = await runOutOfDescriptors("setup");
    assert.equal(out.backends[0], "uring", shown);
    assertServedOrEmfile(out.during, shown);
    assert.notEqual(out.during.backend, "uring", shown);
    assert.deepEqual(out.after, { ok: true, backend: "uring" }, shown);
  },
});

Deno.test({
  name:
    "[linux] a linux context made while descriptors are out (EMFILE at eventfd, libaio not loadable) gets linux, through libaio, after the backoff" +
    (linuxReason === undefined ? "" : ` (skipped: ${linuxReason})`),
  ignore: linuxReason !== undefined,
  async fn() {
    const libc = loadLibc();
    assert.ok(libc.ok);
    const aio = loadAio(libc.library, true);
    assert.ok(aio.ok);
    const { out, shown } = await runOutOfDescriptors("linux");
    assertServedOrEmfile(out.during, shown);
    assert.deepEqual(out.after, { ok: true, backend: "linux" }, shown);
    assert.equal(out.viaAfter, aio.calls.via, shown);
  },
});
