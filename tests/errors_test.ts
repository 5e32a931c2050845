/**
 * Errors: bad arguments, bad modes, operating-system errors, and that a
 * rejected call changes nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOError, AIOFile, type Context, createContext } from "../mod.ts";
import { availableBackends, unavailableReason } from "../impl/providers.ts";
import { normalizeError } from "../impl/shared/errors.ts";
import { backendTest } from "./backends.ts";

/**
 * Calls `call`, checks that it returned a promise instead of throwing, and that
 * the promise rejects with `Class` and a message matching `message`.
 */
async function rejectsAsync(
  call: () => Promise<unknown>,
  Class: new (...args: never[]) => Error,
  message?: RegExp,
): Promise<void> {
  let promise: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    promise = call();
  }, "an async method threw synchronously");
  assert.ok(promise instanceof Promise);
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof Class,
      `expected ${Class.name}, got ${String(error)}`,
    );
    if (message !== undefined) assert.match((error as Error).message, message);
    return true;
  });
}

// ---------------------------------------------------------------------------
// Bad sizes, offsets and lengths

/** Bad numbers, the class they reject with, and how the message shows them. */
const BAD_NUMBERS: [unknown, typeof TypeError | typeof RangeError, string][] = [
  [-2, RangeError, "-2"],
  [NaN, RangeError, "NaN"],
  [1.5, RangeError, "1\\.5"],
  [Infinity, RangeError, "Infinity"],
  [-Infinity, RangeError, "-Infinity"],
  [2 ** 53, RangeError, "9007199254740992"],
  ["5", TypeError, '"5"'],
  [null, TypeError, "null"],
  [10n, TypeError, "10n"],
];

