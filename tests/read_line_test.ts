/**
 * `readLine` and text `read(n)` of the file wrappers on long lines: the work
 * they do is linear in the line's length (counted in reads, bytes copied and
 * bytes counted, never timed), and reads that grow cut neither characters nor
 * separators.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type AIOFile, asyncOpen } from "../mod.ts";
import { textLayout } from "../src/text_layout.ts";
import { backendTest, isExt4 } from "./backends.ts";

/** The length of the long line, without its separator: 24 MiB. */
const LONG = 24 << 20;

/** Where `readLine`'s reads end, counted from where it starts: 8 KiB, then each twice as large. */
const READ_ENDS = [8192, 24576, 57344, 122880, 253952, 516096, 1040384];

let longFile: { bytes: Uint8Array; line: string } | undefined;

/** A 24 MiB line of printable ASCII, a newline, then `"tail\n"`. */
function long(): { bytes: Uint8Array; line: string } {
  if (longFile === undefined) {
    const bytes = new Uint8Array(LONG + 6);
    for (let i = 0; i < LONG; i++) bytes[i] = 32 + i % 95;
    bytes.set(new TextEncoder().encode("\ntail\n"), LONG);
    const line = new TextDecoder().decode(bytes.subarray(0, LONG + 1));
    longFile = { bytes, line };
  }
  return longFile;
}

/** `text` in UTF-16LE. */
function utf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < text.length; i++) {
    view.setUint16(2 * i, text.charCodeAt(i), true);
  }
  return bytes;
}

/** `text` in `encoding` (`"utf-8"` or `"utf-16le"`). */
function encode(text: string, encoding: string): Uint8Array {
  return encoding === "utf-16le"
    ? utf16le(text)
    : new TextEncoder().encode(text);
}

/** What one call did, as counted by {@linkcode measure}. */
interface Work {
  /** Reads asked of `afp.file.readBytes`. */
  reads: number;
  /** Bytes those reads asked for. */
  requested: number;
  /** Bytes copied by `Uint8Array.prototype.set` meanwhile. */
  copied: number;
  /** Bytes looked at to count UTF-8 characters meanwhile. */
  counted: number;
}

/** Past this many reads for one call, `measure` fails the read at once. */
const MAX_READS = 200;

/**
 * Runs `call` on `afp` and counts what it did. A call that asks for more than
 * {@linkcode MAX_READS} reads fails there, rather than taking minutes.
 */
async function measure<T, M extends string>(
  afp: { readonly file: AIOFile<M> },
  call: () => Promise<T>,
): Promise<{ result: T; work: Work }> {
  const work: Work = { reads: 0, requested: 0, copied: 0, counted: 0 };
  const file = afp.file;
  const readBytes = file.readBytes;
  file.readBytes = (size = -1, offset = 0) => {
    if (++work.reads > MAX_READS) {
      return Promise.reject(new Error(`more than ${MAX_READS} reads`));
    }
    work.requested += size;
    return readBytes.call(file, size, offset);
  };
  const set = Uint8Array.prototype.set;
  Uint8Array.prototype.set = function (
    this: Uint8Array,
    source: ArrayLike<number>,
    offset?: number,
  ) {
    work.copied += source.length;
    return set.call(this, source, offset);
  };
  const layout = textLayout("utf-8");
  const { charsEnd, resumeCharsEnd, countChars } = layout;
  Object.assign(layout, {
    charsEnd(bytes: Uint8Array, from: number, to: number, count: number) {
      work.counted += to - from;
      return charsEnd(bytes, from, to, count);
    },
    resumeCharsEnd(
      bytes: Uint8Array,
      from: number,
      to: number,
      count: number,
      progress: { at: number; seen: number },
    ) {
      work.counted += to - progress.at;
      return resumeCharsEnd(bytes, from, to, count, progress);
    },
    countChars(bytes: Uint8Array, from: number, to: number) {
      work.counted += to - from;
      return countChars(bytes, from, to);
    },
  });
  try {
    const result = await call();
    if (Deno.env.get("SHOW_WORK")) console.log(work);
    return { result, work };
  } finally {
    Object.assign(layout, { charsEnd, resumeCharsEnd, countChars });
    Uint8Array.prototype.set = set;
    delete (file as { readBytes?: unknown }).readBytes;
  }
}

