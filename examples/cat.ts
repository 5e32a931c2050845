/**
 * `cat`: prints files line by line.
 *
 *     deno run --allow-read examples/cat.ts FILE...
 *
 * @module
 */

import { asyncOpen } from "../mod.ts";

const encoder = new TextEncoder();

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: cat.ts FILE...");
    Deno.exit(2);
  }
  const out = Deno.stdout.writable.getWriter();
  for (const path of Deno.args) {
    await using file = await asyncOpen(path, "r");
    for await (const line of file) await out.write(encoder.encode(line));
  }
  out.releaseLock();
}