backendTest(
  "a bad read size rejects naming size and the value",
  async (context, dir) => {
    const path = `${dir}/a.bin`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    const afp = await AIOFile.open(path, "r+b", { context });
    try {
      for (const [value, Class, shown] of BAD_NUMBERS) {
        const message = new RegExp(`size.*${shown}`);
        // deno-lint-ignore no-explicit-any
        const size = value as any;
        await rejectsAsync(() => afp.read(size), Class, message);
        await rejectsAsync(() => afp.read(size, 0), Class, message);
        await rejectsAsync(() => afp.readBytes(size), Class, message);
      }
      assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "a bad offset rejects naming offset and the value",
  async (context, dir) => {
    const path = `${dir}/a.bin`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    const afp = await AIOFile.open(path, "r+b", { context });
    try {
      for (
        const [value, Class, shown] of [
          [-1, RangeError, "-1"] as const,
          ...BAD_NUMBERS,
        ]
      ) {
        const message = new RegExp(`offset.*${shown}`);
        // deno-lint-ignore no-explicit-any
        const offset = value as any;
        await rejectsAsync(() => afp.read(1, offset), Class, message);
        await rejectsAsync(() => afp.read(-1, offset), Class, message);
        await rejectsAsync(() => afp.readBytes(1, offset), Class, message);
        await rejectsAsync(
          () => afp.write(new Uint8Array([9]), offset),
          Class,
          message,
        );
        await rejectsAsync(
          () => afp.writeBytes(new Uint8Array([9]), offset),
          Class,
          message,
        );
      }
      // None of the rejected writes touched the file.
      assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
      assert.equal(await afp.size(), 3);
    } finally {
      await afp.close();
    }
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
  },
);

backendTest(
  "a bad truncate length rejects naming length and the value",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello");
    const afp = await AIOFile.open(path, "r+", { context });
    try {
      for (
        const [value, Class, shown] of [
          [-1, RangeError, "-1"] as const,
          ...BAD_NUMBERS,
        ]
      ) {
        // deno-lint-ignore no-explicit-any
        const length = value as any;
        await rejectsAsync(
          () => afp.truncate(length),
          Class,
          new RegExp(`length.*${shown}`),
        );
      }
      assert.equal(await afp.size(), 5);
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "hello");
  },
);

// ---------------------------------------------------------------------------
// Data of the wrong type

backendTest("write(42) rejects TypeError", async (context, dir) => {
  const text = await AIOFile.open(`${dir}/a.txt`, "w+", { context });
  const binary = await AIOFile.open(`${dir}/b.bin`, "w+b", { context });
  try {
    // deno-lint-ignore no-explicit-any
    const n = 42 as any;
    await rejectsAsync(() => text.write(n), TypeError, /data.*42/);
    await rejectsAsync(() => binary.write(n), TypeError, /data.*42/);
    await rejectsAsync(() => text.writeBytes(n), TypeError, /bytes.*42/);
    await rejectsAsync(() => binary.writeBytes(n), TypeError, /bytes.*42/);
    // deno-lint-ignore no-explicit-any
    const nothing = undefined as any;
    await rejectsAsync(() => text.write(nothing), TypeError, /undefined/);
    await rejectsAsync(() => binary.write(nothing), TypeError, /undefined/);
    // deno-lint-ignore no-explicit-any
    const object = { length: 3 } as any;
    await rejectsAsync(() => binary.write(object), TypeError, /data/);
    assert.equal(await text.size(), 0);
    assert.equal(await binary.size(), 0);
  } finally {
    await text.close();
    await binary.close();
  }
});

backendTest(
  "string data in binary mode rejects TypeError",
  async (context, dir) => {
    const afp = await AIOFile.open(`${dir}/a.bin`, "w+b", { context });
    try {
      // deno-lint-ignore no-explicit-any
      const data = "hello" as any;
      await rejectsAsync(() => afp.write(data), TypeError, /data.*"hello"/);
      await rejectsAsync(
        () => afp.writeBytes(data),
        TypeError,
        /bytes.*"hello"/,
      );
      assert.equal(await afp.size(), 0);
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "Uint8Array data in text mode rejects TypeError",
  async (context, dir) => {
    const afp = await AIOFile.open(`${dir}/a.txt`, "w+", { context });
    try {
      // deno-lint-ignore no-explicit-any
      const data = new Uint8Array([65, 66]) as any;
      await rejectsAsync(() => afp.write(data), TypeError, /data.*Uint8Array/);
      assert.equal(await afp.size(), 0);
      // writeBytes is the way to write bytes in text mode.
      assert.equal(await afp.writeBytes(data), 2);
      assert.equal(await afp.read(), "AB");
    } finally {
      await afp.close();
    }
  },
);

// ---------------------------------------------------------------------------
// Modes and encodings

const INVALID_MODES = [
  "rw",
  "r++",
  "z",
  "",
  "rbt",
  "bb",
  "wa",
  "rx",
  "b",
  "+",
  "R",
  " r",
];

Deno.test("an invalid mode throws TypeError from the constructor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-test-" });
  try {
    const path = `${dir}/never`;
    for (const mode of INVALID_MODES) {
      assert.throws(
        () => new AIOFile(path, mode),
        (error: unknown) => {
          assert.ok(error instanceof TypeError, `mode ${JSON.stringify(mode)}`);
          assert.match(error.message, /mode/i);
          assert.ok(
            error.message.includes(JSON.stringify(mode)),
            `the message does not name ${
              JSON.stringify(mode)
            }: ${error.message}`,
          );
          return true;
        },
      );
    }
    // deno-lint-ignore no-explicit-any
    assert.throws(() => new AIOFile(path, 1 as any), TypeError);
    // No I/O happened.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AIOFile.open rejects for an invalid mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-test-" });
  try {
    const path = `${dir}/never`;
    for (const mode of INVALID_MODES) {
      await rejectsAsync(
        () => AIOFile.open(path, mode),
        TypeError,
        /mode/i,
      );
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("valid modes in any order are accepted", () => {
  for (
    const mode of [
      "r",
      "rb",
      "rt",
      "r+",
      "+r",
      "r+b",
      "rb+",
      "br+",
      "w",
      "wb",
      "w+",
      "a",
      "ab+",
      "x",
      "x+b",
    ]
  ) {
    const afp = new AIOFile("/nonexistent/never-opened", mode);
    assert.equal(afp.mode.text, mode);
    assert.equal(afp.closed, true);
  }
});

Deno.test("an unknown encoding throws TypeError naming it", async () => {
  assert.throws(
    () => new AIOFile("/nonexistent/x", "r", { encoding: "klingon" }),
    (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /klingon/);
      return true;
    },
  );
  await rejectsAsync(
    () => AIOFile.open("/nonexistent/x", "r", { encoding: "klingon" }),
    TypeError,
    /klingon/,
  );
  // A writable text file in an encoding that cannot be written.
  assert.throws(
    () => new AIOFile("/nonexistent/x", "w", { encoding: "iso-8859-2" }),
    (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /iso-8859-2/);
      return true;
    },
  );
});

// ---------------------------------------------------------------------------
// Access mode

backendTest(
  "read on a write-only file rejects BadResource",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    for (const mode of ["w", "a", "x", "wb"]) {
      await Deno.remove(path).catch(() => {});
      const afp = await AIOFile.open(path, mode, { context });
      try {
        await afp.writeBytes(new Uint8Array([65]));
        await rejectsAsync(() => afp.read(), Deno.errors.BadResource);
        await rejectsAsync(() => afp.read(1, 0), Deno.errors.BadResource);
        await rejectsAsync(() => afp.readBytes(), Deno.errors.BadResource);
      } finally {
        await afp.close();
      }
      assert.equal(await Deno.readTextFile(path), "A");
    }
  },
);

backendTest(
  "write on a read-only file rejects BadResource",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello");
    for (const mode of ["r", "rb"]) {
      const afp = await AIOFile.open(path, mode, { context });
      try {
        const data = mode === "r" ? "X" : new Uint8Array([88]);
        await rejectsAsync(() => afp.write(data), Deno.errors.BadResource);
        await rejectsAsync(
          () => afp.writeBytes(new Uint8Array([88])),
          Deno.errors.BadResource,
        );
        await rejectsAsync(() => afp.truncate(), Deno.errors.BadResource);
        assert.equal(await afp.size(), 5);
      } finally {
        await afp.close();
      }
    }
    assert.equal(await Deno.readTextFile(path), "hello");
  },
);

// ---------------------------------------------------------------------------
// Operating-system errors

/** What writing to `/dev/full` gives (Deno requires --allow-all to open it). */
async function writeToDevFull(context: Context) {
  const afp = await AIOFile.open("/dev/full", "wb", { context });
  const write = await afp.write(new Uint8Array([1, 2, 3])).then(
    () => "resolved",
    (error) => error,
  );
  const writeBytes = await afp.writeBytes(new Uint8Array(10), 5).then(
    () => "resolved",
    (error) => error,
  );
  const close = await afp.close().then(() => "resolved", (error) => error);
  return { write, writeBytes, close, closed: afp.closed };
}

backendTest(
  "/dev/full: a write rejects AIOError ENOSPC, and close() still succeeds",
  async (context) => {
    const out = await writeToDevFull(context);
    for (const error of [out.write, out.writeBytes]) {
      assert.ok(error instanceof AIOError, String(error));
      assert.equal(error.name, "AIOError");
      assert.equal(error.code, "ENOSPC");
      assert.equal(error.errno, 28);
      assert.equal(error.syscall, "write");
      assert.equal(error.path, "/dev/full");
      assert.match(error.message, /\/dev\/full/);
    }
    assert.equal(out.close, "resolved", String(out.close));
    assert.equal(out.closed, true);
  },
);

Deno.test("/dev/full gives the same error on every backend", async () => {
  const seen = [];
  for (const backend of availableBackends()) {
    await using context = createContext({ backend });
    const { write } = await writeToDevFull(context);
    const { constructor, name, code, errno, syscall } = write;
    seen.push({ constructor, name, code, errno, syscall });
  }
  for (const other of seen.slice(1)) assert.deepEqual(other, seen[0]);
  assert.equal(seen[0].constructor, AIOError);
});

Deno.test("AIOError carries code, errno, syscall and the path", () => {
  const error = new AIOError("ENOSPC", 28, "write", "/dev/full");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "AIOError");
  assert.equal(error.code, "ENOSPC");
  assert.equal(error.errno, 28);
  assert.equal(error.syscall, "write");
  assert.equal(error.path, "/dev/full");
  assert.match(error.message, /\/dev\/full/);
  assert.match(error.message, /write/);
});