/**
 * Asserts that a call returning `bytes` bytes took linear work: at most
 * `reads` reads, asking for no byte twice and for at most 1 MiB past the
 * result, each byte copied a few times at most and counted at most once.
 */
function assertLinear(work: Work, bytes: number, reads: number): void {
  assert.ok(work.reads <= reads, `${work.reads} reads`);
  assert.ok(work.requested <= bytes + (1 << 20), `${work.requested} requested`);
  assert.ok(work.copied <= 4 * bytes, `${work.copied} bytes copied`);
  assert.ok(work.counted <= work.requested, `${work.counted} bytes counted`);
}

/**
 * The reads `readLine` needs for a line of `bytes` bytes: 8 up to 2 MiB, then
 * one for each MiB more.
 */
function lineReads(bytes: number): number {
  return 8 + Math.ceil(bytes / (1 << 20));
}

/**
 * Asserts that a line is the one expected; for strings, without a diff of
 * megabytes (`assert.deepEqual` also compares long strings slowly).
 */
function assertSame(
  actual: string | Uint8Array,
  expected: string | Uint8Array,
): void {
  if (typeof expected !== "string") return assert.deepEqual(actual, expected);
  assert.ok(
    actual === expected,
    `got ${actual.length} characters, not the ${expected.length} expected`,
  );
}

backendTest(
  "readLine: a 24 MiB line in few reads and linear work, whole or cut by size, text and binary",
  async (context, dir) => {
    const path = `${dir}/long`;
    const { bytes, line } = long();
    await Deno.writeFile(path, bytes);
    const cut = (10 << 20) + 7;
    for (const mode of ["r", "rb"]) {
      const text = mode === "r";
      // The bytes (ASCII) `from` to `to`, as the mode reads them.
      const expected = (from: number, to: number) =>
        !text
          ? bytes.subarray(from, to)
          : to <= line.length
          ? line.slice(from, to)
          : new TextDecoder().decode(bytes.subarray(from, to));
      await using afp = await asyncOpen(path, mode, { context });
      const whole = await measure<string | Uint8Array, string>(
        afp,
        () => afp.readLine(),
      );
      assertSame(whole.result, expected(0, LONG + 1));
      assert.equal(afp.tell(), LONG + 1);
      assertLinear(whole.work, LONG + 1, lineReads(LONG + 1));
      assert.deepEqual(await afp.readLine(), expected(LONG + 1, LONG + 6));

      afp.seek(0);
      const first = await measure<string | Uint8Array, string>(
        afp,
        () => afp.readLine(cut),
      );
      assertSame(first.result, expected(0, cut));
      assert.equal(afp.tell(), cut);
      assertLinear(first.work, cut, lineReads(cut));
      const rest = await measure<string | Uint8Array, string>(
        afp,
        () => afp.readLine(LONG),
      );
      assertSame(rest.result, expected(cut, LONG + 1));
      assert.equal(afp.tell(), LONG + 1);
      assertLinear(rest.work, LONG + 1 - cut, lineReads(LONG + 1 - cut));
      assert.deepEqual(await afp.readLine(3), expected(LONG + 1, LONG + 4));
      assert.deepEqual(await afp.readLine(3), expected(LONG + 4, LONG + 6));
      assert.equal((await afp.readLine()).length, 0);
    }
  },
);

backendTest(
  "text read(n): 24 MiB of three-byte characters in linear work",
  async (context, dir) => {
    const path = `${dir}/euros`;
    const count = LONG / 3;
    const bytes = new Uint8Array(LONG);
    for (let i = 0; i < LONG; i += 3) bytes.set([0xe2, 0x82, 0xac], i);
    await Deno.writeFile(path, bytes);
    await using afp = await asyncOpen(path, "r", { context });
    const { result, work } = await measure(afp, () => afp.read(count - 1));
    assert.equal(result.length, count - 1);
    assert.ok(result === "€".repeat(count - 1));
    assert.equal(afp.tell(), LONG - 3);
    // Each read asks for one byte per character missing, so as not to read
    // past them: a third of the bytes left, here.
    assertLinear(work, LONG, 64);
    assert.equal(await afp.read(2), "€");
  },
);

