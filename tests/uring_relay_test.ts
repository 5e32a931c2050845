/**
 * The `uring` backend's completion wake (impl/uring_relay.ts): completions that
 * are not reaped inline wake the event loop through a relay ring and a pipe, with
 * no call parked on Deno's thread pool; without the relay (refused, or turned
 * off) the pool wake serves. Closing releases every descriptor the relay opened.
 *
 * `O_DIRECT` reads complete through the wake (never inline), so they are what
 * these tests wait for.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UringBackend, uringProvider } from "../impl/uring.ts";
import { ERRNO } from "../ffi/errno.ts";
import { loadLibc } from "../ffi/libc.ts";
import { loadUring, type UringCalls } from "../ffi/uring.ts";
import { pendingForeignCalls } from "../impl/pending.ts";
import { unavailableReason } from "../impl/providers.ts";
import { readOnly, withTempDir } from "./backends.ts";

const reason = unavailableReason("uring");
const BLOCKS = 64;

function uringTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `[uring] ${name}` +
      (reason === undefined ? "" : ` (skipped: ${reason})`),
    ignore: reason !== undefined,
    fn,
  });
}

/** A backend with the given calls and options (the real calls by default). */
function backendWith(
  options: { relay?: boolean },
  wrap: (calls: UringCalls) => UringCalls = (calls) => calls,
): UringBackend {
  const libc = loadLibc();
  if (!libc.ok) throw new Error(libc.reason);
  const uring = loadUring(libc.library);
  if (!uring.ok) throw new Error(uring.reason);
  return new UringBackend(libc.library, wrap(uring.calls), options);
}

function openDescriptors(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/**
 * Starts `BLOCKS` O_DIRECT reads of a fresh file through `backend`, calls
 * `whileInFlight` right after each submission (in a microtask: the submission
 * is over, the wake is armed and nothing has woken it yet), then checks every
 * byte and closes the file.
 */
async function readDirect(
  backend: UringBackend,
  whileInFlight: () => void,
): Promise<void> {
  const observed = backend as unknown as {
    submitQueued(slots: readonly number[]): number;
  };
  const submitQueued = observed.submitQueued.bind(observed);
  observed.submitQueued = (slots) => {
    queueMicrotask(whileInFlight);
    return submitQueued(slots);
  };
  await withTempDir(async (dir) => {
    const data = new Uint8Array(BLOCKS * 4096).map((_, i) => (i * 31) >> 3);
    const path = `${dir}/direct.bin`;
    await Deno.writeFile(path, data);
    const file = await backend.open({
      kind: "path",
      path,
      flags: readOnly(true),
    });
    try {
      const reads = Array.from({ length: BLOCKS }, (_, i) => {
        const into = new Uint8Array(4096);
        return file.read(into, i * 4096).then((n) => ({ i, n, into }));
      });
      for (const { i, n, into } of await Promise.all(reads)) {
        assert.equal(n, 4096);
        assert.deepEqual(into, data.subarray(i * 4096, (i + 1) * 4096));
      }
    } finally {
      await file.close();
    }
  });
}

uringTest(
  "by default, completions wake the event loop through the relay, with no call on the pool",
  async () => {
    const backend = uringProvider.create() as UringBackend;
    try {
      // The first wake is the pool's, and loads the relay for the next ones.
      await readDirect(backend, () => {});
      await backend.relayLoaded();
      let parked = -1;
      await readDirect(backend, () => parked = pendingForeignCalls());
      assert.equal(backend.wakeName, "relay", backend.relayRefusal);
      assert.equal(parked, 0, "a call was parked on Deno's pool");
    } finally {
      await backend.close();
    }
  },
);

uringTest(
  "with the relay turned off, one read of the eventfd waits on the pool",
  async () => {
    const backend = backendWith({ relay: false });
    try {
      let parked = -1;
      await readDirect(backend, () => parked = pendingForeignCalls());
      assert.equal(backend.wakeName, "pool");
      assert.equal(parked, 1);
    } finally {
      await backend.close();
    }
    assert.equal(pendingForeignCalls(), 0);
  },
);

uringTest(
  "a relay ring the kernel refuses leaves the pool wake, which serves every read",
  async () => {
    // The backend's ring has SLOTS entries; the relay's has 2.
    const backend = backendWith({}, (calls) => ({
      ...calls,
      setup: (entries, params) =>
        entries === 2 ? -12 : calls.setup(entries, params), // ENOMEM
    }));
    try {
      await readDirect(backend, () => {});
      await backend.relayLoaded();
      await readDirect(backend, () => {});
      assert.equal(backend.wakeName, "pool");
      assert.match(backend.relayRefusal ?? "", /relay failed: ENOMEM/);
    } finally {
      await backend.close();
    }
  },
);

uringTest(
  "a relay whose ring stops taking requests hands over to the pool wake, and every read completes",
  async () => {
    let relayRing = -1;
    let relayEnters = 0;
    const backend = backendWith({}, (calls) => ({
      ...calls,
      setup(entries, params) {
        const fd = calls.setup(entries, params);
        if (entries === 2) relayRing = fd; // the backend's ring has SLOTS entries
        return fd;
      },
      enter(fd, toSubmit, minComplete, flags) {
        // Every arm is refused (EINVAL: not transient).
        if (fd === relayRing) {
          relayEnters++;
          return -ERRNO.EINVAL;
        }
        return calls.enter(fd, toSubmit, minComplete, flags);
      },
    }));
    // Without the hand-over, a read would never complete: fail rather than hang
    // (the backend is then left open, which the test's sanitizers report too).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("a read never completed")),
        10_000,
      );
    });
    try {
      // The relay loads after the first wakes; its first arm fails over, and
      // later ones go to the pool wake directly.
      await Promise.race([readDirect(backend, () => {}), deadline]);
      await backend.relayLoaded();
      await Promise.race([readDirect(backend, () => {}), deadline]);
      await Promise.race([readDirect(backend, () => {}), deadline]);
    } finally {
      clearTimeout(timer);
    }
    try {
      assert.equal(relayEnters, 1, "the failed relay was tried again");
      assert.equal(backend.wakeName, "pool");
    } finally {
      await backend.close();
    }
  },
);

uringTest(
  "closing with reads in flight settles them, then releases the rings, the pipe and the eventfd",
  async () => {
    const before = openDescriptors();
    const backend = uringProvider.create() as UringBackend;
    let closing: Promise<void> | undefined;
    await readDirect(backend, () => {});
    await backend.relayLoaded();
    // Closed while the relay is armed: close() must wake it before releasing.
    await readDirect(backend, () => closing ??= backend.close());
    await closing;
    assert.equal(backend.wakeName, "relay");
    assert.equal(openDescriptors(), before, "a descriptor was left open");
  },
);