Deno.test("a Deno error with only an (os error N) becomes the library's error for that errno", () => {
  // Deno throws a plain Error, with no code, for an errno it has no class for.
  for (
    const message of [
      "File too large (os error 27)",
      "File too large (os error 27): truncate '/elsewhere'",
    ]
  ) {
    const error = normalizeError(new Error(message), "write", "/data/big.bin");
    assert.ok(error instanceof AIOError, String(error));
    assert.equal(error.code, "EFBIG");
    assert.equal(error.errno, 27);
    assert.equal(error.syscall, "write");
    assert.equal(error.path, "/data/big.bin");
    assert.equal(
      error.message,
      "File too large (os error 27): write '/data/big.bin'",
    );
  }
  // An errno that has a Deno class gets that class, with the code.
  const missing = normalizeError(
    new Error("No such file or directory (os error 2)"),
    "open",
    "/nowhere",
  );
  assert.ok(missing instanceof Deno.errors.NotFound, String(missing));
  assert.equal((missing as { code?: string }).code, "ENOENT");
  assert.match(missing.message, /\/nowhere/);
  // Errors that are not the operating system's pass through unchanged.
  for (
    const error of [
      new Error("something else"),
      new RangeError("offset must be a non-negative integer, got -1"),
      new Deno.errors.NotCapable("Requires read access (os error 13)"),
    ]
  ) {
    assert.equal(normalizeError(error, "read", "/x"), error);
  }
});