backendTest(
  "readLine: characters of 1 to 4 bytes cut by the growing reads, UTF-8 and UTF-16LE, with and without size",
  async (context, dir) => {
    // U+0A0A then U+0100 puts [0x0a, 0x00], a newline in UTF-16LE, at an odd
    // offset: not a separator there.
    const pattern = ["a", "\u0a0a", "\u0100", "😀", "€"];
    const chars: string[] = [];
    while (chars.length < 60000) chars.push(...pattern);
    for (const encoding of ["utf-8", "utf-16le"]) {
      const path = `${dir}/${encoding}`;
      const ends = [0];
      for (const char of chars) {
        ends.push(ends.at(-1)! + encode(char, encoding).length);
      }
      const lineEnd = ends.at(-1)! + encode("\n", encoding).length;
      await Deno.writeFile(path, encode(chars.join("") + "\nend", encoding));
      await using afp = await asyncOpen(path, "r", { encoding, context });
      for (let start = 0; start < pattern.length; start++) {
        afp.seek(ends[start]);
        assert.equal(await afp.readLine(), chars.slice(start).join("") + "\n");
        assert.equal(afp.tell(), lineEnd);
        for (const readEnd of READ_ENDS) {
          // Sizes whose last character ends around where a read ends.
          for (let size = 1; start + size <= chars.length; size++) {
            const end = ends[start + size] - ends[start];
            if (end < readEnd - 4) continue;
            if (end > readEnd + 4) break;
            afp.seek(ends[start]);
            assert.equal(
              await afp.readLine(size),
              chars.slice(start, start + size).join(""),
            );
            assert.equal(afp.tell(), ends[start + size]);
          }
        }
      }
      afp.seek(ends[chars.length - 1]);
      assert.equal(await afp.readLine(), chars.at(-1) + "\n");
      assert.equal(await afp.readLine(), "end");
    }
  },
);

backendTest(
  "readLine: a separator split across the growing reads, binary, UTF-8 and UTF-16LE",
  async (context, dir) => {
    for (
      const [encoding, separator] of [
        ["binary", "<=>"],
        ["utf-8", "\r\n"],
        ["utf-8", "<=>"],
        ["utf-16le", "\r\n"],
      ]
    ) {
      const unit = encoding === "utf-16le" ? 2 : 1;
      const sepBytes = separator.length * unit;
      const lines: string[] = [];
      for (const readEnd of READ_ENDS) {
        // The separator starts `split` bytes before a read ends.
        for (let split = unit; split < sepBytes; split += unit) {
          lines.push("x".repeat((readEnd - split) / unit) + separator);
        }
        // Its beginning, alone, right before a read ends.
        const head = separator.slice(0, -1);
        lines.push(
          "x".repeat(readEnd / unit - head.length) + head + "y" + separator,
        );
      }
      const text = lines.join("") + "last";
      const path = `${dir}/${encoding}-${lines.length}`;
      await Deno.writeFile(
        path,
        encode(text, encoding === "binary" ? "utf-8" : encoding),
      );
      const binary = encoding === "binary";
      await using afp = binary
        ? await asyncOpen(path, "rb", { context })
        : await asyncOpen(path, "r", { encoding, context });
      const newline = binary ? new TextEncoder().encode(separator) : separator;
      let position = 0;
      for (const line of [...lines, "last"]) {
        const got = await afp.readLine(-1, newline);
        assert.equal(
          binary ? new TextDecoder().decode(got as Uint8Array) : got,
          line,
        );
        position += line.length * unit;
        assert.equal(afp.tell(), position);
      }
      assert.equal((await afp.readLine(-1, newline)).length, 0);
    }
  },
);

