/**
 * Byte-array helpers shared by the readers and the file wrappers.
 *
 * @module
 */

/** `a` followed by `b`, in a new array (`b` itself when `a` is empty). */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** Whether `bytes` holds `prefix` at `at` (its first byte already matched). */
export function startsWith(
  bytes: Uint8Array,
  at: number,
  prefix: Uint8Array,
): boolean {
  for (let i = 1; i < prefix.length; i++) {
    if (bytes[at + i] !== prefix[i]) return false;
  }
  return true;
}

/**
 * The index of the first `separator` that lies whole in `bytes[from, end)` and
 * starts a multiple of `unit` bytes after `base` (a character boundary), or -1.
 */
export function indexOfSeparator(
  bytes: Uint8Array,
  separator: Uint8Array,
  from: number,
  end: number,
  base: number,
  unit: number,
): number {
  // Bytes past `end` are not searched: a buffer with room to grow would
  // otherwise be scanned to its end for each chunk of a long line.
  const searched = end < bytes.length ? bytes.subarray(0, end) : bytes;
  for (let at = from;; at++) {
    at = searched.indexOf(separator[0], at);
    if (at === -1 || at + separator.length > end) return -1;
    if ((at - base) % unit === 0 && startsWith(bytes, at, separator)) {
      return at;
    }
  }
}

/**
 * Copies each line of `bytes[start, end)` that ends with `separator` into
 * `lines`, each a new array with a buffer of its own (the line's bytes and
 * nothing else); the search starts at `from` (no separator starts in
 * `[start, from)`). Returns where the bytes after the last line start.
 */
export function copyLines(
  bytes: Uint8Array,
  separator: Uint8Array,
  start: number,
  from: number,
  end: number,
  lines: Uint8Array[],
): number {
  // Bytes past `end` are not searched (see `indexOfSeparator`).
  const searched = end < bytes.length ? bytes.subarray(0, end) : bytes;
  const first = separator[0];
  const length = separator.length;
  for (let at = from; (at = searched.indexOf(first, at)) !== -1;) {
    if (at + length > end) break;
    if (length === 1 || startsWith(bytes, at, separator)) {
      lines.push(bytes.slice(start, start = at + length));
      at = start;
    } else {
      at++;
    }
  }
  return start;
}
