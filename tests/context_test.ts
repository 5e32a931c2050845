/**
 * Contexts: backpressure, closing, fallback between backends, the default
 * context, and running without FFI permission.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  type BackendName,
  createContext,
  DEFAULT_MAX_REQUESTS,
  defaultContext,
} from "../mod.ts";
import type { BackendFile, OpenTarget } from "../impl/backend.ts";
import { DenoBackend } from "../impl/deno.ts";
import { ThreadBackend } from "../impl/thread.ts";
import { RingBackend } from "../impl/ring/engine.ts";
import { availableBackends, unavailableReason } from "../impl/providers.ts";
import { pendingForeignCalls } from "../impl/pending.ts";
import { backendTest, withTempDir } from "./backends.ts";

const encoder = new TextEncoder();

/** Counts the backend calls running at once, for every file opened meanwhile. */
interface Observer {
  /** Backend file calls running now. */
  readonly running: number;
  /** The most that ran at once. */
  readonly max: number;
  /** Backend file calls made in all. */
  readonly calls: number;
  /** Puts the backends back as they were. */
  restore(): void;
}

/**
 * Makes backend call number `call` (counted from 1) fail: `"throw"` throws from
 * the call itself, `"reject"` returns a rejected promise.
 */
type Fault = (method: string, call: number) => "throw" | "reject" | undefined;

const OBSERVED = [
  "read",
  "write",
  "fsync",
  "fdatasync",
  "truncate",
  "size",
] as const;

/**
 * Wraps `open` of the deno and thread backends so that the files they open
 * count their calls in flight. Tests in one file run one after another, so the
 * patch affects only the test that made it.
 */
function observeBackendCalls(fault?: Fault): Observer {
  const state = { running: 0, max: 0, calls: 0 };
  const classes = [
    DenoBackend.prototype,
    ThreadBackend.prototype,
    RingBackend.prototype,
  ];
  const originals = classes.map((proto) => proto.open);
  classes.forEach((proto, i) => {
    const original = originals[i];
    proto.open = async function (
      this: DenoBackend & ThreadBackend,
      target: OpenTarget,
    ): Promise<BackendFile> {
      const file = await original.call(this, target);
      for (const method of OBSERVED) {
        const call = file[method].bind(file) as (
          ...args: unknown[]
        ) => Promise<unknown>;
        const run = async (injected: boolean, args: unknown[]) => {
          state.running++;
          state.max = Math.max(state.max, state.running);
          try {
            if (injected) throw new Error(`injected ${method} failure`);
            return await call(...args);
          } finally {
            state.running--;
          }
        };
        Object.defineProperty(file, method, {
          value: (...args: unknown[]) => {
            const call = ++state.calls;
            const injected = fault?.(method, call);
            if (injected === "throw") {
              throw new Error(`injected synchronous ${method} failure`);
            }
            return run(injected === "reject", args);
          },
        });
      }
      // A write done inline is over when the call returns.
      const writeInline = file.writeInline?.bind(file);
      if (writeInline !== undefined) {
        Object.defineProperty(file, "writeInline", {
          value: (data: Uint8Array, offset: number) => {
            state.running++;
            state.max = Math.max(state.max, state.running);
            try {
              const written = writeInline(data, offset);
              if (written !== undefined) state.calls++;
              return written;
            } finally {
              state.running--;
            }
          },
        });
      }
      return file;
    };
  });
  return {
    get running() {
      return state.running;
    },
    get max() {
      return state.max;
    },
    get calls() {
      return state.calls;
    },
    restore() {
      classes.forEach((proto, i) => proto.open = originals[i]);
    },
  };
}

// ---------------------------------------------------------------------------
// Backpressure

