/**
 * This process's minor page faults, from `/proc/self/stat`: how often the kernel
 * had to map fresh memory. The layer bench reports them per run because they
 * explain most of its spread. Fresh buffers (the chunks `iterChunked` hands
 * out) are served either from memory the allocator kept, or from memory it gave
 * back to the kernel and now maps again, page by page. The second way cost
 * about 2.6 µs per 4 KiB page on the machines this library is measured on.
 * Which one happens depends on when V8 collects and when glibc trims its heap,
 * not on this library.
 *
 * ```sh
 * deno run --allow-all bench/page_faults.ts
 * ```
 *
 * @module
 */

/** Field 10 of `/proc/<pid>/stat` (minflt), counted from the first after `comm`. */
const MINFLT_AFTER_COMM = 7;

/**
 * Minor page faults of this process so far (all its threads), or undefined
 * where `/proc/self/stat` cannot be read: not Linux, or without `--allow-all`,
 * which Deno asks for to read it.
 */
export function minorFaults(): number | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync("/proc/self/stat");
  } catch {
    return undefined;
  }
  // `comm` is in parentheses and may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const faults = Number(fields[MINFLT_AFTER_COMM]);
  return Number.isInteger(faults) ? faults : undefined;
}

if (import.meta.main) {
  const before = minorFaults();
  const fresh = new Uint8Array(64 * 2 ** 20).fill(1);
  const after = minorFaults();
  console.log(
    before === undefined || after === undefined
      ? "minor faults: unavailable here"
      : `filling ${fresh.length >> 20} MiB of fresh memory: ${
        after - before
      } minor faults`,
  );
}
