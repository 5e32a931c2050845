/**
 * Ten writes in flight at once on one file, each at its own offset, with the
 * low-level `AIOFile` API; then one read checks the result.
 *
 *     deno run --allow-read --allow-write examples/concurrent_writes.ts [FILE]
 *
 * @module
 */

import { AIOFile } from "../mod.ts";

if (import.meta.main) {
  const path = Deno.args[0] ?? await Deno.makeTempFile({ suffix: ".txt" });
  await using afp = await AIOFile.open(path, "w+");
  const payload = "Hello world\n";
  await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) => afp.write(payload, i * payload.length),
    ),
  );
  await afp.fsync();
  const text = await afp.read(payload.length * 10);
  if (text !== payload.repeat(10)) throw new Error("unexpected content");
  console.log(`${path}: 10 concurrent writes by ${afp.backend}, all in place`);
}