backendTest(
  "binary readLine: a line owns its memory, and only its bytes",
  async (context, dir) => {
    const path = `${dir}/bytes`;
    // Lines shorter than the reads, and a file longer than them.
    const text = "ab\ncdef\n" + "x".repeat(20000);
    await Deno.writeFile(path, new TextEncoder().encode(text));
    await using afp = await asyncOpen(path, "rb", { context });
    for (const expected of ["ab\n", "cd", "ef\n", "x".repeat(20000)]) {
      const line = await afp.readLine(expected === "cd" ? 2 : -1);
      assert.deepEqual(line, new TextEncoder().encode(expected));
      assert.equal(line.byteOffset, 0);
      assert.equal(line.buffer.byteLength, line.length);
    }
  },
);

backendTest(
  "readLine on an O_DIRECT file: from an aligned position, every read is aligned, with or without size",
  async (context, dir) => {
    if (!isExt4(dir)) return; // O_DIRECT needs a file system that takes it
    const path = `${dir}/direct`;
    const line = "x".repeat(3 << 20) + "\n";
    await Deno.writeTextFile(path, line + "end");
    for (const mode of ["r", "rb"]) {
      await using afp = await asyncOpen(path, mode, { context, direct: true });
      for (const size of [-1, 100, (2 << 20) + 1]) {
        afp.seek(0);
        const got = await afp.readLine(size);
        const length = size === -1 ? line.length : size;
        assert.equal(got.length, length);
        assert.equal(afp.tell(), length);
      }
    }
  },
  { only: ["uring", "linux"] }, // the backends that open with O_DIRECT
);

/**
 * `charsEnd` as it was before it could resume, walking from `from` each time:
 * the reference that resumed counting must agree with.
 */
function charsEndFromStart(
  encoding: string,
  bytes: Uint8Array,
  to: number,
  count: number,
): number {
  if (encoding === "utf-8") {
    const continuation = (i: number) => (bytes[i] & 0xc0) === 0x80;
    let seen = 0;
    for (let i = 0; i < to; i++) {
      if (!continuation(i)) {
        if (seen === count) return i;
        seen++;
      }
    }
    if (seen < count) return -1;
    let lead = to - 1;
    while (lead > 0 && lead > to - 4 && continuation(lead)) lead--;
    if (lead < 0 || continuation(lead)) return to;
    const length = bytes[lead] >= 0xf0
      ? 4
      : bytes[lead] >= 0xe0
      ? 3
      : bytes[lead] >= 0xc0
      ? 2
      : 1;
    return lead + length > to ? -1 : to;
  }
  if (encoding.startsWith("utf-16")) {
    const high = encoding === "utf-16le" ? 1 : 0;
    let i = 0;
    for (let seen = 0; seen < count; seen++) {
      const pair = i + 2 <= to && (bytes[i + high] & 0xfc) === 0xd8;
      if (i + (pair ? 4 : 2) > to) return -1;
      i += pair ? 4 : 2;
    }
    return i;
  }
  return count <= to ? count : -1;
}

Deno.test("resumeCharsEnd ends where charsEnd from the start does, however the bytes arrive", () => {
  // Random bytes, valid or not, drawn mostly from those that matter: ASCII,
  // UTF-8 leads and continuations, UTF-16 surrogates.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const interesting = [0x41, 0x0a, 0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xd8, 0xdc];
  for (const encoding of ["utf-8", "utf-16le", "utf-16be", "windows-1252"]) {
    const layout = textLayout(encoding);
    for (let round = 0; round < 300; round++) {
      const bytes = new Uint8Array(40);
      for (let i = 0; i < bytes.length; i++) {
        bytes[i] = random(3) === 0 ? random(256) : interesting[random(9)];
      }
      const count = random(30);
      const progress = { at: 0, seen: 0 };
      for (let to = 0; to <= bytes.length; to += random(5)) {
        const expected = charsEndFromStart(encoding, bytes, to, count);
        assert.equal(
          layout.resumeCharsEnd(bytes, 0, to, count, progress),
          expected,
          `${encoding} ${bytes.subarray(0, to)} count ${count}`,
        );
        assert.equal(layout.charsEnd(bytes, 0, to, count), expected);
      }
    }
  }
});