for (const maxRequests of [1, 2, 5]) {
  backendTest(
    `maxRequests ${maxRequests}: 200 concurrent operations wait their turn and all succeed`,
    async (_context, dir, backend) => {
      const observer = observeBackendCalls();
      const context = createContext({ backend, maxRequests });
      try {
        assert.equal(context.maxRequests, maxRequests);
        const files = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            AIOFile.open(`${dir}/f${i}.bin`, "w+b", { context })
          ),
        );
        try {
          const ops: Promise<unknown>[] = [];
          for (let i = 0; i < 200; i++) {
            const afp = files[i % 4];
            const slot = Math.floor(i / 4);
            ops.push(afp.write(new Uint8Array([slot]), slot));
            if (i % 5 === 0) ops.push(afp.size());
          }
          assert.ok(
            context.pending > maxRequests,
            `only ${context.pending} requests pending`,
          );
          assert.ok(observer.running <= maxRequests);
          const results = await Promise.all(ops);
          assert.equal(results.length, 240);
          assert.equal(context.pending, 0);
          assert.equal(observer.running, 0);
          assert.ok(
            observer.max <= maxRequests,
            `${observer.max} backend calls ran at once, maxRequests is ${maxRequests}`,
          );
          assert.equal(observer.max, maxRequests, "no concurrency at all");
          assert.ok(observer.calls >= 240);
          // Reads too, with read(-1) making several requests each.
          const reads = await Promise.all(
            files.flatMap((afp) =>
              Array.from({ length: 10 }, () => afp.read(-1))
            ),
          );
          const expected = Uint8Array.from({ length: 50 }, (_, i) => i);
          for (const data of reads) assert.deepEqual(data, expected);
          assert.ok(observer.max <= maxRequests);
        } finally {
          await Promise.all(files.map((afp) => afp.close()));
        }
        assert.equal(context.pending, 0);
      } finally {
        await context.close();
        observer.restore();
      }
    },
  );
}

backendTest(
  "the bound is per context: two contexts do not share it",
  async (_context, dir, backend) => {
    const observer = observeBackendCalls();
    const one = createContext({ backend, maxRequests: 1 });
    const two = createContext({ backend, maxRequests: 1 });
    try {
      // Reads: a write that a backend does inline is over before the next
      // one starts, so writes never overlap.
      const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
      await Deno.writeFile(`${dir}/a.bin`, bytes);
      await Deno.writeFile(`${dir}/b.bin`, bytes);
      const a = await AIOFile.open(`${dir}/a.bin`, "rb", { context: one });
      const b = await AIOFile.open(`${dir}/b.bin`, "rb", { context: two });
      try {
        const ops = [];
        for (let i = 0; i < 20; i++) {
          ops.push(a.read(1, i));
          ops.push(b.read(1, i));
        }
        assert.equal(one.pending, 20);
        assert.equal(two.pending, 20);
        await Promise.all(ops);
        assert.equal(observer.max, 2);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await one.close();
      await two.close();
      observer.restore();
    }
  },
);

Deno.test("the default bound is DEFAULT_MAX_REQUESTS", async () => {
  const context = createContext();
  try {
    assert.equal(context.maxRequests, DEFAULT_MAX_REQUESTS);
    assert.ok(DEFAULT_MAX_REQUESTS >= 1);
    assert.equal(context.pending, 0);
    assert.equal(context.closed, false);
  } finally {
    await context.close();
  }
  assert.equal(context.closed, true);
});

for (const maxRequests of [1, 3]) {
  backendTest(
    `maxRequests ${maxRequests}: small reads wait their turn and give it back, also when they fail`,
    async (_context, dir, backend) => {
      // Every fifth read rejects and every seventh throws where it is called:
      // a turn that failing reads kept would leave later reads waiting forever.
      const observer = observeBackendCalls((method, call) =>
        method !== "read"
          ? undefined
          : call % 7 === 0
          ? "throw"
          : call % 5 === 0
          ? "reject"
          : undefined
      );
      const context = createContext({ backend, maxRequests });
      const path = `${dir}/a.bin`;
      await Deno.writeFile(path, Uint8Array.from({ length: 64 }, (_, i) => i));
      const afp = await AIOFile.open(path, "rb", { context });
      try {
        for (let round = 0; round < 3; round++) {
          // One at a time, then all at once: a read that finds a turn free
          // takes it itself, the others queue for theirs.
          const reads: Promise<Uint8Array>[] = [];
          for (let i = 0; i < 20; i++) {
            reads.push(afp.read(2, i));
            await reads[i].catch(() => {});
          }
          for (let i = 20; i < 60; i++) reads.push(afp.read(2, i));
          assert.ok(observer.running <= maxRequests);
          const results = await Promise.allSettled(reads);
          const failed = results.filter((r) => r.status === "rejected");
          assert.ok(failed.length > 0, "no injected failure reached a read");
          for (const result of results) {
            if (result.status === "rejected") {
              assert.match(String(result.reason), /injected/);
            } else {
              const [first] = result.value;
              assert.deepEqual(result.value, Uint8Array.of(first, first + 1));
            }
          }
          assert.equal(context.pending, 0);
          assert.equal(observer.running, 0);
        }
        assert.ok(observer.max <= maxRequests, `${observer.max} at once`);
      } finally {
        observer.restore();
        await afp.close();
        await context.close();
      }
    },
  );
}

// ---------------------------------------------------------------------------
// Closing a context

backendTest(
  "context.close() waits for the requests in flight",
  async (_context, dir, backend) => {
    const context = createContext({ backend, maxRequests: 4 });
    const path = `${dir}/a.bin`;
    await Deno.writeFile(path, new Uint8Array(1000).fill(7));
    const afp = await AIOFile.open(path, "r+b", { context });
    try {
      const settled: string[] = [];
      const track = <T>(name: string, promise: Promise<T>) =>
        promise.then(
          (value) => {
            settled.push(name);
            return value;
          },
          (error) => {
            settled.push(`${name} failed: ${error}`);
            throw error;
          },
        );
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        ops.push(track(`write ${i}`, afp.write(new Uint8Array([i]), 1000 + i)));
      }
      ops.push(track("size", afp.size()));
      ops.push(track("fsync", afp.fsync()));
      let settledAtClose = -1;
      const closing = context.close().then(() => {
        settledAtClose = settled.length;
      });
      assert.equal(context.closed, true);
      await closing;
      await Promise.allSettled(ops);
      assert.deepEqual(
        settled.filter((s) => s.includes("failed")),
        [],
        "requests in flight failed",
      );
      assert.equal(
        settledAtClose,
        ops.length,
        `close() resolved before ${
          ops.length - settledAtClose
        } operations settled`,
      );
      assert.equal(context.pending, 0);
      // The fsync started before the writes finished, so close() would sync
      // again through the closed context: whether that rejects is not the point.
      await afp.close().catch(() => {});
      assert.equal(afp.closed, true);
      const data = await Deno.readFile(path);
      assert.equal(data.length, 1040);
      for (let i = 0; i < 40; i++) assert.equal(data[1000 + i], i);
    } finally {
      await afp.close().catch(() => {});
      await context.close();
    }
  },
);

