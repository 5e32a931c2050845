/**
 * Checksums of files, several digests at once: one `Reader` per digest over
 * the same `AIOFile`, all reading in parallel. Each `Reader` keeps its own
 * offset, so they share the file without getting in each other's way. Each
 * digest is streamed through `node:crypto`'s `createHash` one chunk at a time,
 * so memory stays bounded whatever the file's size. A file that cannot be
 * read at several offsets (a pipe, `/dev/stdin`) is read once by a single
 * `Reader` feeding every digest.
 *
 * The output is `cksum`'s (GNU coreutils): tagged lines such as
 * `SHA256 (FILE) = HEX` by default, or with `--untagged` the `HEX  FILE` lines
 * of `sha256sum`; either can be checked with `sha256sum -c` and the like.
 *
 *     usage: hashers.ts [-a ALGORITHM]... [--untagged] FILE...
 *
 * Example:
 *
 *     deno run --allow-read examples/hashers.ts -a sha256 -a md5 big.iso
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { AIOFile, Reader } from "../mod.ts";
import { runCommand, UsageError } from "./_cli.ts";

/** The digests offered, each with the tag `cksum` prints for it. */
export const ALGORITHMS: Readonly<Record<string, string>> = {
  md5: "MD5",
  sha1: "SHA1",
  sha224: "SHA224",
  sha256: "SHA256",
  sha384: "SHA384",
  sha512: "SHA512",
};

const DEFAULT_ALGORITHMS = ["md5", "sha1", "sha256", "sha512"];

/** Bytes each `Reader` hands over at a time. */
const CHUNK_SIZE = 1 << 20;

const usage = `usage: hashers.ts [-a ALGORITHM]... [--untagged] FILE...

Prints digests of each FILE ('-' is standard input), one Reader per digest,
all reading the file in parallel.

  -a, --algorithm=NAME  a digest to compute, repeatable or comma-separated:
                        ${Object.keys(ALGORITHMS).join(", ")}
                        (default: ${DEFAULT_ALGORITHMS.join(", ")})
  --untagged            print 'HEX  FILE' as sha256sum does, instead of
                        'SHA256 (FILE) = HEX' as cksum does

example: deno run --allow-read examples/hashers.ts -a sha256 -a md5 big.iso
`;

/** Feeds every chunk `reader` yields to `hashes`. */
async function feed(reader: Reader<"rb">, hashes: Hash[]): Promise<void> {
  for await (const chunk of reader) {
    for (const hash of hashes) hash.update(chunk);
  }
}

/**
 * The hex digests of the file at `path`, one per algorithm, in order: a
 * `Reader` per algorithm in parallel on a regular file, a single one feeding
 * them all otherwise.
 */
export async function digestFile(
  path: string,
  algorithms: readonly string[],
): Promise<string[]> {
  await using afp = await AIOFile.open(path, "rb");
  const hashes = algorithms.map((algorithm) => createHash(algorithm));
  if ((await afp.stat()).isFile) {
    await Promise.all(
      hashes.map((hash) =>
        feed(new Reader(afp, { chunkSize: CHUNK_SIZE }), [hash])
      ),
    );
  } else {
    await feed(new Reader(afp, { chunkSize: CHUNK_SIZE }), hashes);
  }
  return hashes.map((hash) => hash.digest("hex"));
}

/**
 * One line of `cksum`'s output. As coreutils does, a name with a backslash or
 * a line break has them escaped and the line starts with a backslash.
 */
export function checksumLine(
  algorithm: string,
  hex: string,
  path: string,
  tagged: boolean,
): string {
  const escaped = path.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")
    .replaceAll("\r", "\\r");
  const prefix = escaped === path ? "" : "\\";
  return tagged
    ? `${prefix}${ALGORITHMS[algorithm]} (${escaped}) = ${hex}`
    : `${prefix}${hex}  ${escaped}`;
}

/** The algorithms named by `-a` options (each may list several, comma-separated). */
function chosenAlgorithms(options: readonly string[] | undefined): string[] {
  if (options === undefined) return DEFAULT_ALGORITHMS;
  const names = options.flatMap((option) => option.split(","))
    .map((name) => name.trim().toLowerCase().replace(/^sha-/, "sha"));
  for (const name of names) {
    if (!(name in ALGORITHMS)) {
      throw new UsageError(
        `unknown algorithm '${name}' (known: ${
          Object.keys(ALGORITHMS).join(", ")
        })`,
      );
    }
  }
  return [...new Set(names)];
}

if (import.meta.main) {
  await runCommand({
    usage,
    options: {
      algorithm: { type: "string", short: "a", multiple: true },
      untagged: { type: "boolean" },
    },
    positionals: { min: 1, max: Infinity },
  }, async ({ values, positionals }) => {
    const algorithms = chosenAlgorithms(values.algorithm);
    for (const path of positionals) {
      const source = path === "-" ? "/dev/stdin" : path;
      const digests = await digestFile(source, algorithms);
      for (const [i, algorithm] of algorithms.entries()) {
        console.log(
          checksumLine(algorithm, digests[i], path, !values.untagged),
        );
      }
    }
  });
}