backendTest(
  "opening a directory rejects IsADirectory in r and w modes",
  async (context, dir) => {
    const sub = `${dir}/sub`;
    await Deno.mkdir(sub);
    await Deno.writeTextFile(`${sub}/inside.txt`, "keep");
    for (const mode of ["r", "rb", "w", "wb", "r+", "a", "w+"]) {
      const afp = new AIOFile(sub, mode, { context });
      await assert.rejects(
        afp.open(),
        Deno.errors.IsADirectory,
        `mode ${mode}`,
      );
      assert.equal(afp.closed, true);
      await afp.close();
    }
    await assert.rejects(
      AIOFile.open(sub, "r", { context }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.IsADirectory);
        assert.ok(
          (error as Error).message.includes(sub),
          (error as Error).message,
        );
        return true;
      },
    );
    // The directory is untouched.
    assert.ok((await Deno.stat(sub)).isDirectory);
    assert.equal(await Deno.readTextFile(`${sub}/inside.txt`), "keep");
  },
);

backendTest(
  "NotFound and AlreadyExists name the file",
  async (context, dir) => {
    const missing = `${dir}/missing.txt`;
    await assert.rejects(
      AIOFile.open(missing, "r", { context }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.NotFound);
        assert.ok((error as Error).message.includes(missing));
        return true;
      },
    );
    const existing = `${dir}/existing.txt`;
    await Deno.writeTextFile(existing, "x");
    await assert.rejects(
      AIOFile.open(existing, "x", { context }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.AlreadyExists);
        assert.ok((error as Error).message.includes(existing));
        return true;
      },
    );
  },
);