backendTest(
  "context.close() lets a read in flight finish, even one of several requests",
  async (_context, dir, backend) => {
    const context = createContext({ backend, maxRequests: 2 });
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello world");
    const afp = await AIOFile.open(path, "r", { context });
    try {
      // read(-1) asks for the size, then reads until a read returns 0; a read
      // past the end also needs a second request to see the end.
      const reads = [
        afp.read(-1),
        afp.read(-1, 6),
        afp.read(100, 0),
        afp.read(5, 0),
      ];
      const closing = context.close();
      const results = await Promise.allSettled(reads);
      await closing;
      assert.deepEqual(
        results.map((r) =>
          r.status === "fulfilled" ? r.value : String(r.reason)
        ),
        ["hello world", "world", "hello world", "hello"],
      );
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "operations on a file whose context is closed reject BadResource",
  async (_context, dir, backend) => {
    const context = createContext({ backend });
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello");
    const afp = await AIOFile.open(path, "r+", { context });
    await context.close();
    try {
      await assert.rejects(afp.read(), Deno.errors.BadResource);
      await assert.rejects(afp.readBytes(1, 0), Deno.errors.BadResource);
      await assert.rejects(afp.write("X"), Deno.errors.BadResource);
      await assert.rejects(afp.fsync(), Deno.errors.BadResource);
      await assert.rejects(afp.fdsync(), Deno.errors.BadResource);
      await assert.rejects(afp.truncate(), Deno.errors.BadResource);
      await assert.rejects(afp.size(), Deno.errors.BadResource);
      // Opening another file through it is refused too.
      await assert.rejects(
        AIOFile.open(path, "r", { context }),
        Deno.errors.BadResource,
      );
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "hello");
  },
);

backendTest(
  "context.close() is idempotent",
  async (_context, _dir, backend) => {
    const context = createContext({ backend });
    const first = context.close();
    const second = context.close();
    await Promise.all([first, second]);
    await context.close();
    assert.equal(context.closed, true);
  },
);

backendTest(
  "await using closes a context",
  async (_context, dir, backend) => {
    const path = `${dir}/a.txt`;
    let outer: ReturnType<typeof createContext> | undefined;
    {
      await using context = createContext({ backend });
      outer = context;
      await using afp = await AIOFile.open(path, "w+", { context });
      assert.equal(afp.backend, backend);
      await afp.write("scoped");
      assert.equal(context.closed, false);
    }
    assert.equal(outer.closed, true);
    assert.equal(outer.pending, 0);
    await assert.rejects(
      AIOFile.open(path, "r", { context: outer }),
      Deno.errors.BadResource,
    );
    assert.equal(await Deno.readTextFile(path), "scoped");
  },
);

// ---------------------------------------------------------------------------
// Fallback between backends

backendTest(
  "a file the first backend cannot serve goes to the next one",
  async (context, dir, backend) => {
    const backends = context.backends;
    assert.equal(backends[0], backend);
    assert.equal(context.backend, backend);
    assert.equal(backends[backends.length - 1], "deno");
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello");

    // A path: the first backend serves it.
    const byPath = await AIOFile.open(path, "r", { context });
    try {
      assert.equal(byPath.backend, backend);
      assert.equal(await byPath.read(), "hello");
    } finally {
      await byPath.close();
    }

    // A Deno.FsFile exposes no descriptor: only "deno" can serve it.
    const fsFile = await Deno.open(path, { read: true, write: true });
    try {
      const afp = await AIOFile.open(fsFile, "r+", { context });
      try {
        assert.equal(afp.backend, "deno");
        assert.equal(await afp.read(), "hello");
        assert.equal(await afp.write("J"), 1);
      } finally {
        await afp.close();
      }
    } finally {
      fsFile.close();
    }
    assert.equal(await Deno.readTextFile(path), "Jello");
  },
);

Deno.test("a context that starts at deno has no other backend", async () => {
  await using context = createContext({ backend: "deno" });
  assert.deepEqual(context.backends, ["deno"]);
});

// ---------------------------------------------------------------------------
// The default context

Deno.test("defaultContext() is shared and uses the best backend", async () => {
  const first = defaultContext();
  const second = defaultContext();
  assert.equal(first, second);
  const forced = Deno.env.get("AIOFILE_IMPL");
  const expected: BackendName = forced !== undefined && forced !== ""
    ? forced as BackendName
    : availableBackends()[0];
  assert.equal(first.backend, expected);
  if (!forced) {
    const best = (["uring", "linux", "thread"] as const).find((name) =>
      unavailableReason(name) === undefined
    );
    assert.equal(first.backend, best ?? "deno");
  }
  await withTempDir(async (dir) => {
    const afp = await AIOFile.open(`${dir}/a.txt`, "w+");
    try {
      assert.equal(afp.backend, first.backend);
      await afp.write("default");
      assert.equal(await afp.read(), "default");
    } finally {
      await afp.close();
    }
    assert.equal(defaultContext(), first);
    assert.equal(first.pending, 0);
  });
});

// ---------------------------------------------------------------------------
// Without FFI permission

Deno.test({
  name: "without FFI permission files are served by deno",
  permissions: { read: true, write: true, ffi: false, env: true },
  async fn() {
    const reason = unavailableReason("thread");
    assert.notEqual(reason, undefined, "thread claims to be available");
    assert.match(reason!, /ffi/i);
    assert.deepEqual(availableBackends(), ["deno"]);
    assert.throws(
      () => createContext({ backend: "thread" }),
      Deno.errors.NotSupported,
    );
    const context = createContext();
    try {
      assert.equal(context.backend, "deno");
      assert.deepEqual(context.backends, ["deno"]);
      await withTempDir(async (dir) => {
        const afp = await AIOFile.open(`${dir}/a.bin`, "w+b", { context });
        try {
          assert.equal(afp.backend, "deno");
          const writes = [];
          for (let i = 0; i < 50; i++) {
            writes.push(afp.write(encoder.encode(`${i % 10}`), i));
          }
          await Promise.all(writes);
          assert.equal(
            new TextDecoder().decode(await afp.read()),
            "0123456789".repeat(5),
          );
        } finally {
          await afp.close();
        }
      });
    } finally {
      await context.close();
    }
    assert.equal(pendingForeignCalls(), 0);
  },
});
