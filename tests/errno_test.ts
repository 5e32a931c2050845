/**
 * The errno table (ffi/errno.ts) against the system: the numbers Deno's
 * `node:os` reports on Linux, and the kernel's generic headers where they are
 * installed (x86_64 and aarch64 both use them).
 */

import assert from "node:assert/strict";
import { constants } from "node:os";
import { ERRNO } from "../ffi/errno.ts";

const onLinux = Deno.build.os === "linux";

Deno.test("the errno table cannot be changed", () => {
  assert.ok(Object.isFrozen(ERRNO));
});

Deno.test({
  name: "the errno table holds the running Linux's numbers" +
    (onLinux ? "" : ` (skipped: this is ${Deno.build.os})`),
  ignore: !onLinux,
  fn() {
    const system = constants.errno as Record<string, number | undefined>;
    for (const [name, errno] of Object.entries(ERRNO)) {
      assert.equal(errno, system[name], name);
    }
  },
});

/** The kernel's generic error numbers, by name, from its installed headers. */
function headerNumbers(): Map<string, number> | undefined {
  const numbers = new Map<string, number>();
  for (const file of ["errno-base.h", "errno.h"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/usr/include/asm-generic/${file}`);
    } catch {
      return undefined;
    }
    for (const [, name, n] of text.matchAll(/#define\s+(E\w+)\s+(\d+)/g)) {
      numbers.set(name, Number(n));
    }
  }
  return numbers;
}

const headers = onLinux ? headerNumbers() : undefined;

Deno.test({
  name: "the errno table holds the numbers of asm-generic/errno*.h" +
    (headers === undefined ? " (skipped: the headers are not installed)" : ""),
  ignore: headers === undefined,
  fn() {
    for (const [name, errno] of Object.entries(ERRNO)) {
      assert.equal(errno, headers!.get(name), name);
    }
  },
});
