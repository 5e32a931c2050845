/**
 * Several readers of one file at once, each computing a different digest with
 * `crypto.subtle`. Each `Reader` has its own offset, so they share the file
 * without getting in each other's way.
 *
 *     deno run --allow-read --allow-write examples/hashers.ts [FILE]
 *
 * @module
 */

import { AIOFile, Reader } from "../mod.ts";

/** The digest of the whole file, read chunk by chunk. */
async function digest(
  afp: AIOFile<"rb">,
  algorithm: string,
): Promise<string> {
  // crypto.subtle has no streaming digest: gather the chunks, then hash them.
  const chunks: Uint8Array[] = [];
  for await (const chunk of new Reader(afp, { chunkSize: 65536 })) {
    chunks.push(chunk);
  }
  const whole = new Uint8Array(
    await new Blob(chunks as BlobPart[]).arrayBuffer(),
  );
  const hash = new Uint8Array(await crypto.subtle.digest(algorithm, whole));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join(
    "",
  );
}

if (import.meta.main) {
  let path = Deno.args[0];
  if (path === undefined) {
    path = await Deno.makeTempFile();
    await Deno.writeFile(path, new Uint8Array(1 << 20).fill(42));
  }
  await using afp = await AIOFile.open(path, "rb");
  const algorithms = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
  const digests = await Promise.all(algorithms.map((a) => digest(afp, a)));
  for (const [i, algorithm] of algorithms.entries()) {
    console.log(`${algorithm.padEnd(8)} ${digests[i]}`);
  }
}