Deno.test("the same mistake gives the same error on every backend", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-test-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.mkdir(`${dir}/dir`);
    await Deno.writeTextFile(`${dir}/locked`, "x");
    await Deno.chmod(`${dir}/locked`, 0o000);
    const mistakes: [string, string, string][] = [
      ["missing, r", `${dir}/missing`, "r"],
      ["missing parent, w", `${dir}/missing/file`, "w"],
      ["under a file, w", `${dir}/file/sub`, "w"],
      ["existing, x", `${dir}/file`, "x"],
      ["directory, r", `${dir}/dir`, "r"],
      ["directory, w", `${dir}/dir`, "w"],
      ["directory, a+", `${dir}/dir`, "a+"],
    ];
    // root reads anything: the permission case only applies to other users.
    const locked = await Deno.readTextFile(`${dir}/locked`).then(
      () => false,
      (error) => error instanceof Deno.errors.PermissionDenied,
    );
    if (locked) mistakes.push(["no permission", `${dir}/locked`, "r"]);
    const expected: Record<string, string> = {
      "missing, r": "NotFound",
      "missing parent, w": "NotFound",
      "under a file, w": "NotADirectory",
      "existing, x": "AlreadyExists",
      "directory, r": "IsADirectory",
      "directory, w": "IsADirectory",
      "directory, a+": "IsADirectory",
      "no permission": "PermissionDenied",
    };
    for (const backend of availableBackends()) {
      const context = createContext({ backend });
      try {
        for (const [what, path, mode] of mistakes) {
          await assert.rejects(
            AIOFile.open(path, mode, { context }),
            (error: unknown) => {
              assert.ok(error instanceof Error);
              const Class = (Deno.errors as Record<string, unknown>)[
                expected[what]
              ] as new () => Error;
              assert.ok(
                error instanceof Class,
                `[${backend}] ${what}: expected ${
                  expected[what]
                }, got ${error}`,
              );
              assert.ok(
                error.message.includes(path),
                `[${backend}] ${what}: the message does not name the file: ${error.message}`,
              );
              return true;
            },
          );
        }
      } finally {
        await context.close();
      }
    }
  } finally {
    await Deno.chmod(`${dir}/locked`, 0o600);
    await Deno.remove(dir, { recursive: true });
  }
});

backendTest(
  "a rejected call changes nothing: text write with a bad offset",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "0123456789");
    const afp = await AIOFile.open(path, "r+", { context });
    try {
      await rejectsAsync(() => afp.write("XX", -1), RangeError, /offset/);
      await rejectsAsync(() => afp.write("XX", 2.5), RangeError, /offset/);
      const three = "3" as unknown as number;
      await rejectsAsync(
        () => afp.write("XX", three),
        TypeError,
        /offset/,
      );
      // A rejected read with a bad argument changes nothing either.
      await rejectsAsync(() => afp.read(-5, 0), RangeError, /size/);
      assert.equal(await afp.read(), "0123456789");
      // The file still works normally afterwards.
      assert.equal(await afp.write("XX", 2), 2);
      assert.equal(await afp.read(), "01XX456789");
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "01XX456789");
  },
);

backendTest(
  "on a never-opened or closed file a bad argument still rejects",
  async (context, dir) => {
    const afp = new AIOFile(`${dir}/a.txt`, "w+", { context });
    const either = (error: unknown) =>
      error instanceof RangeError || error instanceof Deno.errors.BadResource;
    let read: Promise<unknown> | undefined;
    assert.doesNotThrow(() => read = afp.read(-3));
    await assert.rejects(read!, either);
    await rejectsAsync(() => afp.read(), Deno.errors.BadResource);
    await afp.close();
    let truncate: Promise<unknown> | undefined;
    assert.doesNotThrow(() => truncate = afp.truncate(-1));
    await assert.rejects(truncate!, either);
    await rejectsAsync(() => afp.truncate(), Deno.errors.BadResource);
  },
);

// ---------------------------------------------------------------------------
// createContext

Deno.test("createContext with an unknown backend throws TypeError", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => createContext({ backend: "nope" as any }),
    (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /nope/);
      assert.match(error.message, /uring/);
      assert.match(error.message, /deno/);
      return true;
    },
  );
});

Deno.test("createContext with maxRequests below 1 throws RangeError", () => {
  for (const maxRequests of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => createContext({ maxRequests }),
      (error: unknown) => {
        assert.ok(error instanceof RangeError, `maxRequests ${maxRequests}`);
        assert.match(error.message, /maxRequests/);
        assert.ok(error.message.includes(String(maxRequests)), error.message);
        return true;
      },
    );
  }
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => createContext({ maxRequests: "4" as any }),
    TypeError,
  );
});

Deno.test("createContext with an unavailable backend throws NotSupported saying why", async () => {
  for (const backend of ["uring", "linux", "thread"] as const) {
    const reason = unavailableReason(backend);
    if (reason === undefined) {
      // Available here: it works.
      const context = createContext({ backend });
      assert.equal(context.backend, backend);
      await context.close();
      continue;
    }
    assert.throws(
      () => createContext({ backend }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.NotSupported, String(error));
        assert.ok(error.message.includes(backend), error.message);
        assert.ok(error.message.includes(reason), error.message);
        return true;
      },
    );
  }
});
