/**
 * Whether the `linux` backend is available is asked of the kernel: a process
 * where the AIO system calls fail (qemu-user, seccomp, a kernel without AIO)
 * reports the backend unavailable with the reason, rather than handing every
 * file to the next backend.
 */

import assert from "node:assert/strict";
import { ERRNO } from "../ffi/errno.ts";
import type { AioCalls } from "../ffi/libaio.ts";
import { loadAio } from "../ffi/libaio.ts";
import { loadLibc } from "../ffi/libc.ts";
import { aioProbe, linuxProvider } from "../impl/linux.ts";

/** AIO calls whose `io_setup` answers `result` and that record their calls. */
function fakeAio(result: number): AioCalls & { calls: string[] } {
  const calls: string[] = [];
  return {
    via: "syscall",
    calls,
    setup(nr, ctxp) {
      calls.push(`setup ${nr} ${ctxp[0]}`);
      if (result === 0) ctxp[0] = 7n;
      return result;
    },
    destroy(ctx) {
      calls.push(`destroy ${ctx}`);
      return 0;
    },
    submit: () => assert.fail("submit"),
    getEvents: () => assert.fail("getEvents"),
  };
}

Deno.test("aioProbe: EINVAL for a context of no requests means AIO works", () => {
  const aio = fakeAio(-ERRNO.EINVAL);
  assert.equal(aioProbe(aio), undefined);
  assert.deepEqual(aio.calls, ["setup 0 0"]);
});

Deno.test("aioProbe: ENOSYS or EPERM means no AIO, for good, and says so", () => {
  assert.deepEqual(aioProbe(fakeAio(-ERRNO.ENOSYS)), {
    reason: "io_setup failed: ENOSYS",
    permanent: true,
  });
  assert.deepEqual(aioProbe(fakeAio(-ERRNO.EPERM)), {
    reason: "io_setup failed: EPERM",
    permanent: true,
  });
});

Deno.test("aioProbe: ENOMEM is a failure that may pass", () => {
  const failure = aioProbe(fakeAio(-ERRNO.ENOMEM));
  assert.equal(failure?.permanent, false);
  assert.match(failure!.reason, /^io_setup failed: ENOMEM/);
});

Deno.test("aioProbe: a context it was given is destroyed", () => {
  const aio = fakeAio(0);
  assert.equal(aioProbe(aio), undefined);
  assert.deepEqual(aio.calls, ["setup 0 0", "destroy 7"]);
});

const linuxReason = linuxProvider.unavailableReason();

Deno.test({
  name: "aioProbe: this kernel answers both libaio and the raw system call" +
    (linuxReason === undefined ? "" : ` (skipped: ${linuxReason})`),
  ignore: linuxReason !== undefined,
  fn() {
    const libc = loadLibc();
    assert.ok(libc.ok);
    const raw = loadAio(libc.library, false);
    assert.ok(raw.ok && raw.calls.via === "syscall");
    assert.equal(aioProbe(raw.calls), undefined);
    const preferred = loadAio(libc.library, true);
    assert.ok(preferred.ok);
    assert.equal(aioProbe(preferred.calls), undefined);
  },
});

Deno.test("the linux backend is unavailable exactly when aioProbe says so", () => {
  const libc = loadLibc();
  if (!libc.ok) return assert.equal(linuxReason, libc.reason);
  const aio = loadAio(libc.library);
  assert.ok(aio.ok);
  // Under qemu-user: "io_setup failed: ENOSYS" for both.
  assert.equal(linuxReason, aioProbe(aio.calls)?.reason);
});
